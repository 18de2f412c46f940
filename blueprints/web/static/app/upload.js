// Upload in parts: create, presign, PUT parts (several in flight), register, complete.
//
// Written here rather than with Uppy: the part API adds a register step after each PUT and
// resumes from its own status endpoint, which Uppy's S3 plugin would have to be bent to;
// the whole flow is this one module. A session id is kept in localStorage under the file's
// fingerprint, so picking the same file again after a reload or a lost connection asks the
// server which parts it has and sends only the others.

import { ApiError, call, claimsOf, token } from "./api.js";
import { announce, bytes, el } from "./ui.js";

const IN_FLIGHT = 3;
const TRIES = 5;
const DRAW_MS = 200;
const PARTS_WANTED = 16;
const KEY = "mediastore.upload.";

function fingerprint(file) {
  const who = claimsOf(token() || "")?.sub || "";
  return `${KEY}${who}:${file.name}:${file.size}:${file.lastModified}`;
}

function duration(seconds) {
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 60) return `${Math.ceil(seconds)} s left`;
  return `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s left`;
}

// The service advises a part size; a large file goes in at most PARTS_WANTED larger parts,
// as each part costs a stored object, a presign and a register. Only the file's size and the
// advice decide it, so a resumed upload cuts the file exactly as the first attempt did.
function partSize(file, advised) {
  return Math.max(advised, Math.ceil(file.size / PARTS_WANTED));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// PUT one part to its presigned URL; resolves with the ETag the store answered.
function putPart(url, method, headers, body, onProgress, requests) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    requests.add(xhr);
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers || {})) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      requests.delete(xhr);
      const etag = xhr.getResponseHeader("ETag");
      if (xhr.status >= 200 && xhr.status < 300 && etag) resolve(etag);
      else reject(new ApiError(xhr.status, `part upload answered ${xhr.status}`));
    };
    xhr.onerror = () => {
      requests.delete(xhr);
      reject(new ApiError(0, "connection lost"));
    };
    xhr.onabort = () => {
      requests.delete(xhr);
      reject(new ApiError(-1, "paused"));
    };
    xhr.send(body);
  });
}

export class PartUpload {
  constructor(file, onChange) {
    this.file = file;
    this.onChange = onChange;
    this.state = "waiting"; // waiting, uploading, finishing, paused, failed, done
    this.message = "";
    this.done = new Map(); // part number -> {etag, size}
    this.loading = new Map(); // part number -> bytes sent so far
    this.requests = new Set();
    this.samples = [];
  }

  get sent() {
    let total = 0;
    for (const part of this.done.values()) total += part.size;
    for (const loaded of this.loading.values()) total += loaded;
    return Math.min(total, this.file.size);
  }

  speed() {
    const now = performance.now();
    this.samples.push([now, this.sent]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 5000) this.samples.shift();
    const [t0, b0] = this.samples[0];
    return now > t0 ? ((this.sent - b0) * 1000) / (now - t0) : 0;
  }

  async start() {
    this.state = "uploading";
    this.message = "";
    this.changed();
    // Redrawn on a beat as well as on news: a stalled connection shows its speed falling and
    // the time left growing, and putting the parts together counts its seconds.
    const ticking = setInterval(() => this.changed(), DRAW_MS);
    try {
      await this.openSession();
      await this.sendMissingParts();
      const answer = await this.complete();
      localStorage.removeItem(fingerprint(this.file));
      this.state = "done";
      this.message = `stored as ${answer.filename}`;
      announce(`${this.file.name} uploaded`);
    } catch (error) {
      if (this.state === "paused") return;
      this.state = "failed";
      this.message = error.message;
      announce(`${this.file.name}: ${error.message}`);
    } finally {
      clearInterval(ticking);
      this.changed();
    }
  }

  // Every byte is sent; the store puts the parts together, which takes a while for a large
  // file. The row keeps saying so, and for how long, rather than sitting still at 100%.
  async complete() {
    this.state = "finishing";
    this.finishingSince = performance.now();
    this.message = "putting the parts together";
    this.changed();
    return call("POST", this.path("complete"), {
      json: { parts: [...this.done].sort((a, b) => a[0] - b[0]).map(([n, p]) => ({ part_number: n, etag: p.etag })) },
    });
  }

  pause() {
    if (this.state !== "uploading") return;
    this.state = "paused";
    for (const request of [...this.requests]) request.abort();
    this.loading.clear();
    this.changed();
  }

  async cancel() {
    this.pause();
    if (this.id) await call("POST", this.path("abort")).catch(() => {});
    localStorage.removeItem(fingerprint(this.file));
    this.state = "failed";
    this.message = "cancelled";
    this.changed();
  }

  path(action) {
    return `/api/multipart/${encodeURIComponent(this.id)}/${action}/`;
  }

  // Resume the session this file had (its status lists the parts already stored), or start one.
  async openSession() {
    const known = localStorage.getItem(fingerprint(this.file));
    if (known) {
      try {
        this.id = known;
        const status = await call("GET", this.path("status"));
        if (status.status === "uploading") {
          this.partSize = partSize(this.file, status.part_size);
          this.done = new Map(status.parts.map((p) => [p.part_number, { etag: p.etag, size: p.size }]));
          return;
        }
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
      }
      localStorage.removeItem(fingerprint(this.file));
    }
    const session = await call("POST", "/api/multipart/create/", {
      json: { filename: this.file.name, content_type: this.file.type || "application/octet-stream", size: this.file.size },
    });
    this.id = session.id;
    this.partSize = partSize(this.file, session.part_size);
    this.done = new Map();
    localStorage.setItem(fingerprint(this.file), this.id);
  }

