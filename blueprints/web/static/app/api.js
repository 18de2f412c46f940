// The JSON APIs, called with the signed-in user's bearer token (kept in sessionStorage only).

const TOKEN_KEY = "mediastore.token";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// The claims of a JWT, read (not verified: the server verifies) to show who is signed in.
export function claimsOf(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      [...atob(part)].map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
    );
    return JSON.parse(json);
  } catch {
    return null;
  }
}

// Every API answers errors as {"error": ...} or {"detail": ...}; show the text either way.
function messageOf(body, status) {
  const value = body && (body.error ?? body.detail);
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
  return `HTTP ${status}`;
}

// Signing out is announced to the page; any 401 means the token is no longer good.
export const events = new EventTarget();

export async function call(method, path, { json, body, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  const bearer = token();
  if (bearer) init.headers.Authorization = `Bearer ${bearer}`;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(path, init);
  const text = await response.text();
  const parsed = text ? safeJson(text) : null;
  if (!response.ok) {
    const error = new ApiError(response.status, messageOf(parsed, response.status));
    if (response.status === 401) events.dispatchEvent(new CustomEvent("unauthorized", { detail: error.message }));
    throw error;
  }
  return parsed;
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// An image the API serves behind the bearer token, as a blob: URL an <img> can show.
export async function imageUrl(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  if (!response.ok) throw new ApiError(response.status, `HTTP ${response.status}`);
  return URL.createObjectURL(await response.blob());
}

// Show `path` (an image behind the token) in `image`; the blob is released once shown.
export function loadImage(image, path) {
  return imageUrl(path).then((url) => {
    image.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
    image.addEventListener("error", () => URL.revokeObjectURL(url), { once: true });
    image.src = url;
  });
}

// A form sent with upload progress (fetch cannot report it): resolves with the JSON answer.
export function sendForm(method, path, form, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path);
    const bearer = token();
    if (bearer) xhr.setRequestHeader("Authorization", `Bearer ${bearer}`);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    xhr.onload = () => {
      const parsed = xhr.responseText ? safeJson(xhr.responseText) : null;
      if (xhr.status >= 200 && xhr.status < 300) return resolve(parsed);
      const error = new ApiError(xhr.status, messageOf(parsed, xhr.status));
      if (xhr.status === 401) events.dispatchEvent(new CustomEvent("unauthorized", { detail: error.message }));
      reject(error);
    };
    xhr.onerror = () => reject(new ApiError(0, "The connection was lost; please try again."));
    xhr.send(form);
  });
}

// A query string from the values that are set (empty ones are left out).
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined && value !== false) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
