// dagwright UI: artifact views (as the KFP UI shows them) and small SVG charts. Previews come
// from /api/artifacts/preview (dagwright/ui/previews.py) or, on a static page, from the
// embedded data's "previews" by URI. User HTML and Markdown only ever go into an
// <iframe sandbox="allow-scripts"> (an opaque origin), never into this page.
(function (DW) {
  "use strict";
  const { h, s, fmtNumber, short } = DW;

  // a URL the page may load: same-site paths and data: images only (never javascript:)
  function safeUrl(url, allowData) {
    if (typeof url !== "string") return null;
    if (url.startsWith("/") && !url.startsWith("//")) return url;
    if (url.startsWith("api/")) return "/" + url;
    if (allowData && /^data:image\/(png|jpeg|gif|webp|svg\+xml);base64,/i.test(url)) return url;
    return null;
  }

  function metricChart(rows) {
    const nums = rows.filter((r) => typeof r[1] === "number" && isFinite(r[1]));
    const barH = 18, gap = 6, labelW = 140, chartW = 260;
    const height = Math.max(1, nums.length) * (barH + gap) + gap;
    const max = Math.max(...nums.map((r) => Math.abs(r[1])), 1e-12);
    const svg = s("svg.metric-chart", {
      width: labelW + chartW + 70, height, viewBox: "0 0 " + (labelW + chartW + 70) + " " + height,
      role: "img", "aria-label": "metrics chart",
    });
    nums.forEach((r, i) => {
      const y = gap + i * (barH + gap);
      const w = Math.max(1, (Math.abs(r[1]) / max) * chartW);
      svg.appendChild(s("text.axis", { x: labelW - 6, y: y + barH - 5, "text-anchor": "end", text: String(r[0]) }));
      svg.appendChild(s("rect.bar" + (r[1] < 0 ? ".negative" : ""), { x: labelW, y, width: w, height: barH, "data-metric": String(r[0]) }));
      svg.appendChild(s("text.value", { x: labelW + w + 4, y: y + barH - 5, text: fmtNumber(r[1]) }));
    });
    return svg;
  }

  function metricsView(rows) {
    const tbody = h("tbody");
    for (const r of rows) {
      tbody.appendChild(h("tr", { "data-metric": String(r[0]) }, h("th", { text: String(r[0]) }), h("td", { text: fmtNumber(r[1]) })));
    }
    return h(
      "div.metrics-view", null,
      h("table.metrics", null, h("thead", null, h("tr", null, h("th", { text: "metric" }), h("th", { text: "value" }))), tbody),
      metricChart(rows)
    );
  }

  function confusionMatrix(cm) {
    const labels = cm.labels || [];
    const rows = cm.rows || [];
    let max = 0;
    for (const row of rows) for (const v of row) if (typeof v === "number") max = Math.max(max, v);
    const head = h("tr", null, h("th.corner", { text: "actual \\ predicted" }), labels.map((l) => h("th", { text: String(l) })));
    const tbody = h("tbody");
    rows.forEach((row, i) => {
      const tr = h("tr", null, h("th", { text: String(labels[i] !== undefined ? labels[i] : i) }));
      for (const v of row) {
        const td = h("td", { text: short(v) });
        const a = max > 0 && typeof v === "number" ? v / max : 0;
        td.style.backgroundColor = "rgba(37, 99, 235, " + (0.08 + 0.8 * a).toFixed(3) + ")";
        if (a > 0.55) td.classList.add("dark");
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    });
    return h("table.confusion-matrix", null, h("thead", null, head), tbody);
  }

  function rocChart(points) {
    const size = 240, pad = 34;
    const svg = s("svg.roc-chart", { width: size + pad + 10, height: size + pad + 10, role: "img", "aria-label": "ROC curve" });
    const X = (v) => pad + v * size;
    const Y = (v) => 10 + (1 - v) * size;
    svg.appendChild(s("rect.frame", { x: pad, y: 10, width: size, height: size }));
    svg.appendChild(s("line.diagonal", { x1: X(0), y1: Y(0), x2: X(1), y2: Y(1) }));
    const pts = points
      .filter((p) => typeof p.fpr === "number" && typeof p.tpr === "number")
      .sort((a, b) => a.fpr - b.fpr || a.tpr - b.tpr)
      .map((p) => X(p.fpr).toFixed(2) + "," + Y(p.tpr).toFixed(2));
    svg.appendChild(s("polyline.curve", { points: pts.join(" ") }));
    svg.appendChild(s("text.axis", { x: pad + size / 2, y: size + pad + 6, "text-anchor": "middle", text: "false positive rate" }));
    svg.appendChild(s("text.axis", { x: 12, y: 10 + size / 2, transform: "rotate(-90 12 " + (10 + size / 2) + ")", "text-anchor": "middle", text: "true positive rate" }));
    for (const v of [0, 0.5, 1]) {
      svg.appendChild(s("text.tick", { x: X(v), y: size + 24, "text-anchor": "middle", text: String(v) }));
      svg.appendChild(s("text.tick", { x: pad - 4, y: Y(v) + 4, "text-anchor": "end", text: String(v) }));
    }
    return svg;
  }

  function frame(preview, title) {
    const attrs = { sandbox: "allow-scripts", title, referrerpolicy: "no-referrer" };
    // a static page carries the document itself; the server page points at the raw route
    if (typeof preview.html === "string") attrs.srcdoc = preview.html;
    else {
      const url = safeUrl(preview.raw_url, false);
      if (!url) return h("p.muted", { text: "no preview of this document here" });
      attrs.src = url;
    }
    const el = h("iframe.artifact-frame", attrs);
    // set again after creation: the sandbox must hold before anything loads
    el.setAttribute("sandbox", "allow-scripts");
    return el;
  }

  function datasetView(p) {
    const cols = p.columns || [];
    const thead = h("thead", null, h("tr", null, cols.map((c) => h("th", { text: String(c) }))));
    const tbody = h("tbody");
    for (const row of p.rows || []) tbody.appendChild(h("tr", null, row.map((v) => h("td", { text: short(v) }))));
    const shown = (p.rows || []).length;
    const note = p.total_rows !== null && p.total_rows !== undefined ? "first " + shown + " of " + p.total_rows + " rows" : "first " + shown + " rows";
    return h("div.dataset-view", null, h("p.muted", { text: note }), h("div.scroll", null, h("table.dataset-preview", null, thead, tbody)));
  }

  // a model's file as "path (size)": previews give {path, size} (bytes)
  function fileLine(f) {
    if (typeof f === "string") return f;
    if (!f || typeof f.path !== "string") return short(f);
    const size = Number(f.size);
    if (!Number.isFinite(size)) return f.path;
    const units = ["B", "KB", "MB", "GB", "TB"];
    let n = size, u = 0;
    while (n >= 1024 && u < units.length - 1) { n /= 1024; u += 1; }
    return f.path + " (" + (u ? n.toFixed(1) : String(n)) + " " + units[u] + ")";
  }

  function modelView(p) {
    const dl = h("dl.model-meta");
    const meta = p.metadata || {};
    for (const k of Object.keys(meta).sort()) dl.appendChild(h("div", null, h("dt", { text: k }), h("dd", { text: short(meta[k]) })));
    const files = p.files || [];
    return h(
      "div.model-view", null, dl,
      files.length ? h("ul.model-files", null, files.map((f) => h("li", { text: fileLine(f) }))) : null
    );
  }

  // one preview dict as DOM
  function previewView(p, name) {
    if (!p) return h("p.muted", { text: "no preview" });
    switch (p.kind) {
      case "metrics":
        return metricsView(p.rows || []);
      case "classification": {
        const parts = [];
        if (p.confusion_matrix) parts.push(h("h4", { text: "confusion matrix" }), confusionMatrix(p.confusion_matrix));
        if (p.roc && p.roc.length) parts.push(h("h4", { text: "ROC" }), rocChart(p.roc));
        return h("div.classification-view", null, parts.length ? parts : h("p.muted", { text: "no classification metrics" }));
      }
      case "html":
      case "markdown":
        return frame(p, name);
      case "dataset":
        return datasetView(p);
      case "image": {
        const url = safeUrl(p.data_url || p.raw_url, true);
        return url ? h("img.artifact-image", { src: url, alt: name }) : h("p.muted", { text: "image not embedded" });
      }
      case "model":
        return modelView(p);
      case "error":
        return h("p.preview-error", { text: "no preview: " + (p.error || "unknown error") });
      default: {
        const bits = [];
        if (p.size !== undefined) bits.push(h("p.muted", { text: p.size + " bytes" }));
        if (typeof p.text === "string") bits.push(h("pre.artifact-text", { text: p.text }));
        return h("div.other-view", null, bits.length ? bits : h("p.muted", { text: "no preview" }));
      }
    }
  }

  // an output or input: a parameter value, or an artifact dict with its preview
  function artifactView(name, value) {
    const isArtifact = value && typeof value === "object" && !Array.isArray(value) && typeof value.uri === "string";
    if (!isArtifact) {
      return h("div.artifact.parameter-value", { "data-name": name }, h("span.name", { text: name }), h("code", { text: short(value) }));
    }
    const body = h("div.preview", { "data-loading": "1" }, h("span.muted", { text: "loading preview…" }));
    const el = h(
      "div.artifact", { "data-name": name, "data-type": value.type || "" },
      h("div.artifact-head", null,
        h("span.name", { text: name }),
        h("span.type", { text: value.type || "Artifact" }),
        value.digest ? h("code.digest", { text: String(value.digest).slice(0, 12), title: String(value.digest) }) : null),
      h("div.uri", { text: value.uri }),
      body
    );
    loadPreview(value).then(
      (p) => {
        DW.clear(body).appendChild(previewView(p, name));
        body.removeAttribute("data-loading");
      },
      (err) => {
        DW.clear(body).appendChild(h("p.preview-error", { text: "no preview: " + err.message }));
        body.removeAttribute("data-loading");
      }
    );
    return el;
  }

  function loadPreview(artifact) {
    const data = DW.state.staticData;
    if (data) {
      const p = (data.previews || {})[artifact.uri];
      if (p) return Promise.resolve(p);
      return Promise.resolve(fromMetadata(artifact));
    }
    const url = safeUrl(artifact.preview_url, false) || "/api/artifacts/preview" + DW.qs({ uri: artifact.uri });
    return DW.getJSON(url);
  }

  // without a preview (a static page that carries none): what the metadata says
  function fromMetadata(artifact) {
    const meta = artifact.metadata || {};
    if (artifact.type === "Metrics" && Object.keys(meta).length) {
      return { kind: "metrics", rows: Object.keys(meta).map((k) => [k, meta[k]]) };
    }
    return { kind: "other", text: Object.keys(meta).length ? JSON.stringify(meta, null, 2) : undefined };
  }

  DW.artifacts = { artifactView, previewView, metricChart, confusionMatrix, rocChart, safeUrl };
})((window.DW = window.DW || {}));
