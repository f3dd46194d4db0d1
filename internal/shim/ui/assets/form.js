// The invoke form: rendered from a version's task.json description when it
// has one, from its inputs JSON Schema otherwise (and for any input the
// description leaves out). Every field knows how to read its value, judge
// it as the shim will, and show an error next to itself.

import { visibility, missing, ruleViolations, ruleHint } from "./taskjson.js";

const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c) el.append(c);
  return el;
};
export { h };

const safeId = (s) => s.replace(/[^A-Za-z0-9_-]/g, "_");

// schemaType picks a property's type: the first that is not "null".
function schemaType(p) {
  if (Array.isArray(p.type)) return p.type.find((t) => t !== "null") || "string";
  if (p.type) return p.type;
  if (Array.isArray(p.enum)) return typeof p.enum[0] === "number" ? "number" : "string";
  return p.properties ? "object" : "string";
}

// Form is one rendered form: the inputs fields, grouped, and the context
// fields, each with its own prefix in error messages ("context.").
export class Form {
  constructor(detail) {
    this.fields = []; // every field, in display order
    this.task = (detail.task_json && detail.task_json.input) || null;
    this.inputsEl = h("div", { class: "fields", id: "input-fields" });
    this.contextEl = h("div", { class: "fields", id: "context-fields" });
    this.buildInputs(detail.inputs || {}, detail.task_json || {});
    this.buildSchemaFields(this.contextEl, detail.context_inputs || {}, "context.", new Set());
    for (const f of this.fields) f.top = true;
    this.hasContext = this.fields.some((f) => f.key.startsWith("context."));
    this.refresh();
  }

  buildInputs(schema, task) {
    const described = new Set(Object.keys(this.task || {}));
    if (described.size === 0) {
      this.buildSchemaFields(this.inputsEl, schema, "", new Set());
      return;
    }
    // Groups in the order inputGroups lists them; fields without a (known)
    // group come first, ungrouped.
    const groups = new Map();
    for (const g of task.inputGroups || []) {
      const body = h("div", { class: "fields" });
      const box = h("details", { class: "group", open: !!g.isExpanded, "data-group": g.name },
        h("summary", { text: g.label || g.name }), body);
      groups.set(g.name, body);
      this.inputsEl.append(box);
    }
    const loose = h("div", { class: "fields" });
    this.inputsEl.prepend(loose);
    const props = schema.properties || {};
    // The description's fields come sorted by name (it is a map); a field
    // that relies on others is placed after them, so that a choice comes
    // before what it reveals.
    const order = [], seen = new Set();
    const visit = (n) => {
      if (seen.has(n) || !(n in this.task)) return;
      seen.add(n);
      for (const x of (this.task[n].rely && this.task[n].rely.expression) || []) visit(x.key);
      order.push(n);
    };
    Object.keys(this.task).forEach(visit);
    for (const name of order) {
      const d = this.task[name];
      const f = taskField(name, d, props[name] || {}, schema);
      this.fields.push(f);
      (groups.get(d.groupName) || loose).append(f.wrap);
    }
    this.buildSchemaFields(loose, schema, "", described);
  }

  buildSchemaFields(container, schema, prefix, skip) {
    const props = schema.properties || {};
    const required = new Set(schema.required || []);
    for (const name of Object.keys(props)) {
      if (skip.has(name)) continue;
      const f = schemaField({ key: prefix + name, name, p: props[name], required: required.has(name), root: schema });
      this.fields.push(f);
      container.append(f.wrap);
    }
  }

  // values reads every shown field: {inputs, context, errors}; errors lists
  // fields whose text cannot be read (JSON that does not parse, say).
  read() {
    const inputs = {}, context = {}, errors = [];
    for (const f of this.fields) {
      if (!f.visible) continue;
      const { value, error, errors: inner } = f.read();
      if (error) errors.push({ field: f.key, message: error });
      if (inner) errors.push(...inner);
      if (value === undefined) continue;
      if (f.key.startsWith("context.")) context[f.name] = value;
      else inputs[f.name] = value;
    }
    return { inputs, context, errors };
  }

