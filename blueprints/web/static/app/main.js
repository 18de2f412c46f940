// The page: sign in, then one panel per API.

import { initAuth } from "./auth.js";
import { initScreenshots } from "./screenshots.js";
import { initUpload } from "./upload.js";
import { refreshVideos } from "./videos.js";

function selectTab(name) {
  for (const tab of document.querySelectorAll("button.tab")) {
    const selected = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", String(selected));
    document.getElementById(`tab-${tab.dataset.tab}`).hidden = !selected;
  }
}

for (const tab of document.querySelectorAll("button.tab")) {
  tab.addEventListener("click", () => selectTab(tab.dataset.tab));
}
initScreenshots();
initUpload(refreshVideos);
initAuth(() => {
  selectTab("videos");
  refreshVideos();
});
