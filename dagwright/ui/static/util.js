// dagwright UI: shared helpers. Data goes into the DOM only through textContent and
// attributes, never innerHTML, so a run or task named like markup shows as text.
(function (DW) {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";

  // h("tag.cls1.cls2", {attr: value, onclick: fn}, child, ...): one element.
  function h(spec, attrs, ...children) {
    return build(document.createElement.bind(document), spec, attrs, children);
  }

  function s(spec, attrs, ...children) {
    return build((tag) => document.createElementNS(SVG_NS, tag), spec, attrs, children);
  }

  function build(make, spec, attrs, children) {
    // "tag#id.class1.class2": id and classes are optional
    const parts = spec.split(".");
    const [tag, id] = parts[0].split("#");
    const el = make(tag);
    if (id) el.setAttribute("id", id);
    if (parts.length > 1) el.setAttribute("class", parts.slice(1).join(" "));
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
        else if (k === "text") el.textContent = String(v);
        else el.setAttribute(k, v === true ? "" : String(v));
      }
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) append(el, c);
      else if (c instanceof Node) el.appendChild(c);
      else el.appendChild(document.createTextNode(String(c)));
    }
    return el;
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  // --- data access: the HTTP API, or the embedded report data in static mode ---
  const state = { staticData: null };

  async function getJSON(path) {
    if (state.staticData) throw new Error("static page: no server to ask for " + path);
    const resp = await fetch(path, { headers: { Accept: "application/json" } });
    return answer(resp);
  }

  // body: optional (a File is sent as its bytes)
  async function post(path, body) {
    const resp = await fetch(path, {
      method: "POST",
      headers: { "X-Dagwright": "1", Accept: "application/json" },
      body: body === undefined ? null : body,
    });
    return answer(resp);
  }

  async function answer(resp) {
    let body = null;
    try {
      body = await resp.json();
    } catch (e) {
      body = null;
    }
    if (!resp.ok) {
      const msg = body && body.error ? body.error : "HTTP " + resp.status;
      const err = new Error(msg);
      err.fix = body && body.fix;
      err.field = body && body.field;
      throw err;
    }
    return body;
  }

  function qs(params) {
    const parts = [];
    for (const [k, v] of Object.entries(params)) {
      if (v === null || v === undefined || v === "") continue;
      for (const one of Array.isArray(v) ? v : [v]) {
        parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(one));
      }
    }
    return parts.length ? "?" + parts.join("&") : "";
  }

  // --- formatting ---
  function when(ts) {
    if (ts === null || ts === undefined) return "";
    const d = new Date(ts * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return (
      d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds())
    );
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) return "";
    if (seconds < 1) return Math.round(seconds * 1000) + " ms";
    if (seconds < 60) return seconds.toFixed(1) + " s";
    const m = Math.floor(seconds / 60);
    if (m < 60) return m + "m " + Math.round(seconds % 60) + "s";
    return Math.floor(m / 60) + "h " + (m % 60) + "m";
  }

  function stepDuration(row) {
    if (!row || row.started === null || row.started === undefined) return "";
    if (row.duration !== undefined && row.duration !== null) return duration(row.duration);
    const end = row.ended !== null && row.ended !== undefined ? row.ended : Date.now() / 1000;
    return duration(end - row.started);
  }

  function short(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "string") return value;
    try {
      return JSON.stringify(value);
    } catch (e) {
      return String(value);
    }
  }

  function fmtNumber(v) {
    if (typeof v !== "number") return short(v);
    if (!isFinite(v) || Number.isInteger(v)) return String(v);
    // six significant digits, no trailing zeros: 0.9 stays "0.9"
    return String(Number(v.toPrecision(6)));
  }

  function statusBadge(status) {
    const st = status || "unknown";
    return h("span.badge.status-" + cssToken(st), { "data-status": st, text: st });
  }

  // a status as a class name: unknown characters dropped (CSS colours known ones only)
  function cssToken(text) {
    return String(text || "unknown").replace(/[^a-zA-Z0-9_-]/g, "") || "unknown";
  }

  function errorBox(err) {
    return h(
      "div.error-box",
      { role: "alert" },
      h("strong", { text: err && err.message ? err.message : String(err) }),
      err && err.fix ? h("div.fix", { text: err.fix }) : null
    );
  }

  // a plain object as a two-column table (keys sorted); values as JSON text
  function kvTable(obj, cls) {
    const tbody = h("tbody");
    for (const key of Object.keys(obj || {}).sort()) {
      tbody.appendChild(h("tr", null, h("th", { text: key }), h("td", { text: short(obj[key]) })));
    }
    return h("table.kv" + (cls ? "." + cls : ""), null, tbody);
  }

  Object.assign(DW, {
    SVG_NS, h, s, append, clear, state, getJSON, post, qs,
    when, duration, stepDuration, short, fmtNumber, statusBadge, cssToken, errorBox, kvTable,
  });
})((window.DW = window.DW || {}));
