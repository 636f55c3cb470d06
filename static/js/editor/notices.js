// The editor page's notifications (#editor-messages): the newest first, at most four; info and
// success fade after 8 s, errors stay until dismissed or until a success settles them: a success
// clears the notices before it and the page's flash messages (#flash-messages, e.g. "Tool …
// created."), so old messages never pile up above the news.
import { byId as $ } from "../shared/dom.js";
import { describeError } from "../shared/messages.js";

export function notify(text, level = "info") {
  const list = $("editor-messages");
  if (level === "success") {
    list.replaceChildren();
    $("flash-messages")?.remove();
  }
  const item = document.createElement("li");
  item.className = `message ${level}`;
  item.textContent = text;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "dismiss";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "×";
  close.addEventListener("click", () => item.remove());
  item.append(close);
  list.prepend(item);
  while (list.children.length > 4) {
    list.lastElementChild.remove();
  }
  if (level === "info" || level === "success") {
    setTimeout(() => item.remove(), 8000);
  }
}

export function notifyError(error) {
  notify(describeError(error), "error");
}
