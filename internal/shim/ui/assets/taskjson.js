// task.json semantics in the browser: the same rely, required and rule
// judgments as sdk/taskjson, so that the form hides, shows and flags fields
// exactly as the shim will judge the inputs. The shim stays the authority:
// anything this file gets wrong still comes back as a 400 naming the field.

// visibility returns a function telling whether a described field is shown,
// given the form's current values (defaults already applied).
export function visibility(inputs, values) {
  const state = new Map(); // name -> "computing" | true | false
  const shown = (name) => {
    const s = state.get(name);
    if (s === true || s === false) return s;
    if (s === "computing") return false; // a cycle, which the shim refuses anyway
    const f = inputs[name];
    if (!f || !f.rely || !Array.isArray(f.rely.expression)) return true;
    state.set(name, "computing");
    let held = 0;
    for (const x of f.rely.expression) if (holds(x)) held++;
    const n = f.rely.expression.length;
    const op = (f.rely.operation || "AND").toUpperCase();
    const show = op === "OR" ? held > 0 : op === "NOT" ? held === 0 : held === n;
    state.set(name, show);
    return show;
  };
  // holds: the other field counts as absent when its own rely hides it.
  const holds = (x) => {
    if (x.key in inputs && !shown(x.key)) return false;
    const got = values[x.key];
    if (got === undefined || got === null) return false;
    if (typeof x.regex === "string") {
      const re = compile(x.regex);
      return re ? matchesAny((s) => re.test(s), got) : false;
    }
    if (!("value" in x) || x.value === null) return false;
    if (equal(x.value, got)) return true;
    // A scalar is looked for among an array's elements.
    if (Array.isArray(got) && !Array.isArray(x.value)) return got.some((el) => equal(x.value, el));
    return false;
  };
  return shown;
}

// compile turns a Go (RE2) pattern into a JavaScript RegExp; the common
// syntax is the same. A pattern JavaScript cannot read is left to the shim.
export function compile(pattern) {
  try {
    return new RegExp(pattern, "u");
  } catch {
    try {
      return new RegExp(pattern);
    } catch {
      return null;
    }
  }
}

function matchesAny(match, v) {
  if (Array.isArray(v)) return v.some((el) => { const s = scalarText(el); return s !== null && match(s); });
  const s = scalarText(v);
  return s !== null && match(s);
}

// equal compares JSON values structurally; scalars by text and numbers by
// value, so "true" equals true and "1" equals 1.0, as on the shim.
export function equal(a, b) {
  if (a === null || b === null) return a === b;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (typeof a === "object") {
    if (typeof b !== "object" || Array.isArray(b)) return false;
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && equal(a[k], b[k]));
  }
  const as = scalarText(a), bs = scalarText(b);
  if (as === null || bs === null) return false;
  return as === bs || (isNumber(as) && isNumber(bs) && Number(as) === Number(bs));
}

function scalarText(v) {
  switch (typeof v) {
    case "string": return v;
    case "number": return String(v);
    case "boolean": return v ? "true" : "false";
  }
  return null;
}

const numberRe = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
function isNumber(s) { return numberRe.test(s); }

// missing tells whether a value counts as not given for required.
export function missing(v) {
  return v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);
}

const letter = (c) => /^[A-Za-z]$/.test(c);
const digit = (c) => /^[0-9]$/.test(c);
function all(s, ok) { return s !== "" && [...s].every(ok); }

// ruleViolations checks a present value against a rule: a scalar as its
// text, an array element by element. The messages are the shim's.
export function ruleViolations(rule, v) {
  if (!rule) return [];
  if (Array.isArray(v)) {
    return v.flatMap((el) => { const s = scalarText(el); return s ? checkText(rule, s) : []; });
  }
  const s = scalarText(v);
  return s === null ? [] : checkText(rule, s);
}

function checkText(r, s) {
  const out = [];
  if (r.alpha && !all(s, letter)) out.push("rule alpha: letters only");
  if (r.numeric && !all(s, digit)) out.push("rule numeric: digits only");
  if (r.alpha_dash && !all(s, (c) => letter(c) || digit(c) || c === "_" || c === "-")) out.push("rule alpha_dash: letters, digits, '_' and '-' only");
  if (r.alpha_num && !all(s, (c) => letter(c) || digit(c))) out.push("rule alpha_num: letters and digits only");
  const n = [...s].length;
  if (typeof r.min === "number" && n < r.min) out.push(`rule min: at least ${r.min} characters`);
  if (typeof r.max === "number" && n > r.max) out.push(`rule max: at most ${r.max} characters`);
  if (typeof r.regex === "string") {
    const re = compile(r.regex);
    if (re && !re.test(s)) out.push(`rule regex ${r.regex} not matched`);
  }
  return out;
}

// ruleHint says in words what a rule wants, for the hint under a field.
export function ruleHint(r) {
  if (!r) return "";
  const parts = [];
  if (r.alpha) parts.push("letters only");
  if (r.numeric) parts.push("digits only");
  if (r.alpha_dash) parts.push("letters, digits, _ and - only");
  if (r.alpha_num) parts.push("letters and digits only");
  const hasMin = typeof r.min === "number", hasMax = typeof r.max === "number";
  if (hasMin && hasMax) parts.push(`${r.min}–${r.max} characters`);
  else if (hasMin) parts.push(`at least ${r.min} characters`);
  else if (hasMax) parts.push(`at most ${r.max} characters`);
  if (typeof r.regex === "string") parts.push(`matches ${r.regex}`);
  return parts.join("; ");
}

const prefix = "inputs validation error: ";

// parseValidationError splits the shim's "inputs validation error: version
// (Version): rule regex ... not matched; approver (Approver): required"
// into [{field, message}], keeping only fields in known (a Set of names,
// "context." prefixed for context inputs, nested ones as "to.city" and
// "items[0].sku"), or inside one ("items[7].sku" when items is known); the
// rest come back as field "". A message may itself hold "; ", so a part
// that does not start with such a field belongs to the one before it.
export function parseValidationError(message, known) {
  if (typeof message !== "string" || !message.startsWith(prefix)) return null;
  const out = [];
  for (const part of message.slice(prefix.length).split("; ")) {
    const m = /^([^\s:(]+?)(?: \([^)]*\))?: (.*)$/s.exec(part);
    if (m && knownOrInside(m[1], known)) {
      out.push({ field: m[1], message: m[2] });
    } else if (out.length > 0) {
      out[out.length - 1].message += "; " + part;
    } else {
      out.push({ field: "", message: part });
    }
  }
  return out;
}

// knownOrInside tells whether field is in known, or is a part ("a.b",
// "a[3]") of a field that is.
function knownOrInside(field, known) {
  for (let f = field; f; ) {
    if (known.has(f)) return true;
    const m = /^(.*)(\.[^.[\]]+|\[\d+\])$/.exec(f);
    if (!m) return false;
    f = m[1];
  }
  return false;
}
