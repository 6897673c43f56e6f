// The staff page of policy-dsl serve: plain JavaScript, no build step, nothing loaded from elsewhere.
// Every answer comes from the service (applies, eval, regions, clauses, kinds, schema/case); this
// file only lays them out. Words of the page itself come from the message catalog (static/words.js,
// which defines UI = {zh, en}); the policy's words (kinds, outputs, facts) come from the kinds table.
"use strict";

const LEVEL_RANK = { national: 0, province: 1, city: 2, district: 3 };
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const MONTH_RE = /^\d{4}-\d{2}$/;

const state = { lang: "zh", kinds: null, schema: null, clauses: {}, lastApplies: null, lastCase: null };

function t(key) { return UI[state.lang][key]; }
function $(id) { return document.getElementById(id); }
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

async function getJSON(url, options) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (e) {
    return { ok: false, data: { error: { code: "network", message: String(e), where: url } } };
  }
  const text = await response.text();
  let data = null;
  try { data = JSON.parse(text); } catch (e) { data = { error: { code: "E-INTERNAL", message: text.slice(0, 200), where: url } }; }
  return { ok: response.ok, status: response.status, data };
}

function errorText(error) {
  const errors = UI[state.lang].errors;
  const code = error.code || "";
  const plain = errors[code] || (code.startsWith("E-CASE") || code.startsWith("E-FACT") ? errors["case"] : null) || errors["E-USAGE"];
  return `${plain}（${code}：${error.message}${error.hint ? "；" + error.hint : ""}）`;
}

function showError(id, message) {
  const box = $(id);
  box.textContent = message;
  box.hidden = !message;
}

