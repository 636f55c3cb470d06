// The API token page: "Copy" puts a new token's secret on the clipboard. Where the Clipboard API
// is missing or refused (an insecure origin, a denied permission), the secret is selected
// instead, for Ctrl+C. Either way the live region says what happened.
import { byId } from "../shared/dom.js";

function selectText(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

async function copySecret(secret, status) {
  try {
    await navigator.clipboard.writeText(secret.textContent);
    status.textContent = "Copied";
  } catch {
    selectText(secret);
    status.textContent = "The token is selected: press Ctrl+C (⌘C on a Mac) to copy it.";
  }
}

function start() {
  const button = byId("copy-token");
  const secret = byId("new-token-value");
  const status = byId("copy-token-status");
  if (!button || !secret || !status) {
    return;
  }
  button.hidden = false; // without this module there is nothing to click
  button.addEventListener("click", () => {
    status.textContent = "";
    copySecret(secret, status);
  });
}

start();
