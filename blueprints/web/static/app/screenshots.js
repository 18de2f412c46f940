// A catalog id's screenshots as a gallery of signed URLs.

import { call } from "./api.js";
import { announce, el, show } from "./ui.js";

const $ = (id) => document.getElementById(id);

export function initScreenshots() {
  $("screenshot-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const catalog = $("catalog-id").value.trim();
    try {
      const answer = await call("GET", `/api/screenshot/${encodeURIComponent(catalog)}`);
      const images = answer.screenshot_urls.map((url, index) =>
        el("img", { src: url, alt: `Screenshot ${index + 1} of ${catalog}`, loading: "lazy" }),
      );
      $("gallery").replaceChildren(...images);
      show($("gallery-empty"), images.length === 0);
      announce(`${images.length} screenshots`);
    } catch (error) {
      announce(error.message);
    }
  });
}
