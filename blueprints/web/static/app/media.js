// Media files (the media API): upload with context and expiry, a filtered and paged list
// with thumbnails, a download link to copy, delete.

import { call, loadImage, query, sendForm } from "./api.js";
import { serviceNow } from "./auth.js";
import { announce, bytes, el, show, when } from "./ui.js";

const $ = (id) => document.getElementById(id);
const CONTEXTS = {
  ticket_photo: "Ticket photo",
  invoice_pdf: "Invoice PDF",
  website_media: "Website media",
  other: "Other",
};
const state = { page: 1, filters: {} };
let onChange = () => {};

function message(text) {
  $("media-message").textContent = text;
}

function thumbnail(file) {
  if (file.file_type !== "image") {
    return el("span", { className: "thumb badge", "aria-hidden": "true" }, file.file_type.toUpperCase());
  }
  const image = el("img", { className: "thumb", alt: "", width: 96, height: 96, loading: "lazy" });
  // No thumbnail can be made (a damaged image): the card shows without one.
  loadImage(image, `/api/v1/media/${encodeURIComponent(file.id)}/thumbnail`).catch(() => image.classList.add("missing"));
  return image;
}

function details(file) {
  const parts = [bytes(file.file_size), when(file.created_at)];
  if (file.context_type) parts.push(CONTEXTS[file.context_type] || file.context_type);
  if (file.context_id) parts.push(`context ${file.context_id}`);
  if (file.expires_at) parts.push(`expires ${when(file.expires_at)}`);
  return parts.filter(Boolean).join(" · ");
}

// The token in a download URL is `<expiry>.<signature>`: say until when the link works.
function validUntil(url) {
  const expiry = Number(new URL(url).searchParams.get("token")?.split(".")[0]);
  if (!expiry) return "";
  const minutes = Math.max(1, Math.round((expiry * 1000 - serviceNow()) / 60000));
  return `It works without signing in for about ${minutes} minutes.`;
}

async function copyLink(file) {
  try {
    const { download_url: url } = await call("GET", `/api/v1/media/${encodeURIComponent(file.id)}`);
    $("media-link-label").textContent = `Download link for ${file.original_file_name}`;
    $("media-link-input").value = url;
    show($("media-link"), true);
    let copied = false;
    try {
      await navigator.clipboard.writeText(url);
      copied = true;
    } catch {
      // No clipboard permission: the link is shown, selected, for the user to copy.
    }
    $("media-link-note").textContent = `${copied ? "Copied to the clipboard. " : ""}${validUntil(url)}`;
    $("media-link-input").focus();
    $("media-link-input").select();
    announce(copied ? "Download link copied" : "Download link shown");
  } catch (error) {
    message(error.message);
  }
}

async function remove(file) {
  if (!window.confirm(`Delete ${file.original_file_name}? This cannot be undone.`)) return;
  try {
    await call("DELETE", `/api/v1/media/${encodeURIComponent(file.id)}`);
    announce(`${file.original_file_name} deleted`);
    await refreshMedia();
    onChange();
  } catch (error) {
    message(error.message);
  }
}

function card(file) {
  const name = file.original_file_name;
  const badges = [];
  if (file.is_public) badges.push(el("span", { className: "badge public" }, "Public"));
  return el(
    "li",
    { className: "media-card" },
    thumbnail(file),
    el(
      "div",
      { className: "media-text" },
      el("span", { className: "row" }, el("strong", { className: "name" }, name), ...badges),
      el("span", { className: "muted small" }, details(file)),
      el(
        "span",
        { className: "row actions" },
        el("button", { type: "button", onclick: () => copyLink(file), "aria-label": `Copy download link of ${name}` }, "Copy link"),
        el("button", { type: "button", onclick: () => remove(file), "aria-label": `Delete ${name}` }, "Delete"),
      ),
    ),
  );
}

export async function refreshMedia() {
  const limit = Number($("media-limit").value);
  try {
    const answer = await call("GET", `/api/v1/media${query({ ...state.filters, page: state.page, limit })}`);
    const { pagination: pages, items } = answer;
    message("");
    $("media-list").replaceChildren(...items.map(card));
    const total = pages.total_items;
    $("media-summary").textContent = total
      ? `${total} file${total === 1 ? "" : "s"}`
      : Object.keys(state.filters).length ? "No files match these filters." : "No media files yet.";
    $("media-page").textContent = pages.total_pages > 1 ? `Page ${pages.page} of ${pages.total_pages}` : "";
    show($("media-pager"), pages.total_pages > 1);
    $("media-prev").disabled = !pages.has_prev;
    $("media-next").disabled = !pages.has_next;
  } catch (error) {
    message(error.message);
  }
}

function uploadForm() {
  const form = new FormData();
  const type = $("media-context-type").value;
  const contextId = $("media-context-id").value.trim();
  const expires = $("media-expires").value;
  if (type) form.append("context_type", type);
  if (contextId) form.append("context_id", contextId);
  form.append("is_public", $("media-public").checked ? "true" : "false");
  if (expires) form.append("expires_in", expires);
  form.append("file", $("media-file").files[0]); // fields first: refused before any byte
  return form;
}

async function upload(event) {
  event.preventDefault();
  const file = $("media-file").files[0];
  if (!file) return;
  const progress = $("media-upload-progress");
  const status = $("media-upload-status");
  progress.value = 0;
  show(progress, true);
  status.textContent = `Uploading ${file.name}…`;
  $("media-upload-button").disabled = true;
  try {
    const stored = await sendForm("POST", "/api/v1/media/upload", uploadForm(), (sent, total) => {
      progress.value = (sent * 100) / total;
    });
    status.textContent = `Uploaded ${stored.original_file_name}.`;
    $("media-file").value = "";
    state.page = 1;
    await refreshMedia();
    onChange();
  } catch (error) {
    status.textContent = `Not uploaded: ${error.message}`;
  } finally {
    show(progress, false);
    $("media-upload-button").disabled = false;
  }
}

function applyFilters(event) {
  event.preventDefault();
  const filters = {
    context_type: $("media-filter-context").value,
    file_type: $("media-filter-type").value,
    context_id: $("media-filter-id").value.trim(),
  };
  state.filters = Object.fromEntries(Object.entries(filters).filter(([, value]) => value));
  state.page = 1;
  refreshMedia();
}

// `changed` runs after an upload or delete (the storage gauges move with media too).
export function initMedia(changed) {
  onChange = changed;
  $("media-upload").addEventListener("submit", upload);
  $("media-filters").addEventListener("submit", applyFilters);
  $("media-limit").addEventListener("change", () => {
    state.page = 1;
    refreshMedia();
  });
  $("media-prev").addEventListener("click", () => {
    state.page = Math.max(1, state.page - 1);
    refreshMedia();
  });
  $("media-next").addEventListener("click", () => {
    state.page += 1;
    refreshMedia();
  });
}
