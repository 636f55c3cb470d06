// Markdown for tool output and usage instructions. markdown-it (raw HTML off) renders into an
// inert <template>; there every image that is not a data: image becomes a link to it before
// anything reaches the page, so a tool cannot learn who viewed its output from image requests even
// if the page's Content-Security-Policy were missing. Images of this site go too: no markdown here
// needs one.
import { renderMarkdown as markdownToHtml } from "../../vendor/skriptoteket-markdown-2.0.0.min.js";

// markdown-it lets through data: URLs of gif, png, jpeg and webp images only.
function isDataImage(url) {
  return /^data:image\//i.test(url.trim());
}

// A link to the image instead; inside a link (an image used as a link's text) only its name.
function standIn(image) {
  const url = image.getAttribute("src") || "";
  const name = `Image: ${image.getAttribute("alt") || url}`;
  if (image.closest("a")) {
    return document.createTextNode(name);
  }
  const link = document.createElement("a");
  link.className = "sk-image-link";
  link.href = url;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.title = `Not loaded: ${url}`;
  link.textContent = name;
  return link;
}

// The markdown of `text` becomes the children of `target`.
export function renderMarkdown(target, text) {
  // A <template>'s content is inert: its images are not requested while they are rewritten.
  // (innerHTML on any other element, even one not in the page, requests them at once.)
  const template = document.createElement("template");
  template.innerHTML = markdownToHtml(text);
  for (const image of template.content.querySelectorAll("img")) {
    if (!isDataImage(image.getAttribute("src") || "")) {
      image.replaceWith(standIn(image));
    }
  }
  target.replaceChildren(template.content);
}