  // refresh shows and hides the described fields by their rely, from the
  // values as they are now (defaults standing in for empty fields, as the
  // shim applies them).
  refresh() {
    if (!this.task) {
      for (const f of this.fields) f.visible = !f.staticHidden;
      return;
    }
    const values = {};
    for (const f of this.fields) {
      if (f.key.startsWith("context.")) continue;
      let v = f.read().value;
      if ((v === undefined || v === null) && f.def !== undefined) v = f.def;
      if (v !== undefined) values[f.name] = v;
    }
    const shown = visibility(this.task, values);
    for (const f of this.fields) {
      const vis = f.key.startsWith("context.") || !(f.name in this.task) || shown(f.name);
      f.visible = vis;
      // A static hidden field still counts: its default is sent.
      f.wrap.hidden = !vis || f.staticHidden;
    }
  }

  // validate judges the shown fields as the shim will: required, then the
  // rule; it shows each error next to its field and returns them.
  validate() {
    this.refresh();
    const { errors } = this.read();
    const byField = new Map(errors.map((e) => [e.field, e.message]));
    // A nested field is judged when its object is there: an optional
    // object left empty is not sent, so its required fields do not count.
    const judge = (f) => {
      if (byField.has(f.key)) return;
      let v = f.read().value;
      if ((v === undefined || v === null) && f.def !== undefined) v = f.def;
      if (missing(v)) {
        if (f.required) byField.set(f.key, "required");
        return;
      }
      const vs = ruleViolations(f.rule, v);
      if (vs.length) byField.set(f.key, vs.join("; "));
      else if (f.check) {
        const msg = f.check(v);
        if (msg) byField.set(f.key, msg);
      }
      for (const c of f.children ? f.children() : []) judge(c);
    };
    for (const f of this.fields) if (f.visible) judge(f);
    const list = [...byField].map(([field, message]) => ({ field, message }));
    this.showErrors(list);
    return list;
  }

  // showErrors puts each message next to its field; it returns those whose
  // field the form does not have.
  showErrors(list) {
    const all = this.allFields();
    for (const f of all) f.setError("");
    const byKey = new Map(all.map((f) => [f.key, f]));
    const rest = [];
    for (const e of list) {
      // A message about a part the form has no field for (an array item
      // since removed, a key the schema does not list) goes to the nearest
      // field that holds it, naming the part.
      let key = e.field, f = byKey.get(key);
      while (!f && key) {
        const m = /^(.*)(\.[^.[\]]+|\[\d+\])$/.exec(key);
        if (!m) break;
        key = m[1];
        f = byKey.get(key);
      }
      if (!f) { rest.push(e); continue; }
      f.setError(key === e.field ? e.message : `${e.field}: ${e.message}`);
      // A field in a closed group would hide its own error.
      for (let g = f.wrap.closest("details"); g; g = g.parentElement && g.parentElement.closest("details")) g.open = true;
    }
    return rest;
  }

  // allFields lists every field, nested ones after their parent.
  allFields() {
    const out = [];
    const walk = (f) => { out.push(f); for (const c of f.children ? f.children() : []) walk(c); };
    this.fields.forEach(walk);
    return out;
  }

  // keys lists the names errors may name: inputs, nested inputs
  // ("to.city", "items[0].sku") and "context."-prefixed context inputs.
  keys() { return new Set(this.allFields().map((f) => f.key)); }
}

// field builds the label, hint and error around a control.
function field({ name, key, label, desc, hint, required, control, inline = false, composite = false }) {
  const id = control.id;
  const errorId = id + "-error";
  const hintId = id + "-hint";
  const error = h("p", { class: "field-error", id: errorId, role: "alert" });
  const labelEl = h("label", { for: id, class: "label" }, label || name,
    required ? h("span", { class: "required", "aria-hidden": "true", text: " *" }) : null);
  const hints = [desc, hint].filter(Boolean).join(" · ");
  const hintEl = hints ? h("p", { class: "hint", id: hintId, text: hints }) : null;
  const describedBy = [hintEl ? hintId : "", errorId].filter(Boolean).join(" ");
  // A nested object or a list holds fields of its own, with their own
  // hints and errors: only its own box is described here.
  const own = composite ? [control] : [control, ...control.querySelectorAll("input,select,textarea")];
  for (const c of own) {
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(c.tagName)) {
      c.setAttribute("aria-describedby", describedBy);
      if (required) c.setAttribute("aria-required", "true");
    }
  }
  const wrap = h("div", { class: "field" + (inline ? " inline" : "") + (composite ? " composite" : ""), "data-field": key });
  if (control.tagName === "FIELDSET") {
    // Radio and checkbox lists carry their own legend.
    control.prepend(h("legend", { class: "label" }, label || name,
      required ? h("span", { class: "required", "aria-hidden": "true", text: " *" }) : null));
    wrap.append(control, hintEl || "", error);
  } else if (inline) {
    wrap.append(h("div", { class: "inline-row" }, control, labelEl), hintEl || "", error);
  } else {
    wrap.append(labelEl, control, hintEl || "", error);
  }
  return {
    wrap,
    setError(msg) {
      error.textContent = msg;
      wrap.classList.toggle("invalid", !!msg);
      for (const c of own) c.setAttribute("aria-invalid", msg ? "true" : "false");
    },
  };
}

