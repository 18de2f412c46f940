// One library item: its file (from a signed URL), metadata, versions (an older one can be
// opened), and, with write permission, edit, move, delete and restore.

import { call } from "./api.js";
import { announce, bytes, el, show, when } from "./ui.js";

const $ = (id) => document.getElementById(id);
// The most collections offered as places to move to (100 per listing page).
const MAX_COLLECTION_PAGES = 20;

let hooks = { access: () => ({}), enterCollection: () => {}, onChanged: () => {}, onClosed: () => {}, place: () => "" };
const view = { id: null, version: null, item: null, current: null, versions: [] };

export function labelOf(item) {
  return item.label || `${item.is_collection ? "Untitled collection" : "Untitled"} #${item.id}`;
}

function message(text) {
  $("item-message").textContent = text;
}

function failure(error) {
  $("library-message").textContent = error.message;
}

export function closeItem() {
  if ($("library-item").hidden) return;
  show($("library-item"), false);
  $("item-preview").replaceChildren(); // stops a playing video
  view.id = null;
  hooks.onClosed();
}

function duration(seconds) {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")} (${seconds.toFixed(1)} s)`;
}

function metadata(item) {
  const by = (date, who) => [when(date), who ? `by ${who}` : ""].filter(Boolean).join(" ");
  const rows = [
    ["Id", String(item.id)],
    ["Type", item.is_collection ? "Collection" : `${item.type} (${item.mime_type})`],
    ["Size", typeof item.file_size === "number" ? bytes(item.file_size) : ""],
    ["Dimensions", item.width && item.height ? `${item.width} × ${item.height} pixels` : ""],
    ["Duration", item.duration ? duration(item.duration) : ""],
    ["Created", item.create_date ? when(item.create_date) : ""],
    ["Added", by(item.added_date, item.added_by)],
    ["Updated", by(item.updated_date, item.updated_by)],
    ["MD5", item.md5 || ""],
    ["Stored as", item.file_path || ""],
  ];
  return rows.filter(([, value]) => value).flatMap(([name, value]) => [el("dt", {}, name), el("dd", { dataset: { field: name } }, value)]);
}

function preview(item, signed) {
  if (item.is_collection) {
    return el("button", { type: "button", onclick: () => hooks.enterCollection(view.current) }, "Open this collection");
  }
  if (item.type === "video") {
    return el("video", { controls: true, preload: "metadata", src: signed.url, "aria-label": labelOf(item) });
  }
  return el("img", { src: signed.url, alt: labelOf(item), className: "item-image" });
}

async function where(item) {
  if (item.parent_id === null || item.parent_id === undefined) return "At the top level of the library";
  try {
    const parent = await call("GET", `/entity/${item.parent_id}`);
    return `In the collection ${labelOf(parent)}`;
  } catch {
    return `In collection #${item.parent_id}`;
  }
}

function versionRow(entry) {
  const shown = (view.version ?? view.latest) === entry.version;
  const label = entry.version === view.latest ? `${entry.version} (current)` : String(entry.version);
  const action = shown
    ? el("span", { className: "muted" }, "Shown")
    : el("button", { type: "button", onclick: () => openItem(view.id, entry.version), "aria-label": `Open version ${entry.version}` }, "Open");
  return el("tr", {}, el("td", {}, label), el("td", {}, when(entry.updated_date)), el("td", {}, entry.updated_by || ""), el("td", {}, entry.change || ""), el("td", {}, action));
}

async function render(signed) {
  const { item, current } = view;
  // Fetched before anything changes, so the panel never shows half of one version.
  const place = await where(item);
  $("item-title").textContent = labelOf(item);
  $("item-where").textContent = place;
  show($("item-version-note"), view.version !== null);
  const older = `You are looking at version ${view.version} of ${view.latest}, as it was on ${when(item.updated_date)}.`;
  $("item-version-text").textContent = view.version === null ? "" : older;
  show($("item-deleted"), Boolean(current.is_deleted) && view.version === null);
  $("item-preview").replaceChildren(preview(item, signed));
  $("item-description").textContent = item.description || "No description.";
  $("item-meta").replaceChildren(...metadata(item));
  const download = $("item-download");
  show(download, Boolean(signed));
  if (signed) {
    download.href = signed.url;
    download.setAttribute("download", `${item.md5}.${item.extension}`);
  }
  $("item-versions").replaceChildren(...view.versions.map(versionRow));
  const writable = Boolean(hooks.access().can_write) && view.version === null;
  show($("item-actions"), writable);
  if (writable) await fillActions(current);
}

