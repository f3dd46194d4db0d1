// The debug panel: pick a plugin version, fill its form, invoke it, and
// follow the invocation until it ends. The timeline is built here from
// successive schedule answers: the standard API has no history of executes,
// so every change of state, outputs or error seen while polling is one
// entry.

import { api, token, ApiError } from "./api.js";
import { Form, h } from "./form.js";
import { parseValidationError } from "./taskjson.js";

const STATES = { 1: "EMPTY", 2: "POLL", 3: "CALLBACK", 4: "SUCCESS", 5: "FAIL" };
const TERMINAL = new Set([4, 5]);
const POLL_MS = 300;

const $ = (id) => document.getElementById(id);
const pretty = (v) => JSON.stringify(v, null, 2);
// compact keeps short values on one line, so that the timeline stays
// readable at a glance.
const compact = (v) => { const s = JSON.stringify(v); return s.length <= 100 ? s : pretty(v); };

let current = null; // {code, version, detail, form}
let follow = 0; // generation of the invocation being followed; a new invoke stops the old
let callbackSent = false; // a callback was sent to the invocation followed
// debugAPI is whether the shim serves /debug/api/ (execute count and
// storage); null until the first answer tells.
let debugAPI = null;

// ---- token ---------------------------------------------------------------

function setupToken() {
  const input = $("token");
  input.value = token.get();
  input.addEventListener("change", () => {
    token.set(input.value.trim());
    $("token-error").textContent = "";
    // Whatever a missing token stopped loads again: the list, and the
    // version the address names.
    loadPlugins().then((ok) => {
      if (ok && input.value) $("token-box").open = false; // the token works: out of the way
      if (!current) route();
    });
  });
}

// authProblem shows a 401 next to the token field; it reports whether err
// was one.
function authProblem(err) {
  if (!(err instanceof ApiError) || err.status !== 401) return false;
  $("token-error").textContent = token.get()
    ? "The shim refused this token. " + err.message
    : "The shim requires a bearer token: type it here.";
  $("token-box").open = true;
  $("token").focus();
  return true;
}

// ---- plugins -------------------------------------------------------------

async function loadPlugins() {
  const list = $("plugin-list"), status = $("plugins-status");
  status.textContent = "Loading…";
  status.classList.remove("error");
  try {
    const env = await api.plugins();
    list.replaceChildren();
    const results = (env.data && env.data.results) || [];
    for (const p of results) {
      const versions = (p.versions || []).map((v) =>
        h("a", { href: `#/${encodeURIComponent(p.code)}/${encodeURIComponent(v)}`, class: "version", "data-plugin": p.code, "data-version": v, text: v }));
      list.append(h("li", { class: "plugin" }, h("span", { class: "code", text: p.code }), h("span", { class: "versions" }, versions)));
    }
    status.textContent = results.length ? "" : "No plugin is registered in the shim's namespace.";
    markSelected();
    return true;
  } catch (err) {
    status.classList.add("error");
    status.textContent = authProblem(err) ? "A token is needed to list plugins." : err.message;
    return false;
  }
}