const jsonText = (v) => (v === undefined ? "" : JSON.stringify(v, null, 2));

// jsonControl is a textarea holding JSON of the given kind.
function jsonControl(id, def, kind) {
  const el = h("textarea", { id, rows: 3, spellcheck: "false", class: "mono", placeholder: kind === "array" ? "[ ]" : "{ }" });
  el.value = jsonText(def);
  const read = () => {
    const s = el.value.trim();
    if (s === "") return { value: undefined };
    try {
      const v = JSON.parse(s);
      if (kind === "array" && !Array.isArray(v)) return { value: v, error: "must be a JSON array" };
      if (kind === "object" && (typeof v !== "object" || v === null || Array.isArray(v))) return { value: v, error: "must be a JSON object" };
      return { value: v };
    } catch (e) {
      return { value: undefined, error: "not valid JSON: " + e.message };
    }
  };
  return { el, read };
}

// maxDepth bounds nesting: a recursive type (a tree) is rendered as JSON
// text past it rather than forever.
const maxDepth = 6;

// resolve follows a local "$ref" ("#/definitions/X", as detail answers the
// SDK's nested structs, or "#/$defs/X") within root, and a lone allOf, the
// way some generators put a title on a reference. The referring schema's
// own keywords (title, description, default) win over the target's.
export function resolve(root, p, depth = 0) {
  if (!p || typeof p !== "object") return {};
  let s = p;
  if (!s.$ref && Array.isArray(s.allOf) && s.allOf.length === 1 && !s.properties && !s.type) {
    const { allOf, ...own } = s;
    s = { ...allOf[0], ...own };
  }
  if (typeof s.$ref === "string" && depth < 32) {
    const m = /^#\/(definitions|\$defs)\/(.+)$/.exec(s.$ref);
    const defs = m && root && (root[m[1]] || root[m[1] === "$defs" ? "definitions" : "$defs"]);
    const name = m && decodeURIComponent(m[2]).replace(/~1/g, "/").replace(/~0/g, "~");
    if (defs && defs[name]) {
      const { $ref, ...own } = s;
      return { ...resolve(root, defs[name], depth + 1), ...own };
    }
  }
  return s;
}

// structured tells whether a resolved schema is rendered as fields of its
// own (an object with properties, an array of anything but arrays) rather
// than as one control.
function structured(root, p, depth) {
  if (depth >= maxDepth || Array.isArray(p.enum)) return false;
  const type = schemaType(p);
  if (type === "object") return !!p.properties && Object.keys(p.properties).length > 0;
  if (type === "array") {
    const items = resolve(root, p.items);
    return schemaType(items) !== "array";
  }
  return false;
}

const idOf = (key) => safeId(key.startsWith("context.") ? "ctx-" + key.slice("context.".length) : "in-" + key);