async function collections() {
  const found = [];
  for (let page = 1; page <= MAX_COLLECTION_PAGES; page += 1) {
    const answer = await call("GET", `/entity/?filter_param=is_collection:true&page_size=100&page=${page}`);
    found.push(...answer.items);
    if (!answer.pagination.has_next) break;
  }
  return found;
}

async function fillActions(current) {
  $("item-label").value = current.label || "";
  $("item-description-input").value = current.description || "";
  show($("item-soft-delete"), !current.is_deleted);
  show($("item-restore"), Boolean(current.is_deleted));
  const options = [el("option", { value: "" }, "The top level")];
  try {
    for (const collection of await collections()) {
      if (collection.id !== current.id) options.push(el("option", { value: String(collection.id) }, `${labelOf(collection)} (#${collection.id})`));
    }
  } catch (error) {
    failure(error);
  }
  $("item-parent").replaceChildren(...options);
  $("item-parent").value = current.parent_id === null ? "" : String(current.parent_id);
}

// Open an item (an older version when `version` is given) in place of the grid.
export async function openItem(id, version = null, { focus = true } = {}) {
  try {
    const [current, versions] = await Promise.all([call("GET", `/entity/${id}`), call("GET", `/entity/${id}/versions`)]);
    const latest = versions.length ? versions.at(-1).version : null;
    const older = version !== null && version !== latest ? version : null;
    const suffix = older === null ? "" : `?version=${older}`;
    const item = older === null ? current : await call("GET", `/entity/${id}${suffix}`);
    const signed = item.is_collection ? null : await call("GET", `/entity/${id}/file-url${suffix}`);
    Object.assign(view, { id, version: older, item, current, versions, latest });
    $("library-message").textContent = "";
    message("");
    if ($("library-item").hidden) $("item-back").textContent = `Back to ${hooks.place()}`;
    // Filled while hidden, then shown and focused at once: nobody meets a half-drawn item.
    await render(signed);
    show($("library-browser"), false);
    show($("library-item"), true);
    if (focus) $("item-title").focus();
  } catch (error) {
    failure(error);
  }
}

async function change(body, done) {
  try {
    await call("PATCH", `/entity/${view.id}`, { json: { body } });
    await openItem(view.id, null, { focus: false });
    const words = `${done}: now version ${view.latest}.`;
    message(words);
    announce(words);
    hooks.onChanged();
  } catch (error) {
    failure(error);
  }
}

function save(event) {
  event.preventDefault();
  const body = {};
  const label = $("item-label").value.trim();
  const description = $("item-description-input").value.trim();
  if (label !== (view.current.label || "")) body.label = label || null;
  if (description !== (view.current.description || "")) body.description = description || null;
  if (!Object.keys(body).length) {
    message("Nothing to save: the label and description are unchanged.");
    return;
  }
  change(body, "Saved");
}

function move(event) {
  event.preventDefault();
  const select = $("item-parent");
  const parent = select.value === "" ? null : Number(select.value);
  if (parent === view.current.parent_id) {
    message("It is there already.");
    return;
  }
  change({ parent_id: parent }, `Moved to ${select.selectedOptions[0].textContent}`);
}

async function purge() {
  const label = labelOf(view.current);
  if (!window.confirm(`Delete ${label} permanently, with all its versions? This cannot be undone.`)) return;
  try {
    await call("DELETE", `/entity/${view.id}`);
    closeItem();
    announce(`${label} deleted permanently`);
    hooks.onChanged();
  } catch (error) {
    failure(error);
  }
}

export function initItem(libraryHooks) {
  hooks = libraryHooks;
  $("item-back").addEventListener("click", () => {
    const id = view.id;
    closeItem();
    // Back on the grid, keyboard focus returns to the item's tile when it is there.
    Promise.resolve(hooks.onChanged()).then(() => document.querySelector(`#library-grid [data-id="${id}"]`)?.focus());
  });
  $("item-current").addEventListener("click", () => openItem(view.id));
  $("item-edit").addEventListener("submit", save);
  $("item-move").addEventListener("submit", move);
  $("item-soft-delete").addEventListener("click", () => change({ is_deleted: true }, "Deleted (it can be restored)"));
  $("item-restore").addEventListener("click", () => change({ is_deleted: false }, "Restored"));
  $("item-purge").addEventListener("click", purge);
}
