// Calls to the shim's standard API, on the page's own origin. Every answer
// is the {result, data, message, trace_id} envelope; a call that fails
// throws an ApiError with the HTTP status and the shim's message.

const tokenKey = "bkplugin.panel.token";

// The bearer token lives in sessionStorage: it survives a reload of the
// tab, and goes when the tab does.
export const token = {
  get: () => sessionStorage.getItem(tokenKey) || "",
  set: (v) => (v ? sessionStorage.setItem(tokenKey, v) : sessionStorage.removeItem(tokenKey)),
};

export class ApiError extends Error {
  constructor(status, message, traceId) {
    super(message);
    this.status = status;
    this.traceId = traceId || "";
  }
}

export async function call(method, path, { body, headers = {}, auth = true } = {}) {
  const hs = { Accept: "application/json", ...headers };
  if (body !== undefined) hs["Content-Type"] = "application/json";
  const t = token.get();
  if (auth && t) hs.Authorization = "Bearer " + t;
  let res;
  try {
    res = await fetch(path, { method, headers: hs, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, `the shim did not answer (${e.message}); is it still running?`);
  }
  let env = null;
  try {
    env = await res.json();
  } catch {
    throw new ApiError(res.status, `${method} ${path}: HTTP ${res.status} with an answer that is not JSON`);
  }
  if (!res.ok || !env || env.result !== true) {
    throw new ApiError(res.status, (env && env.message) || `HTTP ${res.status}`, env && env.trace_id);
  }
  return env;
}

const enc = encodeURIComponent;
const base = (code) => `/plugins/${enc(code)}/bk_plugin`;

export const api = {
  plugins: () => call("GET", "/plugins/"),
  meta: (code) => call("GET", `${base(code)}/meta/`),
  detail: (code, version) => call("GET", `${base(code)}/detail/${enc(version)}`),
  // Asynchronous, so that the page sees the first execute happen too.
  invoke: (code, version, inputs, context) =>
    call("POST", `${base(code)}/invoke/${enc(version)}`, { body: { inputs, context }, headers: { "X-Bkplugin-Async": "true" } }),
  schedule: (code, traceId) => call("GET", `${base(code)}/schedule/${enc(traceId)}`),
  logs: (code, traceId) => call("GET", `${base(code)}/logs/${enc(traceId)}`),
  // history is our extension: a page of the plugin's invocations, live
  // and archived, newest first; cursor is the previous page's next_cursor.
  history: (code, { state = "", cursor = "", limit = 20 } = {}) => {
    const q = new URLSearchParams({ limit: String(limit) });
    if (state) q.set("state", state);
    if (cursor) q.set("cursor", cursor);
    return call("GET", `${base(code)}/invocations?${q}`);
  },
  // debug is the shim's /debug/api/ (apiserver --debug-api, on in
  // make run-local): execute count and storage, which the standard API
  // does not tell.
  debug: (code, traceId) => call("GET", `/debug/api/plugins/${enc(code)}/invocations/${enc(traceId)}`),
  // callback posts to the callback URL the plugin handed out. The path is
  // kept and the origin dropped: the shim serving this page verifies the
  // token as well as any, and the URL's host (the manager's
  // --callback-base-url) may not be one the browser can reach. Callbacks
  // need no bearer token.
  callback: (url, data) => {
    let path = url;
    try { path = new URL(url, location.href).pathname; } catch { /* keep it as given */ }
    return call("POST", path, { body: data, auth: false });
  },
};