// schemaField renders one JSON Schema property, found at key ("name",
// "to.city", "items[0].sku", "context.biz"): a nested object as a box of
// fields, an array as a list with add and remove, an enum as a select,
// anything else as one control. root is the document, for "$ref"s; init
// is a value to show instead of the default (a list re-rendered).
function schemaField({ key, name, p: raw, required, root, depth = 0, label, desc, init }) {
  const p = resolve(root, raw);
  const id = idOf(key);
  const type = schemaType(p);
  const def = p.default;
  const shown = init !== undefined ? init : def;
  label = label || p.title;
  desc = desc || p.description;
  if (structured(root, p, depth)) {
    const build = type === "object" ? objectControl : arrayControl;
    const c = build({ key, id, p, required, root, depth, init: shown });
    const f = field({ name, key, label, desc, hint: c.hint, required, control: c.el, composite: true });
    return { ...f, name, key, required, def, read: c.read, check: c.check, children: c.children, visible: true, staticHidden: false };
  }
  let el, read, check, inline = false;
  if (Array.isArray(p.enum)) {
    el = h("select", { id, name: key });
    if (!required || shown === undefined) el.append(h("option", { value: "", text: "—" }));
    p.enum.forEach((v, i) => el.append(h("option", { value: String(i), text: String(v), selected: equalScalar(v, shown) })));
    read = () => ({ value: el.value === "" ? undefined : p.enum[Number(el.value)] });
  } else if (type === "boolean") {
    el = h("input", { id, name: key, type: "checkbox", checked: shown === true });
    inline = true;
    read = () => ({ value: el.checked });
  } else if (type === "integer" || type === "number") {
    el = h("input", { id, name: key, type: "number", inputmode: type === "integer" ? "numeric" : "decimal", step: type === "integer" ? "1" : "any" });
    if (shown !== undefined) el.value = String(shown);
    read = () => {
      if (el.value.trim() === "") return el.validity.badInput ? { error: "not a number" } : { value: undefined };
      const n = Number(el.value);
      if (!Number.isFinite(n)) return { error: "not a number" };
      if (type === "integer" && !Number.isInteger(n)) return { value: n, error: "must be a whole number" };
      return { value: n };
    };
    check = (v) => {
      if (typeof p.minimum === "number" && v < p.minimum) return `must be at least ${p.minimum}`;
      if (typeof p.maximum === "number" && v > p.maximum) return `must be at most ${p.maximum}`;
      return "";
    };
  } else if (type === "object" || type === "array") {
    ({ el, read } = jsonControl(id, shown, type));
    el.name = key;
  } else {
    const secret = p.format === "password" || p.writeOnly === true;
    el = h("input", { id, name: key, type: secret ? "password" : "text", autocomplete: secret ? "new-password" : "off" });
    if (shown !== undefined && shown !== null) el.value = String(shown);
    read = () => ({ value: el.value === "" ? undefined : el.value });
    check = (v) => {
      if (typeof p.minLength === "number" && [...String(v)].length < p.minLength) return p.minLength === 1 ? "must not be empty" : `at least ${p.minLength} characters`;
      if (typeof p.maxLength === "number" && [...String(v)].length > p.maxLength) return `at most ${p.maxLength} characters`;
      return "";
    };
  }
  const hint = type === "object" || type === "array" ? `JSON ${type}` : "";
  const f = field({ name, key, label, desc, hint, required, control: el, inline });
  return { ...f, name, key, required, def, read, check, visible: true, staticHidden: false };
}

// objectControl renders a nested object's properties as fields in a box.
// It reads as the object of the fields filled, and as nothing when none is
// and the object is optional, so that an untouched optional object is not
// sent half empty.
function objectControl({ key, id, p, required, root, depth, init }) {
  const need = new Set(p.required || []);
  const body = h("div", { class: "fields nested" });
  const el = h("fieldset", { id, class: "object" }, body);
  const kids = Object.keys(p.properties).map((n) => schemaField({
    key: `${key}.${n}`, name: n, p: p.properties[n], required: need.has(n), root, depth: depth + 1,
    init: init && typeof init === "object" ? init[n] : undefined,
  }));
  for (const k of kids) body.append(k.wrap);
  const read = () => {
    const value = {}, errors = [];
    for (const k of kids) {
      const r = k.read();
      if (r.error) errors.push({ field: k.key, message: r.error });
      if (r.errors) errors.push(...r.errors);
      if (r.value !== undefined) value[k.name] = r.value;
    }
    if (!required && Object.keys(value).length === 0) return { value: undefined, errors };
    return { value, errors };
  };
  return { el, read, children: () => kids, hint: "" };
}