// -- labels from the kinds table --------------------------------------------------------------
function label(entry, fallback) {
  if (!entry) return fallback;
  return (state.lang === "zh" ? entry.zh : entry.en) || entry.zh || entry.en || fallback;
}
function kindLabel(kind) { return label(state.kinds.kinds[kind], kind); }
function outputLabel(name) { return label(state.kinds.outputs[name], name); }
function factLabel(kind, name) {
  const named = ((state.kinds.labels || {}).facts || {})[name];
  const facts = (state.kinds.kinds[kind] || {}).facts || {};
  return label(named, null) || label(facts[name], null) || label(state.kinds.person_flags[name], name);
}
function valueLabel(fact, value) {
  const names = (((state.kinds.labels || {}).values || {})[fact] || {})[value];
  return state.lang === "zh" && names && names.length ? `${names[0]}（${value}）` : value;
}
function valueText(v) {
  if (v === true) return t("yes");
  if (v === false) return t("no");
  if (v === null || v === undefined) return "—";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

// -- clauses: text and report links ---------------------------------------------------------------
function reportHref(clause) {
  return `report/${state.lang}/doc-${encodeURIComponent(clause.doc_id)}.html#c-${encodeURIComponent(clause.id)}`;
}
function clauseBlock(ref, extra, pending) {
  const c = state.clauses[ref.rule] || {};
  const level = ref.level || c.level || "";
  const head = el("div", {},
    el("span", { class: `level ${level}`, text: t(level) || level }),
    el("strong", { text: `${ref.document} ${ref.article || ""}` }), " ",
    c.doc_id ? el("a", { href: reportHref(c), text: t("source") }) : null);
  const node = el("li", { class: `clause ${level}${pending ? " pending" : ""}`, "data-rule": ref.rule }, head);
  if (extra) node.append(extra);
  if (c.text) node.append(el("blockquote", { text: c.text }));
  return node;
}

// -- what applied ------------------------------------------------------------------------------------
function period(r) {
  const parts = [];
  if (r.from) parts.push(`${t("from")} ${r.from}`);
  if (r.to) parts.push(`${t("to")} ${r.to}`);
  return parts.join(" ");
}

function renderApplies(data) {
  const box = $("applies-result");
  box.replaceChildren();
  const region = data.region.city ? `${data.region.city.name} ${data.region.name}` : data.region.name;
  box.append(el("p", {}, el("strong", { text: `${region}（${data.region.code}），${data.date}` }), " ",
    el("span", { class: "muted", text: t("layers") })));
  for (const [topic, found] of Object.entries(data.topics)) {
    const section = el("div", { class: "topic", "data-topic": topic }, el("h3", { text: kindLabel(topic) }));
    const inForce = [...found.in_force].sort((a, b) => (LEVEL_RANK[a.level] ?? 9) - (LEVEL_RANK[b.level] ?? 9));
    if (!inForce.length) section.append(el("p", { class: "muted", text: t("none") }));
    else {
      section.append(el("div", { class: "muted", text: t("inForce") }));
      const list = el("ol", { class: "layers in-force" });
      for (const r of inForce) {
        const extra = el("div", {});
        const when = period(r);
        if (when) extra.append(el("div", { class: "muted", text: when }));
        for (const d of r.displaces || []) {
          extra.append(el("div", { class: "displaces", text: `${t("displaces")} ${d.document} ${d.article}：${d.explanation}` }));
        }
        list.append(clauseBlock(r, extra, false));
      }
      section.append(list);
    }
    if (found.pending.length) {
      section.append(el("div", { class: "muted", text: t("pending") }));
      const list = el("ol", { class: "layers pending" });
      for (const p of found.pending) {
        list.append(clauseBlock(p, el("div", { class: "muted", text: `${t("inForceFrom")} ${p.in_force_from || "—"}` }), true));
      }
      section.append(list);
    }
    box.append(section);
  }
}

async function lookUp(event) {
  if (event) event.preventDefault();
  showError("applies-error", "");
  const region = $("region").value.trim();
  const date = $("date").value.trim();
  if (!region) { showError("applies-error", t("needRegion")); return; }
  if (!DATE_RE.test(date)) { showError("applies-error", t("badDate")); $("applies-result").replaceChildren(); return; }
  const params = new URLSearchParams({ date, region: $("region").dataset.code || region, lang: state.lang });
  const got = await getJSON(`applies?${params}`);
  if (!got.ok) { showError("applies-error", errorText(got.data.error)); $("applies-result").replaceChildren(); return; }
  state.lastApplies = got.data;
  renderApplies(got.data);
}

// -- region search as you type -----------------------------------------------------------------------
function typeahead(input) {
  const list = el("ul", { class: "suggestions", role: "listbox", hidden: "" });
  if (input.id === "region") { list.remove(); } else { input.parentNode.append(list); }
  const box = input.id === "region" ? $("region-list") : list;
  let serial = 0;
  input.addEventListener("input", async () => {
    delete input.dataset.code;
    const q = input.value.trim();
    const mine = ++serial;
    if (!q) { box.hidden = true; return; }
    const query = { q, limit: "12" };
    const day = (input.id === "region" ? $("date") : $("f-paid_on") || $("f-date") || {}).value;
    if (day && DATE_RE.test(day.trim())) query.on = day.trim();  // the regions that existed that day
    const got = await getJSON(`regions?${new URLSearchParams(query)}`);
    if (mine !== serial || !got.ok) return;
    box.replaceChildren();
    for (const r of got.data.regions) {
      const valid = r.valid_to ? `${r.valid_from || ""}—${r.valid_to}` : (r.valid_from ? `${r.valid_from}—` : "");
      const item = el("li", { role: "option", "data-code": r.code },
        el("span", { text: r.full_name || r.name }), " ",
        el("span", { class: "code", text: `${r.code}${valid ? " · " + valid : ""}` }));
      item.addEventListener("mousedown", (e) => {
        e.preventDefault();
        input.value = r.name;
        input.dataset.code = r.code;
        box.hidden = true;
      });
      box.append(item);
    }
    box.hidden = !got.data.regions.length;
  });
  input.addEventListener("blur", () => { box.hidden = true; });
}

// -- the case form, from the case JSON Schema -------------------------------------------------------
function caseVariants() {
  const defs = state.schema.$defs || {};
  return (defs.case && defs.case.oneOf) || [];
}

function fieldFor(kind, name, spec, required, prefix) {
  const id = `f-${prefix}${name}`;
  const text = factLabel(kind, name);
  const caption = el("span", { text: required ? text : `${text}（${t("optional")}）` });
  const types = [].concat(spec.type || []);
  if (spec.type === "boolean") {
    return el("label", { class: "check" }, el("input", { type: "checkbox", id, "data-name": name, "data-type": "bool" }), caption);
  }
  if (spec.enum) {
    const select = el("select", { id, "data-name": name, "data-type": "enum" });
    if (!required) select.append(el("option", { value: "", text: "" }));
    for (const v of spec.enum) select.append(el("option", { value: v, text: valueLabel(name, v) }));
    return el("label", {}, caption, select);
  }
  if (spec.type === "array" && spec.items && spec.items.properties) {
    const set = el("fieldset", { id, "data-name": name, "data-type": "list" }, el("legend", { text }));
    const count = spec.minItems || 1;
    for (let i = 0; i < count; i++) {
      const item = el("fieldset", { "data-item": String(i) }, el("legend", { text: `${t("enrollment")} ${i + 1}` }));
      const need = new Set(spec.items.required || []);
      for (const [sub, subSpec] of Object.entries(spec.items.properties)) {
        item.append(fieldFor(kind, sub, subSpec, need.has(sub), `${prefix}${name}-${i}-`));
      }
      set.append(item);
    }
    return set;
  }
  const kindOf = types.includes("integer") && types.includes("string") ? "region"
    : spec.pattern && spec.pattern.includes("(0[1-9]") ? "month"
    : spec.pattern ? "date" : types.includes("number") ? "number" : types.includes("integer") ? "int" : "text";
  const input = el("input", { id, "data-name": name, "data-type": kindOf,
    placeholder: kindOf === "date" ? "YYYY-MM-DD" : kindOf === "month" ? "YYYY-MM" : kindOf === "region" ? t("regionPh") : "",
    inputmode: kindOf === "number" || kindOf === "int" ? "decimal" : null });
  if (kindOf === "region") {
    const wrap = el("span", { class: "typeahead" }, input);
    typeahead(input);
    return el("label", {}, caption, wrap);
  }
  return el("label", {}, caption, input);
}

function buildForm() {
  const kind = $("kind").value;
  const variant = caseVariants().find((v) => v.properties.kind.const === kind);
  const box = $("case-fields");
  box.replaceChildren();
  if (!variant) return;
  const need = new Set(variant.required || []);
  for (const [name, spec] of Object.entries(variant.properties)) {
    if (name === "kind" || name === "id") continue;
    box.append(fieldFor(kind, name, spec, need.has(name), ""));
  }
}

function readField(node, errors) {
  const type = node.dataset.type;
  if (type === "bool") return node.checked ? true : undefined;
  const raw = node.value.trim();
  if (!raw) return undefined;
  if (type === "date" && !DATE_RE.test(raw)) errors.push(t("badDate"));
  if (type === "month" && !MONTH_RE.test(raw)) errors.push(t("badMonth"));
  if (type === "number" || type === "int") { const n = Number(raw); return Number.isFinite(n) ? n : raw; }
  if (type === "region") return node.dataset.code || raw;
  return raw;
}

function readCase() {
  const kind = $("kind").value;
  const data = { kind };
  const errors = [];
  for (const node of $("case-fields").querySelectorAll("[data-name]")) {
    if (node.closest("[data-item]")) continue;  // an item of a list: read with its list
    if (node.dataset.type === "list") {
      data[node.dataset.name] = [...node.querySelectorAll(":scope > [data-item]")].map((item) => {
        const entry = {};
        for (const sub of item.querySelectorAll("[data-name]")) {
          const v = readField(sub, errors);
          if (v !== undefined) entry[sub.dataset.name] = v;
        }
        return entry;
      });
      continue;
    }
    const v = readField(node, errors);
    if (v !== undefined) data[node.dataset.name] = v;
  }
  return { data, errors };
}

function traceTree(lines) {
  const root = el("ul", {});
  const stack = [{ depth: -1, list: root }];
  for (const line of lines) {
    const depth = (line.match(/^ */)[0].length) >> 1;
    while (stack.length > 1 && stack[stack.length - 1].depth >= depth) stack.pop();
    let parent = stack[stack.length - 1];
    const item = el("li", { text: line.trim() });
    parent.list.append(item);
    const sub = el("ul", {});
    item.append(sub);
    stack.push({ depth, list: sub });
  }
  for (const empty of root.querySelectorAll("ul:empty")) empty.remove();
  return el("div", { class: "trace" }, root);
}

function renderCase(result) {
  const box = $("case-result");
  box.replaceChildren();
  if (result.error) { showError("case-error", errorText(result.error)); return; }
  const status = el("p", {}, el("span", { text: `${t("status")}：` }),
    el("span", { class: "status", "data-status": result.status, text: t(result.status) || result.status }),
    el("span", { class: "muted", text: ` · ${result.region.name} · ${result.decision_date}` }));
  box.append(el("h3", { text: t("answer") }), status);
  const table = el("table", { class: "outputs" });
  for (const name of state.kinds.kinds[result.kind].outputs) {
    table.append(el("tr", { "data-output": name }, el("th", { text: outputLabel(name) }), el("td", { text: valueText(result[name]) })));
  }
  box.append(table);
  if (result.bounds) box.append(el("p", { class: "muted", text: `${t("bounds")}：${JSON.stringify(result.bounds)}` }));
  box.append(el("h3", { text: t("governing") }));
  const gov = el("ol", { class: "layers governing" });
  for (const g of result.governing) gov.append(clauseBlock(g, g.outputs && g.outputs.length
    ? el("div", { class: "muted", text: g.outputs.map(outputLabel).join("、") }) : null, false));
  if (!result.governing.length) gov.append(el("li", { class: "muted", text: t("empty") }));
  box.append(gov);
  if (result.displaced.length) {
    box.append(el("h3", { text: t("displaced") }));
    const list = el("ol", { class: "layers displaced" });
    for (const d of result.displaced) list.append(clauseBlock(d, el("div", { class: "displaces", text: d.explanation }), false));
    box.append(list);
  }
  if (result.pending.length) {
    box.append(el("h3", { text: t("pending") }));
    const list = el("ol", { class: "layers pending" });
    for (const p of result.pending) list.append(clauseBlock(p, el("div", { class: "muted", text: `${t("inForceFrom")} ${p.in_force_from || "—"}` }), true));
    box.append(list);
  }
  if (result.notes.length) {
    box.append(el("h3", { text: t("notes") }), el("ul", { class: "notes" }, ...result.notes.map((n) => el("li", { text: n }))));
  }
  if (result.trace.length) box.append(el("h3", { text: t("trace") }), traceTree(result.trace));
}

async function compute(event) {
  if (event) event.preventDefault();
  showError("case-error", "");
  const { data, errors } = readCase();
  if (errors.length) { showError("case-error", errors[0]); $("case-result").replaceChildren(); return; }
  const got = await getJSON(`eval?${new URLSearchParams({ lang: state.lang, explain: "true" })}`,
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });
  if (got.data && got.data.error && !got.data.kind) {
    showError("case-error", errorText(got.data.error));
    $("case-result").replaceChildren();
    return;
  }
  state.lastCase = data;
  renderCase(got.data);
}

