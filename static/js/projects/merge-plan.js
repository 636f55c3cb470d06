// The sandbox merge page's plan (templates/sandbox_projects/merge.html): per tool the merge
// would propose, the diff between the target tool's current content and the sandbox tool's,
// drawn by the shared diff view when its "Changes" row is opened. Data: the json_script
// "merge-plan-diffs", {sandbox tool id: {before, after, labels: {before, after}}}; `before` is
// null for a tool that is new in the target.
import { contentParts, renderDiff } from "../shared/diff-view.js";
import { readJsonScript } from "../shared/dom.js";

const diffs = readJsonScript("merge-plan-diffs") || {};

function draw(container) {
  const diff = diffs[container.dataset.tool];
  if (!diff || container.dataset.drawn) {
    return;
  }
  renderDiff(container, contentParts(diff.before, diff.after), { labels: diff.labels });
  container.dataset.drawn = "true";
}

for (const details of document.querySelectorAll("details.plan-diff")) {
  details.addEventListener("toggle", () => {
    if (details.open) {
      draw(details.querySelector(".merge-diff"));
    }
  });
}