// arrayControl renders an array as a list of item fields with a button to
// add an item and one to remove each. Items are keyed by index
// ("items[0]"), as the shim names them in errors; removing one renders the
// rest again under their new indexes.
function arrayControl({ key, id, p, required, root, depth, init }) {
  const items = p.items || {};
  const list = h("ol", { class: "items", id: id + "-items" });
  const add = h("button", { type: "button", class: "secondary add-item", id: id + "-add", text: "Add item" });
  const el = h("fieldset", { id, class: "array" }, list, h("div", { class: "list-actions" }, add));
  let rows = [];
  const render = (values) => {
    list.replaceChildren();
    rows = values.map((v, i) => {
      const f = schemaField({ key: `${key}[${i}]`, name: String(i), p: items, required: true, root, depth: depth + 1,
        label: `Item ${i + 1}`, init: v });
      const remove = h("button", { type: "button", class: "secondary remove-item", text: "Remove", "aria-label": `Remove item ${i + 1}` });
      remove.addEventListener("click", () => {
        const kept = current().filter((_, j) => j !== i);
        render(kept);
        el.dispatchEvent(new Event("change", { bubbles: true }));
        (list.querySelectorAll(".remove-item")[Math.min(i, kept.length - 1)] || add).focus();
      });
      list.append(h("li", { class: "item", "data-index": String(i) }, f.wrap, remove));
      return f;
    });
  };
  // current reads the items as they are, a value that does not read
  // (a number half typed) kept as undefined so that its row stays.
  const current = () => rows.map((f) => f.read().value);
  add.addEventListener("click", () => {
    render([...current(), undefined]);
    el.dispatchEvent(new Event("change", { bubbles: true }));
    list.lastElementChild?.querySelector("input,select,textarea")?.focus();
  });
  const start = Array.isArray(init) ? init : Array.from({ length: Math.min(p.minItems || 0, 5) }, () => undefined);
  render(start);
  const read = () => {
    const errors = [];
    const value = rows.map((f) => {
      const r = f.read();
      if (r.error) errors.push({ field: f.key, message: r.error });
      if (r.errors) errors.push(...r.errors);
      return r.value === undefined ? null : r.value;
    });
    if (!required && value.length === 0) return { value: undefined, errors };
    return { value, errors };
  };
  const check = (v) => {
    if (typeof p.minItems === "number" && v.length < p.minItems) return `at least ${p.minItems} item${p.minItems === 1 ? "" : "s"}`;
    if (typeof p.maxItems === "number" && v.length > p.maxItems) return `at most ${p.maxItems} items`;
    return "";
  };
  const hint = [typeof p.minItems === "number" && p.minItems > 0 ? `at least ${p.minItems}` : "",
    typeof p.maxItems === "number" ? `at most ${p.maxItems}` : ""].filter(Boolean).join(", ");
  return { el, read, check, children: () => rows, hint: hint ? `list: ${hint}` : "" };
}

function equalScalar(a, b) { return b !== undefined && String(a) === String(b); }

// optionsOf reads a selector's options: [{id, name}] in task.json, with
// {value, label} and plain strings accepted as well.
function optionsOf(list) {
  if (!Array.isArray(list)) return [];
  return list.map((o) => (o && typeof o === "object")
    ? { value: "id" in o ? o.id : o.value, label: String(o.name ?? o.label ?? o.id ?? o.value) }
    : { value: o, label: String(o) });
}

// taskField renders one task.json input by its UI component type.
// keyValueSchema is how a key-value-normal component's value is shaped: a
// list of {key, value} pairs, rendered as a list of two fields each.
const keyValueSchema = { type: "array", items: { type: "object", required: ["key"], properties: {
  key: { type: "string", title: "Key" }, value: { type: "string", title: "Value" } } } };