// -- language ------------------------------------------------------------------------------------------
function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  for (const node of document.querySelectorAll("[data-ph]")) node.placeholder = t(node.dataset.ph);
  document.title = t("title");
  $("lang-switch").textContent = t("switchTo");
  $("report-link").href = `report/${state.lang}/index.html`;
  const kind = $("kind");
  const chosen = kind.value;
  kind.replaceChildren(...caseVariants().map((v) => el("option", { value: v.properties.kind.const, text: kindLabel(v.properties.kind.const) })));
  if (chosen) kind.value = chosen;
  const kept = readCase().data;
  buildForm();
  for (const [name, value] of Object.entries(kept)) {
    const node = $(`f-${name}`);
    if (!node || typeof value === "object") continue;
    if (node.type === "checkbox") node.checked = value === true; else node.value = value;
  }
}

async function switchLanguage() {
  state.lang = state.lang === "zh" ? "en" : "zh";
  const url = new URL(location.href);
  url.searchParams.set("lang", state.lang);
  history.replaceState(null, "", url);
  applyLanguage();
  if (state.lastApplies) await lookUp();
  if (state.lastCase && !$("case-result").hidden) await compute();
}

async function start() {
  const wanted = new URLSearchParams(location.search).get("lang");
  if (wanted === "en" || wanted === "zh") state.lang = wanted;
  const [kinds, schema, clauses, health] = await Promise.all([getJSON("kinds"), getJSON("schema/case"), getJSON("clauses"), getJSON("health")]);
  if (!kinds.ok || !schema.ok) { showError("applies-error", errorText((kinds.data || schema.data).error)); return; }
  state.kinds = kinds.data;
  state.schema = schema.data;
  if (clauses.ok) state.clauses = clauses.data.clauses;
  if (health.ok) {
    const ps = health.data.policy_set;
    $("policy-set").textContent = `${t("policySet")}：${ps.source} · ${ps.hash}`;
  }
  typeahead($("region"));
  $("applies-form").addEventListener("submit", lookUp);
  $("case-form").addEventListener("submit", compute);
  $("kind").addEventListener("change", buildForm);
  $("lang-switch").addEventListener("click", switchLanguage);
  applyLanguage();
  document.body.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", start);
