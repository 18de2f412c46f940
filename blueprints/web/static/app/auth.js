// Signing in and out: a pasted bearer token, or (development only) a minted one.

import { call, claimsOf, events, setToken, token } from "./api.js";
import { show } from "./ui.js";

const $ = (id) => document.getElementById(id);

// How far the service's clock is ahead of this browser's: expiry is judged by the service.
let skewMs = 0;

async function syncClock() {
  try {
    const { now } = await call("GET", "/web/clock");
    skewMs = now * 1000 - Date.now();
  } catch {
    skewMs = 0;
  }
}

export function serviceNow() {
  return Date.now() + skewMs;
}

export function currentClaims() {
  const jwt = token();
  const claims = jwt && claimsOf(jwt);
  if (!claims || typeof claims.exp !== "number" || claims.exp * 1000 <= serviceNow()) return null;
  return claims;
}

export function signOut(message = "") {
  setToken(null);
  $("sign-in-message").textContent = message;
  show($("app"), false);
  show($("whoami"), false);
  show($("sign-in"), true);
  $("token-input").focus();
}

function showSignedIn(claims, onSignedIn) {
  $("who").textContent = claims.email || claims.username || claims.sub;
  $("expires").textContent = `until ${new Date(claims.exp * 1000).toLocaleString()}`;
  show($("sign-in"), false);
  show($("whoami"), true);
  show($("app"), true);
  onSignedIn(claims);
}

function accept(jwt, onSignedIn) {
  setToken(jwt);
  const claims = currentClaims();
  if (!claims) {
    signOut("That token is not a JWT, or it has expired.");
    return;
  }
  showSignedIn(claims, onSignedIn);
}

export async function initAuth(onSignedIn) {
  await syncClock();
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    accept($("token-input").value.trim(), onSignedIn);
    $("token-input").value = "";
  });
  if (document.body.dataset.devSignIn === "true") {
    show($("dev-form"), true);
    $("dev-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const answer = await call("POST", "/web/dev-token", { json: { name: $("dev-name").value } });
        accept(answer.token, onSignedIn);
      } catch (error) {
        $("sign-in-message").textContent = error.message;
      }
    });
  }
  $("sign-out").addEventListener("click", () => signOut("Signed out."));
  events.addEventListener("unauthorized", (event) => {
    signOut(`Please sign in again: ${event.detail}`);
  });
  // Expiry is checked every minute, so a page left open signs itself out in time.
  setInterval(() => {
    if (token() && !currentClaims()) signOut("Your token has expired.");
  }, 60_000);
  const claims = currentClaims();
  if (claims) showSignedIn(claims, onSignedIn);
  else signOut(token() ? "Your token has expired." : "");
}
