// LockBridge installer console. Plain ES modules, no build step, nothing from the internet.
// The token comes once in the URL fragment (#token=...) or the login form and lives in sessionStorage.
import { $, api, follow, session, setToken } from "./lib.js";
import * as property from "./property.js";
import * as keys from "./keys.js";
import * as events from "./events.js";
import * as progress from "./progress.js";
import * as actions from "./actions.js";

const PAGES = ["property", "keys", "events", "progress", "actions"];
const pages = {};

const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromHash) { setToken(fromHash); history.replaceState(null, "", `${location.pathname}#property`); }

function route() {
  const name = PAGES.includes(location.hash.slice(1)) ? location.hash.slice(1) : "property";
  for (const p of PAGES) $(`#${p}`).hidden = p !== name;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === `#${name}`) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  document.title = `${name[0].toUpperCase()}${name.slice(1)} · LockBridge`;
  void pages[name]?.show?.();
}

let started = false;
async function start() {
  try {
    // Reads from the hub's own machine need no token, but every action does: the console always asks for it.
    if (!session.token) throw Object.assign(new Error("Paste the installer token (on the hub: lockbridge api token, or lockbridge api token --url for a link that signs in)."), { auth: false });
    if (!started) {
      // The Property page first: its rows are the first screen (and its read checks the token).
      property.setLockActions(actions.lockMenu);
      pages.property = await property.init();
      started = true;
      $("#login").hidden = true;
      $("nav").hidden = false;
      route();
      pages.keys = keys.init();
      pages.events = await events.init();
      pages.progress = progress.init();
      pages.actions = await actions.init(pages.property.refresh);
      window.addEventListener("hashchange", route);
      void follow((state) => { $("#live").textContent = state === "live" ? "live" : state === "refused" ? "token refused" : "reconnecting…"; });
    } else {
      await api("/api/progress");
      $("#login").hidden = true;
      $("nav").hidden = false;
    }
    route();
  } catch (e) {
    $("#login").hidden = false;
    for (const p of PAGES) $(`#${p}`).hidden = true;
    $("#login-error").textContent = e.auth ? "The installer token was refused: paste the token from the hub (lockbridge api token)." : String(e.message);
  }
}
$("#login").addEventListener("submit", (ev) => { ev.preventDefault(); setToken($("#token").value.trim()); void start(); });
void start();
