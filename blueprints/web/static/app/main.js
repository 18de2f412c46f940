// The page: sign in, then one panel per API, chosen with tabs (the address keeps the choice).

import { initAuth } from "./auth.js";
import { initLibrary, showLibrary } from "./library.js";
import { initMedia, refreshMedia } from "./media.js";
import { initScreenshots } from "./screenshots.js";
import { initUpload } from "./upload.js";
import { refreshVideos } from "./videos.js";

const tabs = [...document.querySelectorAll("[role=tab]")];
const names = tabs.map((tab) => tab.dataset.tab);
// What each panel loads when it is shown (fresh each time: another tab may have changed it).
const onShow = { videos: refreshVideos, media: refreshMedia, library: showLibrary };

function selectTab(name, { focus = false } = {}) {
  for (const tab of tabs) {
    const selected = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1; // one tab stop; arrow keys move between tabs
    document.getElementById(tab.getAttribute("aria-controls")).hidden = !selected;
    if (selected && focus) tab.focus();
  }
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
  onShow[name]?.();
}

function keyedTab(event, index) {
  const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
  if (!(event.key in moves)) return;
  event.preventDefault();
  selectTab(names[(moves[event.key] + tabs.length) % tabs.length], { focus: true });
}

tabs.forEach((tab, index) => {
  tab.addEventListener("click", () => selectTab(tab.dataset.tab));
  tab.addEventListener("keydown", (event) => keyedTab(event, index));
});
window.addEventListener("hashchange", () => {
  const name = location.hash.slice(1);
  if (names.includes(name)) selectTab(name);
});

initScreenshots();
initUpload(refreshVideos);
initMedia(refreshVideos);
initLibrary();
initAuth(() => {
  const asked = location.hash.slice(1);
  selectTab(names.includes(asked) ? asked : "videos");
});
