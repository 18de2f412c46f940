// Library (the entity API): collections as folders with breadcrumbs, a grid with thumbnails,
// search and filter, new collections and files; the item view is in item.js.

import { call, loadImage, query, sendForm } from "./api.js";
import { closeItem, initItem, labelOf, openItem } from "./item.js";
import { announce, bytes, el, show } from "./ui.js";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 24;
// The deepest a library may nest (seed 004): walking up further means a loop.
const MAX_DEPTH = 10;

const state = {
  trail: [], // the open collections, outermost first: [{id, label}]
  page: 1,
  search: "",
  type: "",
  deleted: false,
  access: { can_read: true, can_write: false },
};

const folder = () => state.trail.at(-1)?.id ?? null;

export function libraryMessage(text) {
  $("library-message").textContent = text;
}

function crumb(label, trail, current) {
  const attrs = current ? { "aria-current": "page" } : {};
  const button = el("button", { type: "button", className: "link", ...attrs, onclick: () => enter(trail) }, label);
  return el("li", {}, button);
}

function renderCrumbs() {
  const crumbs = [crumb("Library", [], state.trail.length === 0 && !state.search)];
  state.trail.forEach((step, index) => {
    const last = index === state.trail.length - 1 && !state.search;
    crumbs.push(crumb(step.label, state.trail.slice(0, index + 1), last));
  });
  if (state.search) crumbs.push(el("li", { "aria-current": "page" }, `Search: “${state.search}”`));
  $("library-crumbs").replaceChildren(...crumbs);
}

function tileImage(item) {
  if (item.is_collection) return el("span", { className: "tile-icon", "aria-hidden": "true" }, "📁");
  const image = el("img", { className: "tile-thumb", alt: "", loading: "lazy" });
  loadImage(image, `/entity/${item.id}/thumbnail`).catch(() => image.replaceWith(el("span", { className: "tile-icon", "aria-hidden": "true" }, "🖼")));
  return image;
}

function tileText(item) {
  if (item.is_collection) return "Collection";
  const parts = [item.type, item.width && item.height ? `${item.width}×${item.height}` : "", bytes(item.file_size || 0)];
  return parts.filter(Boolean).join(" · ");
}

function tile(item) {
  const label = labelOf(item);
  const open = item.is_collection ? () => enterCollection(item) : () => openItem(item.id);
  const main = el(
    "button",
    { type: "button", className: "tile-main", dataset: { id: String(item.id) }, onclick: open, "aria-label": `${item.is_collection ? "Open collection" : "Open"} ${label}` },
    tileImage(item),
    el("span", { className: "tile-label" }, label),
    el("span", { className: "muted small" }, tileText(item)),
  );
  const extras = [];
  if (item.is_deleted) extras.push(el("span", { className: "badge deleted" }, "Deleted"));
  if (item.is_collection) {
    extras.push(el("button", { type: "button", className: "link small", onclick: () => openItem(item.id), "aria-label": `Details of ${label}` }, "Details"));
  }
  return el("li", { className: `tile${item.is_deleted ? " is-deleted" : ""}` }, main, ...extras);
}

function listingQuery() {
  const filters = [];
  if (!state.search) filters.push(`parent_id:${folder() ?? "null"}`);
  if (state.type) filters.push(state.type);
  return query({
    page: state.page,
    page_size: PAGE_SIZE,
    filter_param: filters.join(","),
    search_query: state.search,
    include_deleted: state.deleted ? "true" : "",
  });
}

export async function refreshLibrary() {
  renderCrumbs();
  try {
    const { items, pagination: pages } = await call("GET", `/entity/${listingQuery()}`);
    libraryMessage("");
    $("library-grid").replaceChildren(...items.map(tile));
    const total = pages.total_items;
    $("library-summary").textContent = total
      ? `${total} item${total === 1 ? "" : "s"}`
      : state.search ? "Nothing matches this search." : "Nothing here yet.";
    $("library-page").textContent = pages.total_pages > 1 ? `Page ${pages.page} of ${pages.total_pages}` : "";
    show($("library-pager"), pages.total_pages > 1);
    $("library-prev").disabled = !pages.has_prev;
    $("library-next").disabled = !pages.has_next;
  } catch (error) {
    libraryMessage(error.message);
  }
}