function markSelected() {
  for (const a of document.querySelectorAll("#plugin-list a.version")) {
    const on = current && a.dataset.plugin === current.code && a.dataset.version === current.version;
    if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
}

// route reads #/<code>/<version> and shows that version's form.
async function route() {
  const m = /^#\/([^/]+)\/([^/]+)$/.exec(location.hash);
  if (!m) {
    $("empty").hidden = false;
    $("version").hidden = true;
    $("history").hidden = true;
    return;
  }
  const code = decodeURIComponent(m[1]), version = decodeURIComponent(m[2]);
  if (current && current.code === code && current.version === version) return;
  await selectVersion(code, version);
}

let loading = 0; // generation of the version being loaded; the last click wins

async function selectVersion(code, version) {
  const gen = ++loading;
  $("empty").hidden = true;
  stopFollowing(); // the invocation shown was another version's
  // Until the new form is in, there is no form: an Invoke pressed now
  // must not send the previous version's inputs.
  current = null;
  const formEl = $("invoke-form");
  formEl.hidden = true;
  delete formEl.dataset.plugin;
  delete formEl.dataset.version;
  const section = $("version");
  section.hidden = false;
  section.setAttribute("aria-busy", "true");
  $("version-title").textContent = `${code} ${version}`;
  $("version-desc").textContent = "";
  $("plugin-desc").textContent = "";
  $("input-area").replaceChildren();
  $("form-error").textContent = "";
  outcome("", "");
  try {
    const [detail, meta] = await Promise.all([api.detail(code, version), api.meta(code).catch(() => null)]);
    if (gen !== loading) return;
    const d = detail.data;
    const form = new Form(d);
    current = { code, version: d.version || version, detail: d, form };
    $("version-title").textContent = `${code} ${d.version || version}`;
    $("version-desc").textContent = d.desc || "";
    const pluginDesc = (meta && meta.data && meta.data.description) || "";
    if (pluginDesc !== d.desc) $("plugin-desc").textContent = pluginDesc;
    $("input-area").append(form.inputsEl);
    if (!form.fields.some((f) => !f.key.startsWith("context."))) {
      $("input-area").append(h("p", { class: "hint", text: "This version takes no inputs." }));
    }
    $("context-box").hidden = !form.hasContext;
    $("context-area").replaceChildren(form.contextEl);
    formEl.dataset.plugin = code;
    formEl.dataset.version = current.version;
    formEl.hidden = false;
    markSelected();
    if ($("history").dataset.plugin !== code || $("history").hidden) loadHistory(code);
  } catch (err) {
    if (gen !== loading) return;
    current = null;
    formEl.hidden = true;
    $("form-error").textContent = "";
    $("version-desc").textContent = authProblem(err) ? "A token is needed." : err.message;
  } finally {
    section.removeAttribute("aria-busy");
  }
}

// ---- invoke --------------------------------------------------------------

async function submit(ev) {
  ev.preventDefault();
  if (!current) return;
  const { form, code, version } = current;
  $("form-error").textContent = "";
  outcome("", "");
  const errors = form.validate();
  if (errors.length) {
    const rest = form.showErrors(errors);
    $("form-error").textContent = rest.map((e) => e.message).join("; ") || "Check the fields marked above.";
    const first = form.allFields().find((f) => f.wrap.classList.contains("invalid"));
    if (first) first.wrap.querySelector("input,select,textarea")?.focus();
    return;
  }
  const { inputs, context } = form.read();
  const button = $("invoke");
  button.disabled = true;
  stopFollowing();
  try {
    const env = await api.invoke(code, version, inputs, context);
    startFollowing(code, env.trace_id, env.data, form);
    loadHistory(code);
  } catch (err) {
    if (authProblem(err)) return;
    showRefused(form, err);
  } finally {
    button.disabled = false;
  }
}

// outcome says, under the Invoke button, what became of the last invoke:
// kind is "refused" (the shim answered an error: no invocation exists),
// "failed" (an invocation ran and ended FAIL), "succeeded" or "" (none).
function outcome(kind, text) {
  const el = $("invoke-outcome");
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = !text;
}

// showRefused tells an invoke the shim refused: its HTTP status and
// message, each "inputs validation error" part next to its field. No
// invocation was created, which is what sets it apart from one that ran
// and failed.
function showRefused(form, err) {
  const status = err.status ? `HTTP ${err.status}` : "no answer";
  const parsed = parseValidationError(err.message, form.keys());
  if (parsed) {
    const rest = form.showErrors(parsed);
    $("form-error").textContent = rest.map((e) => e.message).join("; ");
    outcome("refused", `The shim refused the inputs (${status}); no invocation was created. See the fields marked above.`);
    return;
  }
  const why = err.status >= 500 || err.status === 0 ? "could not start the invocation" : "refused the request";
  outcome("refused", `The shim ${why} (${status}); no invocation was created: ${err.message}`);
}

// showEnded tells how the invocation started from the form ended. One that
// failed on its inputs (the plugin's own validation) has each message put
// next to its field too.
function showEnded(form, traceId, s) {
  if (s.state === 4) {
    outcome("succeeded", `Invocation ${traceId} ended SUCCESS.`);
    return;
  }
  const parsed = form ? parseValidationError(s.err, form.keys()) : null;
  if (parsed) form.showErrors(parsed);
  outcome("failed", `Invocation ${traceId} ran and ended FAIL: ${s.err || "no error given"}` +
    (parsed ? " (fields marked above)" : ""));
}

// ---- following an invocation --------------------------------------------

// debugOf reads an invocation's execute count and storage when the shim
// serves them, and null when it does not (then the timeline shows state,
// outputs and error only, and says how to see more).
async function debugOf(code, traceId) {
  if (debugAPI === false) return null;
  try {
    const env = await api.debug(code, traceId);
    debugAPI = true;
    return env.data;
  } catch (err) {
    if (err.status === 404 && /^no route/.test(err.message)) {
      debugAPI = false;
      $("debug-hint").hidden = false;
    }
    return null;
  }
}

// stopFollowing stops polling the invocation shown and hides it.
function stopFollowing() {
  follow++;
  const view = $("invocation");
  view.hidden = true;
  delete view.dataset.state;
}

function startFollowing(code, traceId, first, form) {
  const gen = ++follow;
  callbackSent = false;
  const started = performance.now();
  const view = $("invocation");
  view.hidden = false;
  $("trace-id").textContent = traceId;
  $("timeline").replaceChildren();
  $("logs").textContent = "";
  $("callback-box").hidden = true;
  $("callback-result").textContent = "";
  $("callback-error").textContent = "";
  $("follow-error").textContent = "";
  let last = null;
  let logsBusy = false, logsAgain = false;

  const fetchLogs = async () => {
    if (logsBusy) { logsAgain = true; return; }
    logsBusy = true;
    try {
      do {
        logsAgain = false;
        const env = await api.logs(code, traceId);
        if (gen !== follow) return;
        $("logs").textContent = (env.data && env.data.log) || "(no log lines yet)";
      } while (logsAgain);
    } catch (err) {
      if (gen === follow) $("logs").textContent = "logs unavailable: " + err.message;
    } finally {
      logsBusy = false;
    }
  };

  const record = (s, dbg) => {
    const outputs = s.outputs || {};
    // Before the first execute there is no count and no storage either
    // way, so the invoke's answer and the first debug read agree.
    const key = JSON.stringify([s.state, outputs, s.err || "", dbg ? dbg.invoke_count : 0, (dbg && dbg.storage) || {}]);
    if (last && key === last) return false;
    last = key;
    const name = STATES[s.state] || String(s.state);
    const ms = performance.now() - started;
    const entry = h("li", { class: "entry", "data-state": name },
      h("div", { class: "entry-head" },
        h("span", { class: `badge state-${name}`, text: name }),
        h("span", { class: "elapsed", text: `+${(ms / 1000).toFixed(1)}s` }),
        h("span", { class: "entry-n", text: `#${$("timeline").children.length + 1}` }),
        dbg ? h("span", { class: "executes", text: `executes: ${dbg.invoke_count}` }) : null),
      Object.keys(outputs).length ? h("div", { class: "kv" }, h("span", { class: "k", text: "outputs" }), h("pre", { class: "mono small", text: compact(outputs) })) : null,
      dbg && Object.keys(dbg.storage || {}).length ? h("div", { class: "kv storage" }, h("span", { class: "k", text: "storage" }), h("pre", { class: "mono small", text: compact(dbg.storage) })) : null,
      s.err ? h("p", { class: "err", text: s.err }) : null);
    $("timeline").append(entry);
    showState(s);
    return true;
  };

  const showState = (s) => {
    const name = STATES[s.state] || String(s.state);
    const badge = $("state");
    badge.textContent = name;
    badge.className = `badge big state-${name}`;
    view.dataset.state = name;
    $("plugin-version").textContent = s.plugin_version ? `${code} ${s.plugin_version}` : code;
    renderOutputs(s.outputs || {});
    $("err").textContent = s.err || "";
    $("err").hidden = !s.err;
    const url = s.outputs && typeof s.outputs.callback_url === "string" ? s.outputs.callback_url : "";
    // The box stays once a callback was sent, so that its answer can be
    // read after the invocation moves on.
    const waiting = s.state === 3 && !!url;
    $("callback-box").hidden = !(waiting || callbackSent);
    $("callback-send").disabled = !waiting;
    $("callback-data").disabled = !waiting;
    if (url) $("callback-box").dataset.url = url;
    if (TERMINAL.has(s.state) && form && form === current?.form) showEnded(form, traceId, s);
  };

  record({ state: first.state, outputs: first.outputs, err: first.err }, null);
  fetchLogs();

  const tick = async () => {
    if (gen !== follow) return;
    let s, dbg;
    try {
      [s, dbg] = await Promise.all([api.schedule(code, traceId).then((e) => e.data), debugOf(code, traceId)]);
      $("follow-error").textContent = "";
    } catch (err) {
      if (gen !== follow) return;
      $("follow-error").textContent = authProblem(err) ? "A token is needed to follow the invocation." : `schedule: ${err.message}; retrying`;
      if (err.status === 404) return; // gone: its TTL passed or it was deleted
      setTimeout(tick, POLL_MS * 3);
      return;
    }
    if (gen !== follow) return;
    // The two reads are not one snapshot: when an execute landed between
    // them, read both again rather than record a mix.
    if (dbg && dbg.state !== s.state) {
      setTimeout(tick, POLL_MS / 3);
      return;
    }
    if (record(s, dbg)) fetchLogs();
    if (TERMINAL.has(s.state)) {
      $("finished").textContent = s.finish_at ? `finished ${s.finish_at} UTC` : "";
      fetchLogs(); // the last lines may land after the state
      return;
    }
    setTimeout(tick, POLL_MS);
  };
  $("finished").textContent = "";
  setTimeout(tick, POLL_MS);
  view.scrollIntoView({ block: "nearest" });
}

// renderOutputs shows the outputs as a list of name and value, titled by
// the outputs schema where it has titles.
function renderOutputs(outputs) {
  const props = (current && current.detail.outputs && current.detail.outputs.properties) || {};
  const dl = $("outputs");
  dl.replaceChildren();
  const names = Object.keys(outputs);
  if (!names.length) { dl.append(h("p", { class: "hint", text: "(no outputs yet)" })); return; }
  for (const n of names) {
    const v = outputs[n];
    const title = props[n] && props[n].title ? `${props[n].title} (${n})` : n;
    dl.append(h("div", { class: "output", "data-output": n },
      h("dt", { text: title }),
      h("dd", {}, v === null || typeof v !== "object" ? h("span", { class: "value", text: String(v) }) : h("pre", { class: "mono small value", text: pretty(v) }))));
  }
}

async function sendCallback() {
  const box = $("callback-box"), text = $("callback-data"), err = $("callback-error"), res = $("callback-result");
  err.textContent = "";
  res.textContent = "";
  text.removeAttribute("aria-invalid");
  let data = null;
  if (text.value.trim() !== "") {
    try {
      data = JSON.parse(text.value);
    } catch (e) {
      err.textContent = "not valid JSON: " + e.message;
      text.setAttribute("aria-invalid", "true");
      text.focus();
      return;
    }
  }
  const button = $("callback-send");
  button.disabled = true;
  try {
    const env = await api.callback(box.dataset.url, data);
    res.textContent = `callback sent: ${env.message}`;
    callbackSent = true;
  } catch (e) {
    err.textContent = e.message;
  } finally {
    button.disabled = box.hidden || $("invocation").dataset.state !== "CALLBACK";
  }
}

// ---- history -------------------------------------------------------------

let historyGen = 0; // generation of the history shown; a new plugin or filter restarts it
let historyCursor = "";

// loadHistory shows the first page of the plugin's invocations (more=false)
// or appends the next one.
async function loadHistory(code, more = false) {
  const gen = more ? historyGen : ++historyGen;
  const rows = $("history-rows"), errEl = $("history-error"), moreBtn = $("history-more");
  $("history").hidden = false;
  $("history").dataset.plugin = code;
  errEl.textContent = "";
  if (!more) { rows.replaceChildren(); historyCursor = ""; }
  $("history").setAttribute("aria-busy", "true");
  try {
    const env = await api.history(code, { state: $("history-state").value, cursor: more ? historyCursor : "" });
    if (gen !== historyGen) return;
    const data = env.data || {};
    for (const it of data.items || []) rows.append(historyRow(code, it));
    if (!rows.children.length) {
      const text = $("history-state").value ? "No invocation in this state." : "No invocation of this plugin yet.";
      rows.append(h("tr", {}, h("td", { colspan: "5", class: "hint", text })));
    }
    historyCursor = data.next_cursor || "";
    moreBtn.hidden = !historyCursor;
  } catch (err) {
    if (gen !== historyGen) return;
    errEl.textContent = authProblem(err) ? "A token is needed to list the history." : `history: ${err.message}`;
  } finally {
    if (gen === historyGen) $("history").removeAttribute("aria-busy");
  }
}

function historyRow(code, it) {
  const name = STATES[it.state] || String(it.state);
  const open = h("button", { type: "button", class: "link", text: it.trace_id, "aria-label": `open invocation ${it.trace_id}` });
  const row = h("tr", { class: "open-row", "data-trace-id": it.trace_id, "data-state": name },
    h("td", { text: it.created_at }),
    h("td", { text: it.plugin_version }),
    h("td", {}, h("span", { class: `badge state-${name}`, text: name })),
    h("td", {}, h("code", {}, open)),
    h("td", { class: "err-cell", text: it.err || "" }));
  row.addEventListener("click", () => openPast(code, it.trace_id, row));
  return row;
}

// openPast shows a past (or running) invocation from the history: its
// state, outputs and log, whose first lines are its life-cycle timeline;
// a running one is followed like a new one.
async function openPast(code, traceId, row) {
  for (const r of document.querySelectorAll("#history-rows tr[aria-selected]")) r.removeAttribute("aria-selected");
  row.setAttribute("aria-selected", "true");
  $("history-error").textContent = "";
  try {
    const env = await api.schedule(code, traceId);
    startFollowing(code, traceId, env.data, null);
    const s = env.data;
    if (TERMINAL.has(s.state)) $("finished").textContent = s.finish_at ? `finished ${s.finish_at} UTC` : "";
  } catch (err) {
    $("history-error").textContent = authProblem(err) ? "A token is needed." : `schedule: ${err.message}`;
  }
}

// ---- start ---------------------------------------------------------------

setupToken();
$("invoke-form").addEventListener("submit", submit);
// Rely is judged as the user types: a field appears or goes at once.
for (const ev of ["input", "change"]) {
  $("invoke-form").addEventListener(ev, (e) => {
    if (!current) return;
    current.form.refresh();
    // An error goes as soon as its field is edited.
    const wrap = e.target.closest && e.target.closest(".field.invalid");
    if (wrap) {
      const f = current.form.fields.find((x) => x.wrap === wrap);
      if (f) f.setError("");
    }
  });
}
$("callback-send").addEventListener("click", sendCallback);
$("history-refresh").addEventListener("click", () => current && loadHistory(current.code));
$("history-state").addEventListener("change", () => current && loadHistory(current.code));
$("history-more").addEventListener("click", () => current && loadHistory(current.code, true));
window.addEventListener("hashchange", route);
loadPlugins().then(route);
document.documentElement.dataset.ready = "true";