// taskField renders one task.json input by its UI component type; root is
// the inputs schema, whose property for the input (prop) fills in what
// the description leaves out.
function taskField(name, d, prop, root) {
  const key = name;
  const resolved = resolve(root, prop);
  // A list of pairs, or an input the description leaves to a plain input
  // while its schema is a nested object or a list: rendered from the
  // schema, under the description's label, rules and visibility.
  const plain = !["selector", "select-input", "devops-select", "enum-input", "atom-checkbox", "atom-checkbox-list",
    "vuex-textarea", "atom-ace-editor"].includes(d.type);
  if (d.type === "key-value-normal" || (plain && structured(root, resolved, 0))) {
    const f = schemaField({ key, name, p: d.type === "key-value-normal" ? keyValueSchema : prop, required: !!d.required,
      root, label: d.label, desc: d.desc, init: d.default });
    return { ...f, rule: d.rule, staticHidden: d.hidden === true };
  }
  const id = safeId("in-" + name);
  const def = d.default;
  let el, read, inline = false;
  const sensitive = d.isSensitive === true || d.inputType === "password";
  switch (d.type) {
    case "selector":
    case "select-input":
    case "devops-select": {
      const opts = optionsOf(d.options || d.list);
      const multiple = d.multiple === true || d.isMultiple === true;
      el = h("select", { id, name, multiple });
      if (!multiple) el.append(h("option", { value: "", text: d.placeholder || "—" }));
      opts.forEach((o, i) => {
        const sel = multiple ? Array.isArray(def) && def.some((x) => String(x) === String(o.value)) : equalScalar(o.value, def);
        el.append(h("option", { value: String(i), text: o.label, selected: sel }));
      });
      read = () => {
        if (multiple) return { value: [...el.selectedOptions].map((x) => opts[Number(x.value)].value) };
        return { value: el.value === "" ? undefined : opts[Number(el.value)].value };
      };
      break;
    }
    case "enum-input": {
      const opts = optionsOf(d.list || d.options);
      el = h("fieldset", { id, class: "choices" });
      const radios = opts.map((o, i) => {
        const r = h("input", { type: "radio", name: id, id: `${id}-${i}`, value: String(i), checked: equalScalar(o.value, def) });
        el.append(h("label", { class: "choice", for: r.id }, r, " " + o.label));
        return r;
      });
      read = () => { const r = radios.find((x) => x.checked); return { value: r ? opts[Number(r.value)].value : undefined }; };
      break;
    }
    case "atom-checkbox": {
      el = h("input", { id, name, type: "checkbox", checked: def === true || def === "true" });
      inline = true;
      read = () => ({ value: el.checked });
      break;
    }
    case "atom-checkbox-list": {
      const opts = optionsOf(d.list || d.options);
      el = h("fieldset", { id, class: "choices" });
      const boxes = opts.map((o, i) => {
        const c = h("input", { type: "checkbox", id: `${id}-${i}`, value: String(i),
          checked: Array.isArray(def) && def.some((x) => String(x) === String(o.value)) });
        el.append(h("label", { class: "choice", for: c.id }, c, " " + o.label));
        return c;
      });
      read = () => ({ value: boxes.filter((c) => c.checked).map((c) => opts[Number(c.value)].value) });
      break;
    }
    case "vuex-textarea":
    case "atom-ace-editor": {
      el = h("textarea", { id, name, rows: 4, placeholder: d.placeholder });
      if (def !== undefined) el.value = typeof def === "string" ? def : JSON.stringify(def);
      read = () => ({ value: el.value === "" ? undefined : el.value });
      break;
    }
    default: {
      // vuex-input, user-input, company-staff-input and anything unknown:
      // a line of text, hidden as it is typed when the value is sensitive.
      const t = sensitive ? "password" : schemaType(prop) === "integer" || schemaType(prop) === "number" ? "number" : "text";
      el = h("input", { id, name, type: t, placeholder: d.placeholder, autocomplete: sensitive ? "new-password" : "off" });
      if (def !== undefined && def !== null) el.value = String(def);
      read = () => {
        if (el.value === "") return { value: undefined };
        return { value: t === "number" ? Number(el.value) : el.value };
      };
    }
  }
  if (d.disabled) for (const c of [el, ...el.querySelectorAll("input")]) c.disabled = true;
  const hint = [ruleHint(d.rule), d.tipStr, sensitive ? "sensitive: never shown in clear by the shim" : ""].filter(Boolean).join(" · ");
  const f = field({ name, key, label: d.label, desc: d.desc, hint, required: !!d.required, control: el, inline });
  return { ...f, name, key, required: !!d.required, rule: d.rule, def, read, visible: true, staticHidden: d.hidden === true, sensitive };
}