// Show a collection's contents (the trail up to it), closing any open item.
export function enter(trail) {
  state.trail = trail;
  state.page = 1;
  state.search = "";
  $("library-query").value = "";
  closeItem();
  // Keyboard users land on where they are now (the tile they pressed is gone).
  refreshLibrary().then(() => $("library-crumbs").querySelector("button[aria-current]")?.focus());
}

// The trail down to a collection, found by walking up its parents (for search results).
async function trailTo(item) {
  const trail = [{ id: item.id, label: labelOf(item) }];
  let parent = item.parent_id;
  while (parent !== null && parent !== undefined && trail.length < MAX_DEPTH) {
    const above = await call("GET", `/entity/${parent}`);
    trail.unshift({ id: above.id, label: labelOf(above) });
    parent = above.parent_id;
  }
  return trail;
}

export async function enterCollection(item) {
  try {
    const inside = !state.search && folder() === (item.parent_id ?? null);
    enter(inside ? [...state.trail, { id: item.id, label: labelOf(item) }] : await trailTo(item));
  } catch (error) {
    libraryMessage(error.message);
  }
}

function search(event) {
  event.preventDefault();
  state.search = $("library-query").value.trim();
  state.type = $("library-type").value;
  state.deleted = $("library-deleted").checked;
  state.page = 1;
  closeItem();
  refreshLibrary();
}

async function createCollection(event) {
  event.preventDefault();
  const form = new FormData();
  form.append("is_collection", "true");
  form.append("label", $("collection-label").value.trim());
  if (folder() !== null) form.append("parent_id", String(folder()));
  try {
    const made = await sendForm("POST", "/entity/", form);
    $("collection-label").value = "";
    announce(`Collection ${labelOf(made)} created`);
    await refreshLibrary();
  } catch (error) {
    libraryMessage(error.message);
  }
}

async function addFile(event) {
  event.preventDefault();
  const file = $("library-file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("is_collection", "false");
  const label = $("library-add-label").value.trim() || file.name;
  form.append("label", label);
  const description = $("library-add-description").value.trim();
  if (description) form.append("description", description);
  if (folder() !== null) form.append("parent_id", String(folder()));
  form.append("image", file);
  const progress = $("library-add-progress");
  progress.value = 0;
  show(progress, true);
  try {
    const made = await sendForm("POST", "/entity/", form, (sent, total) => {
      progress.value = (sent * 100) / total;
    });
    $("library-add").reset();
    announce(`${labelOf(made)} added`);
    await refreshLibrary();
  } catch (error) {
    libraryMessage(error.message);
  } finally {
    show(progress, false);
  }
}

// Read-only mode: what the server's entity auth mode and the token allow, asked of the server.
async function applyAccess() {
  try {
    state.access = await call("GET", "/web/entity-access");
  } catch (error) {
    libraryMessage(error.message);
  }
  const { can_read: canRead, can_write: canWrite } = state.access;
  for (const node of document.querySelectorAll("#library-browser .write-only")) show(node, canWrite);
  const note = $("library-mode");
  note.textContent = !canRead
    ? "Reading the library needs the media_store_read permission while read authentication is on."
    : canWrite ? "" : "Read-only: your token does not carry the media_store_write permission, so adding, changing and deleting are hidden.";
  show(note, Boolean(note.textContent));
  show($("library-browser"), canRead);
  return canRead;
}

export async function showLibrary() {
  if (await applyAccess()) await refreshLibrary();
}

export function initLibrary() {
  initItem({
    access: () => state.access,
    enterCollection,
    onChanged: refreshLibrary,
    onClosed: () => show($("library-browser"), state.access.can_read),
    place: () => (state.search ? "the search results" : state.trail.at(-1)?.label ?? "the library"),
  });
  $("library-search").addEventListener("submit", search);
  $("library-new-collection").addEventListener("submit", createCollection);
  $("library-add").addEventListener("submit", addFile);
  $("library-prev").addEventListener("click", () => {
    state.page = Math.max(1, state.page - 1);
    refreshLibrary();
  });
  $("library-next").addEventListener("click", () => {
    state.page += 1;
    refreshLibrary();
  });
}
