// The tool catalog: results follow the search form as you type, and stars toggle in place.
// Without this module the page still works: the form is a GET form, each star a POST form.
// The server renders the results (GET /tools/results with the page's query string); this
// module only fetches that fragment and swaps it in.

const DEBOUNCE_MS = 250;

const form = document.getElementById("catalog-search");
const results = document.getElementById("catalog-results");
if (form && results) {
  wire(form, results);
}

function wire(form, results) {
  const resultsUrl = form.dataset.resultsUrl;
  let timer = 0;
  let inFlight = null;

  // The form's non-empty fields (a new search starts again at page 1).
  function query() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (value !== "") {
        params.append(name, value);
      }
    }
    return params.toString();
  }

  async function refresh() {
    window.clearTimeout(timer);
    inFlight?.abort();
    const controller = new AbortController();
    inFlight = controller;
    const search = query();
    results.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(`${resultsUrl}?${search}`, {
        headers: { Accept: "text/html" },
        signal: controller.signal,
      });
      // A 400 carries the page's own explanation of what is wrong with the search.
      if (!response.ok && response.status !== 400) {
        throw new Error(`HTTP ${response.status}`);
      }
      results.innerHTML = await response.text();
      const address = search ? `${form.action}?${search}` : form.action;
      window.history.replaceState(null, "", address);
    } catch (error) {
      if (error.name === "AbortError") {
        return;
      }
      showProblem("The results could not be updated. Press Search to try again.");
    } finally {
      if (inFlight === controller) {
        inFlight = null;
        results.removeAttribute("aria-busy");
      }
    }
  }

  function showProblem(text) {
    const status = document.getElementById("catalog-count") ?? results;
    status.textContent = text;
  }

  form.addEventListener("input", (event) => {
    if (event.target.name !== "q") {
      return;
    }
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, DEBOUNCE_MS);
  });
  form.addEventListener("change", (event) => {
    if (event.target.name !== "q") {
      refresh();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });

  // Stars: post the card's own form (it carries the CSRF token), then redraw the results so
  // the Favorites section and every copy of the card agree.
  results.addEventListener("submit", async (event) => {
    const star = event.target.closest("form.star-form");
    if (!star) {
      return;
    }
    event.preventDefault();
    const button = star.querySelector("button");
    button.disabled = true;
    try {
      const response = await fetch(star.action, {
        method: "POST",
        body: new FormData(star),
        headers: { Accept: "application/json" },
      });
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}`);
      }
      await refresh();
    } catch (error) {
      button.disabled = false;
      showProblem("The star could not be saved. Reload the page and try again.");
    }
  });
}