  async sendMissingParts() {
    const count = Math.max(1, Math.ceil(this.file.size / this.partSize));
    const queue = [];
    for (let n = 1; n <= count; n += 1) if (!this.done.has(n)) queue.push(n);
    const worker = async () => {
      while (queue.length && this.state === "uploading") await this.sendPart(queue.shift());
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    if (this.state !== "uploading") throw new ApiError(-1, this.state);
  }

  async sendPart(number) {
    const start = (number - 1) * this.partSize;
    const body = this.file.slice(start, Math.min(this.file.size, start + this.partSize));
    for (let attempt = 1; ; attempt += 1) {
      try {
        const signed = await call("POST", this.path("presign"), { json: { part_number: number } });
        const etag = await putPart(
          signed.presigned_url,
          signed.method || "PUT",
          signed.headers,
          body,
          (loaded) => {
            this.loading.set(number, loaded);
            this.changed();
          },
          this.requests,
        );
        await call("POST", this.path("register-part"), { json: { part_number: number, etag } });
        this.loading.delete(number);
        this.done.set(number, { etag, size: body.size });
        this.changed();
        return;
      } catch (error) {
        this.loading.delete(number);
        const retryable = error instanceof ApiError && (error.status === 0 || error.status >= 500);
        if (this.state !== "uploading" || !retryable || attempt >= TRIES) throw error;
        if (!navigator.onLine) await new Promise((resolve) => window.addEventListener("online", resolve, { once: true }));
        await sleep(500 * 2 ** attempt);
      }
    }
  }

  // Redraw at most every DRAW_MS while uploading; news that comes sooner is drawn when the
  // interval is over, never dropped (a part landing just after another must still show).
  changed() {
    const now = performance.now();
    const wait = this.state === "uploading" && this.lastChange ? this.lastChange + DRAW_MS - now : 0;
    if (wait > 0) {
      this.pending ??= setTimeout(() => {
        this.pending = null;
        this.changed();
      }, wait);
      return;
    }
    clearTimeout(this.pending);
    this.pending = null;
    this.lastChange = now;
    this.onChange(this);
  }
}

// The panel: a drop zone and a picker, one row per file, and the overall progress.
export function initUpload(onStored) {
  const $ = (id) => document.getElementById(id);
  const uploads = [];

  function render(upload) {
    const row = upload.row;
    const percent = upload.file.size ? (upload.sent * 100) / upload.file.size : 100;
    row.progress.value = upload.state === "done" ? 100 : percent;
    const speed = upload.state === "uploading" ? upload.speed() : 0;
    const left = speed > 0 ? duration((upload.file.size - upload.sent) / speed) : "";
    const finishing = upload.state === "finishing" ? `${Math.floor((performance.now() - upload.finishingSince) / 1000)} s` : "";
    row.text.textContent = [
      `${bytes(upload.sent)} of ${bytes(upload.file.size)} (${percent.toFixed(0)}%)`,
      speed > 0 ? `${bytes(speed)}/s` : "",
      left,
      upload.state === "uploading" ? "" : upload.state,
      upload.message,
      finishing,
    ].filter(Boolean).join(" · ");
    row.pause.hidden = upload.state !== "uploading";
    row.resume.hidden = !["paused", "failed"].includes(upload.state) || upload.message === "cancelled";
    row.resume.textContent = upload.state === "failed" ? "Retry" : "Resume";
    row.cancel.hidden = ["done", "finishing"].includes(upload.state);
    const total = uploads.reduce((sum, u) => sum + u.file.size, 0);
    const sent = uploads.reduce((sum, u) => sum + (u.state === "done" ? u.file.size : u.sent), 0);
    $("upload-overall").value = total ? (sent * 100) / total : 0;
    $("upload-overall-text").textContent = `${bytes(sent)} of ${bytes(total)}`;
    if (upload.state === "done" && !upload.reported) {
      upload.reported = true;
      onStored();
    }
  }

  function add(file) {
    const upload = new PartUpload(file, render);
    const progress = el("progress", { max: 100, value: 0, "aria-label": `Upload of ${file.name}` });
    const text = el("span", { className: "muted" });
    const pause = el("button", { type: "button", onclick: () => upload.pause() }, "Pause");
    const resume = el("button", { type: "button", onclick: () => upload.start() }, "Resume");
    const cancel = el("button", { type: "button", onclick: () => upload.cancel() }, "Cancel");
    upload.row = { progress, text, pause, resume, cancel };
    $("upload-list").append(
      el("li", { className: "upload" }, el("strong", {}, file.name), progress, text, el("span", { className: "row" }, pause, resume, cancel)),
    );
    uploads.push(upload);
    render(upload);
    upload.start();
  }

  $("upload-input").addEventListener("change", (event) => {
    for (const file of event.target.files) add(file);
    event.target.value = "";
  });
  const zone = $("upload-drop");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    for (const file of event.dataTransfer.files) add(file);
  });
}
