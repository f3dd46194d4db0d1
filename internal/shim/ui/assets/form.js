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
      const f = taskField(name, d, props[name] || {});
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
      const f = schemaField(name, props[name], required.has(name), prefix);
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
      const { value, error } = f.read();
      if (error) errors.push({ field: f.key, message: error });
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
    for (const f of this.fields) {
      if (!f.visible || byField.has(f.key)) continue;
      let v = f.read().value;
      if ((v === undefined || v === null) && f.def !== undefined) v = f.def;
      if (missing(v)) {
        if (f.required) byField.set(f.key, "required");
        continue;
      }
      const vs = ruleViolations(f.rule, v);
      if (vs.length) byField.set(f.key, vs.join("; "));
      else if (f.check) {
        const msg = f.check(v);
        if (msg) byField.set(f.key, msg);
      }
    }
    const list = [...byField].map(([field, message]) => ({ field, message }));
    this.showErrors(list);
    return list;
  }

  // showErrors puts each message next to its field; it returns those whose
  // field the form does not have.
  showErrors(list) {
    for (const f of this.fields) f.setError("");
    const rest = [];
    for (const e of list) {
      const f = this.fields.find((x) => x.key === e.field);
      if (!f) { rest.push(e); continue; }
      f.setError(e.message);
      // A field in a closed group would hide its own error.
      const group = f.wrap.closest("details");
      if (group) group.open = true;
    }
    return rest;
  }

  // keys lists the names errors may name: inputs, and "context."-prefixed
  // context inputs.
  keys() { return new Set(this.fields.map((f) => f.key)); }
}

// field builds the label, hint and error around a control.
function field({ name, key, label, desc, hint, required, control, inline = false }) {
  const id = control.id;
  const errorId = id + "-error";
  const hintId = id + "-hint";
  const error = h("p", { class: "field-error", id: errorId, role: "alert" });
  const labelEl = h("label", { for: id, class: "label" }, label || name,
    required ? h("span", { class: "required", "aria-hidden": "true", text: " *" }) : null);
  const hints = [desc, hint].filter(Boolean).join(" · ");
  const hintEl = hints ? h("p", { class: "hint", id: hintId, text: hints }) : null;
  const describedBy = [hintEl ? hintId : "", errorId].filter(Boolean).join(" ");
  for (const c of control.querySelectorAll ? [control, ...control.querySelectorAll("input,select,textarea")] : [control]) {
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(c.tagName)) {
      c.setAttribute("aria-describedby", describedBy);
      if (required) c.setAttribute("aria-required", "true");
    }
  }
  const wrap = h("div", { class: "field" + (inline ? " inline" : ""), "data-field": key });
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
      for (const c of wrap.querySelectorAll("input,select,textarea")) c.setAttribute("aria-invalid", msg ? "true" : "false");
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

// schemaField renders one JSON Schema property.
function schemaField(name, p, required, prefix) {
  const key = prefix + name;
  const id = safeId((prefix ? "ctx-" : "in-") + name);
  const type = schemaType(p);
  const def = p.default;
  let el, read, check, inline = false;
  if (Array.isArray(p.enum)) {
    el = h("select", { id, name });
    if (!required || def === undefined) el.append(h("option", { value: "", text: "—" }));
    p.enum.forEach((v, i) => el.append(h("option", { value: String(i), text: String(v), selected: equalScalar(v, def) })));
    read = () => ({ value: el.value === "" ? undefined : p.enum[Number(el.value)] });
  } else if (type === "boolean") {
    el = h("input", { id, name, type: "checkbox", checked: def === true });
    inline = true;
    read = () => ({ value: el.checked });
  } else if (type === "integer" || type === "number") {
    el = h("input", { id, name, type: "number", inputmode: type === "integer" ? "numeric" : "decimal", step: type === "integer" ? "1" : "any" });
    if (def !== undefined) el.value = String(def);
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
    ({ el, read } = jsonControl(id, def, type));
    el.name = name;
  } else {
    const secret = p.format === "password" || p.writeOnly === true;
    el = h("input", { id, name, type: secret ? "password" : "text", autocomplete: secret ? "new-password" : "off" });
    if (def !== undefined) el.value = String(def);
    read = () => ({ value: el.value === "" ? undefined : el.value });
    check = (v) => {
      if (typeof p.minLength === "number" && [...v].length < p.minLength) return `at least ${p.minLength} characters`;
      if (typeof p.maxLength === "number" && [...v].length > p.maxLength) return `at most ${p.maxLength} characters`;
      return "";
    };
  }
  const hint = type === "object" || type === "array" ? `JSON ${type}` : "";
  const f = field({ name, key, label: p.title, desc: p.description, hint, required, control: el, inline });
  return { ...f, name, key, required, def, read, check, visible: true, staticHidden: false };
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
function taskField(name, d, prop) {
  const key = name;
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
    case "key-value-normal": {
      ({ el, read } = jsonControl(id, def, "array"));
      el.name = name;
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
