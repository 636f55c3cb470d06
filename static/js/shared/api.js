// The JSON API from a page: same-origin fetch with the CSRF token, JSON or multipart bodies, and
// every failure as an ApiError carrying the envelope {error: {code, message, details}}
// (docs/api.md). Endpoint-agnostic: pages pass absolute URLs.

// Statuses worth retrying a read on: the network dropped (0) or a proxy/server is restarting.
const TRANSIENT_STATUSES = new Set([0, 502, 503, 504]);

export class ApiError extends Error {
  constructor({ status, code, message, details }) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details && typeof details === "object" ? details : {};
  }

  // A dropped connection or a restarting server, not an answer about the request itself.
  get isTransient() {
    return TRANSIENT_STATUSES.has(this.status);
  }
}

export function toFormData(fields) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      form.append(key, item);
    }
  }
  return form;
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null; // an empty body, or an HTML error page from something in front of the app
  }
}

function errorOf(response, json) {
  const error = json && typeof json.error === "object" && json.error !== null ? json.error : null;
  if (error && typeof error.code === "string") {
    return new ApiError({ status: response.status, ...error });
  }
  const message = `HTTP ${response.status}`;
  return new ApiError({ status: response.status, code: `HTTP_${response.status}`, message });
}

// createApi({csrfToken, headers?, onError?}) -> {request, get, post, put, patch}.
// `headers()` adds headers to every request (the editor's lock token); `onError(error, url)` is
// told of every failure before it is thrown (the editor re-reads its lock on a lock error).
export function createApi({ csrfToken, headers = () => ({}), onError = null }) {
  async function request(method, url, { json, form } = {}) {
    const sent = { Accept: "application/json", "X-CSRFToken": csrfToken, ...headers() };
    let body;
    if (form !== undefined) {
      body = form instanceof FormData ? form : toFormData(form);
    } else if (json !== undefined) {
      sent["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    let response;
    try {
      response = await fetch(url, { method, headers: sent, body, credentials: "same-origin" });
    } catch (cause) {
      const error = new ApiError({ status: 0, code: "NETWORK_ERROR", message: String(cause) });
      onError?.(error, url);
      throw error;
    }
    const answer = await readJson(response);
    if (!response.ok) {
      const error = errorOf(response, answer);
      onError?.(error, url);
      throw error;
    }
    return answer;
  }

  return {
    request,
    get: (url) => request("GET", url),
    post: (url, json) => request("POST", url, { json }),
    postForm: (url, form) => request("POST", url, { form }),
    put: (url, json) => request("PUT", url, { json }),
    patch: (url, json) => request("PATCH", url, { json }),
  };
}
