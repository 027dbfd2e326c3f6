#pragma once

// The /docs page of app::enable_docs: one self-contained HTML page (inline
// CSS and script, nothing from a CDN) that fetches the OpenAPI document from
// the same server and lists its operations, parameters and schemas, with a
// small form to try each one.

#include <string>
#include <string_view>

namespace corio::web::detail {

inline std::string html_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

inline std::string docs_page(std::string_view title, std::string_view openapi_url) {
    std::string page = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>)";
    page += html_escape(title);
    page += R"( - docs</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
h1{font-size:1.6em}.op{border:1px solid #ccc;border-radius:6px;margin:.8em 0;padding:.6em 1em}
.m{display:inline-block;min-width:4.5em;font-weight:bold;text-transform:uppercase}
.get{color:#1565c0}.post{color:#2e7d32}.put{color:#ef6c00}.patch{color:#6a1b9a}.delete{color:#c62828}
code,pre{background:#f5f5f5;padding:.1em .3em;border-radius:3px}pre{padding:.6em;overflow:auto}
table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:.2em .8em;text-align:left}
summary{cursor:pointer}input,textarea{font-family:monospace}
</style></head><body>
<h1 id="title">API</h1><p id="status">Loading the OpenAPI document...</p><div id="ops"></div>
<h2>Schemas</h2><div id="schemas"></div>
<script>
"use strict";
const specUrl = )";
    page += '"';
    page += html_escape(openapi_url);
    page += R"(";
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}
function schemaText(s) {
  if (!s) return "";
  if (s.$ref) return s.$ref.split("/").pop();
  if (s.type === "array") return schemaText(s.items) + "[]";
  if (s.enum) return s.enum.map(x => JSON.stringify(x)).join(" | ");
  return s.type || "any";
}
function operation(path, method, op) {
  const box = el("details", {class: "op", "data-path": path, "data-method": method});
  box.append(el("summary", {}, el("span", {class: "m " + method}, method), " ", el("code", {}, path),
                " ", op.summary || ""));
  const params = op.parameters || [];
  const inputs = {};
  if (params.length) {
    const t = el("table", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "type"),
                                 el("th", {}, "value")));
    for (const p of params) {
      const input = el("input", {name: p.name, placeholder: p.required ? "required" : ""});
      inputs[p.in + ":" + p.name] = input;
      t.append(el("tr", {}, el("td", {}, p.name), el("td", {}, p.in), el("td", {}, schemaText(p.schema)),
                  el("td", {}, input)));
    }
    box.append(t);
  }
  let body = null;
  if (op.requestBody) {
    const s = op.requestBody.content["application/json"].schema;
    box.append(el("p", {}, "JSON body: ", el("code", {}, schemaText(s))));
    body = el("textarea", {rows: 4, cols: 60}, "{}");
    box.append(body);
  }
  const out = el("pre", {class: "result"});
  const button = el("button", {}, "Try it");
  button.onclick = async () => {
    let url = path, query = new URLSearchParams(), headers = {};
    for (const p of params) {
      const v = inputs[p.in + ":" + p.name].value;
      if (p.in === "path") url = url.replace("{" + p.name + "}", encodeURIComponent(v));
      else if (v !== "" && p.in === "query") query.append(p.name, v);
      else if (v !== "" && p.in === "header") headers[p.name] = v;
    }
    const init = {method: method.toUpperCase(), headers};
    if (body) { init.body = body.value; headers["Content-Type"] = "application/json"; }
    const q = query.toString();
    const r = await fetch(url + (q ? "?" + q : ""), init);
    out.textContent = r.status + " " + r.statusText + "\n" + await r.text();
  };
  box.append(button, out);
  const codes = Object.keys(op.responses || {}).join(", ");
  box.append(el("p", {}, "Responses: " + codes));
  return box;
}
fetch(specUrl).then(r => r.json()).then(spec => {
  document.getElementById("title").textContent = spec.info.title + " " + spec.info.version;
  document.title = spec.info.title + " - docs";
  const ops = document.getElementById("ops");
  let count = 0;
  for (const [path, methods] of Object.entries(spec.paths || {}))
    for (const [method, op] of Object.entries(methods)) { ops.append(operation(path, method, op)); ++count; }
  const schemas = document.getElementById("schemas");
  for (const [name, s] of Object.entries((spec.components || {}).schemas || {}))
    schemas.append(el("details", {class: "schema"}, el("summary", {}, name),
                      el("pre", {}, JSON.stringify(s, null, 2))));
  document.getElementById("status").textContent = "OpenAPI " + spec.openapi + ": " + count + " operations";
}).catch(e => { document.getElementById("status").textContent = "Could not load " + specUrl + ": " + e; });
</script></body></html>
)";
    return page;
}

}  // namespace corio::web::detail
