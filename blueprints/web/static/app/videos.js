// My videos: storage and bandwidth gauges, the list, delete, and a player on signed URLs.

import { ApiError, call, imageUrl } from "./api.js";
import { announce, bytes, el, show, when } from "./ui.js";

const $ = (id) => document.getElementById(id);

function gauge(prefix, used, total, alert) {
  const percent = total ? Math.min(100, (used * 100) / total) : 0;
  $(`${prefix}-progress`).value = percent;
  $(`${prefix}-text`).textContent = `${bytes(used)} of ${bytes(total)} (${percent.toFixed(1)}%)`;
  show($(`${prefix}-alert`), alert);
}

async function play(name) {
  // Media elements cannot send headers: play from a short-lived signed URL.
  const { url } = await call("GET", `/stream/direct/${encodeURIComponent(name)}`);
  $("player-title").textContent = name;
  $("video").src = url;
  $("download-link").href = url;
  $("download-link").setAttribute("download", name);
  show($("player"), true);
  $("video").focus();
}

async function remove(name) {
  if (!window.confirm(`Delete ${name}? This cannot be undone.`)) return;
  await call("DELETE", "/delete-file", { json: { filename: name } });
  announce(`${name} deleted`);
  await refreshVideos();
}

function poster(name) {
  const image = el("img", { className: "poster", alt: "", width: 96, height: 54 });
  imageUrl(`/stream/poster/${encodeURIComponent(name)}`)
    .then((url) => {
      image.src = url;
    })
    .catch(() => image.remove()); // no frame can be made: the name alone will do
  return image;
}

function row(file) {
  const name = file.name;
  return el(
    "tr",
    {},
    el(
      "td",
      {},
      el("button", { type: "button", className: "link", onclick: () => play(name) }, poster(name), el("span", {}, name)),
    ),
    el("td", {}, bytes(file.size)),
    el("td", {}, when(file.uploaded_at)),
    el("td", {}, el("button", { type: "button", onclick: () => remove(name), "aria-label": `Delete ${name}` }, "Delete")),
  );
}

export async function refreshVideos() {
  try {
    const status = await call("GET", "/storage-status");
    const storageAlert = status.used_storage * 100 >= 80 * status.total_storage;
    const bandwidthAlert = status.bandwidth_used_today * 100 >= 80 * status.bandwidth_limit;
    gauge("storage", status.used_storage, status.total_storage, storageAlert);
    gauge("bandwidth", status.bandwidth_used_today, status.bandwidth_limit, bandwidthAlert);
    $("video-rows").replaceChildren(...status.files.map(row));
    show($("videos-empty"), status.files.length === 0);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) announce(error.message);
  }
}
