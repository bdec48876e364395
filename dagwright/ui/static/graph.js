// dagwright UI: the SVG graph of a run or a pipeline, drawn from the server's graph JSON
// (dagwright/ui/graph.py: nodes with x, y, w, h already laid out, top-left corners). The
// whole drawing is built in one fragment and inserted once; one delegated listener serves
// every node, so a 2,000-step run draws in a fraction of a second.
(function (DW) {
  "use strict";
  const { s, clear } = DW;

  // the counts of a loop node, as "3/5" plus a word for anything not succeeded
  function loopText(it) {
    const by = it.by_status || {};
    const ok = (by.succeeded || 0) + (by.cached || 0);
    const rest = Object.keys(by)
      .filter((k) => k !== "succeeded" && k !== "cached" && by[k])
      .sort()
      .map((k) => by[k] + " " + k);
    return ok + "/" + it.total + (rest.length ? " · " + rest.join(", ") : "");
  }

  function fitLabel(label, width) {
    const max = Math.max(4, Math.floor((width - 12) / 7));
    return label.length > max ? label.slice(0, max - 1) + "…" : label;
  }

  function nodeClass(kind, status) {
    return kind + " status-" + DW.cssToken(status || "unknown");
  }

  // the hot path of a big drawing: plain createElementNS/setAttribute, few attributes
  // (corner radius, anchor and fonts come from app.css), a <title> only for a cut label
  function el(tag, cls) {
    const e = document.createElementNS(DW.SVG_NS, tag);
    if (cls) e.setAttribute("class", cls);
    return e;
  }

  function taskNode(n) {
    const status = n.status || "unknown";
    // lineage nodes carry their kind (artifact, step, run, parameter) and the searched one
    const extra = (n.kind && n.kind !== "task" ? " kind-" + DW.cssToken(n.kind) : "") + (n.start ? " start" : "");
    const g = el("g", nodeClass("node", status) + (n.iterations ? " loop" : "") + extra);
    g.setAttribute("data-node-id", n.id);
    g.setAttribute("data-task", n.task || n.id);
    g.setAttribute("data-status", status);
    g.setAttribute("transform", "translate(" + n.x + "," + n.y + ")");
    const rect = el("rect");
    rect.setAttribute("width", n.w);
    rect.setAttribute("height", n.h);
    g.appendChild(rect);
    const label = String(n.label || n.task || n.id);
    const shown = fitLabel(label, n.w);
    if (shown !== label) {
      const title = el("title");
      title.textContent = label;
      g.appendChild(title);
    }
    const hasCount = !!n.iterations;
    const text = el("text", "label");
    text.setAttribute("x", n.w / 2);
    text.setAttribute("y", hasCount ? n.h / 2 - 3 : n.h / 2 + 4);
    text.textContent = shown;
    g.appendChild(text);
    if (hasCount) {
      const count = el("text", "count");
      count.setAttribute("x", n.w / 2);
      count.setAttribute("y", n.h / 2 + 11);
      count.textContent = loopText(n.iterations);
      g.appendChild(count);
    }
    return g;
  }

  function blockNode(n) {
    const status = n.status || "unknown";
    const g = s("g", {
      class: nodeClass("block", status),
      "data-node-id": n.id,
      "data-block": n.block || "block",
      "data-status": status,
      transform: "translate(" + n.x + "," + n.y + ")",
    });
    g.appendChild(s("rect", { width: n.w, height: n.h }));
    // the server's label names the block's kind already ("If x > 1", "ParallelFor [1, 2]")
    const title = n.label || (n.block ? n.block + ": " : "") + n.id;
    g.appendChild(s("text.block-label", { x: 8, y: 14, text: fitLabel(title, n.w) }));
    return g;
  }

  // all edges of one kind as one path, and every arrowhead in one more: thousands of edges
  // cost three elements (a marker would only mark the end of each whole path)
  function edgePaths(graph, byId) {
    const d = { data: [], after: [] };
    const heads = [];
    for (const e of graph.edges || []) {
      const a = byId.get(e.source);
      const b = byId.get(e.target);
      if (!a || !b) continue;
      const x1 = a.x + a.w / 2, y1 = a.y + a.h, x2 = b.x + b.w / 2, y2 = b.y;
      const my = (y1 + y2) / 2;
      (d[e.kind === "after" ? "after" : "data"]).push(
        "M" + x1 + " " + y1 + "C" + x1 + " " + my + " " + x2 + " " + my + " " + x2 + " " + (y2 - 6)
      );
      // the curve ends going straight down: the head points down onto the target's top
      heads.push("M" + x2 + " " + y2 + "l-4 -7h8z");
    }
    const paths = ["data", "after"]
      .filter((kind) => d[kind].length)
      .map((kind) => s("path.edges.edges-" + kind, { d: d[kind].join("") }));
    if (heads.length) paths.push(s("path.arrows", { d: heads.join("") }));
    return paths;
  }

  function depth(n, byId) {
    let k = 0;
    for (let p = n.parent; p && byId.has(p) && k < 100; p = byId.get(p).parent) k++;
    return k;
  }

  // draw(svg, graph, {onNode(node), selected}) -> {update(graph), select(id), nodes}
  function draw(svg, graph, opts) {
    opts = opts || {};
    clear(svg);
    const nodes = graph.nodes || [];
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const frag = document.createDocumentFragment();
    const view = s("g.viewport");
    const blocks = nodes.filter((n) => n.kind === "block");
    blocks.sort((a, b) => depth(a, byId) - depth(b, byId));
    const elements = new Map();
    for (const b of blocks) {
      const g = blockNode(b);
      elements.set(b.id, g);
      view.appendChild(g);
    }
    for (const p of edgePaths(graph, byId)) view.appendChild(p);
    for (const n of nodes) {
      if (n.kind === "block") continue;
      const g = taskNode(n);
      elements.set(n.id, g);
      view.appendChild(g);
    }
    frag.appendChild(view);
    const count = nodes.length - blocks.length;
    svg.setAttribute("data-nodes", String(count));
    // running nodes' moving dashes repaint every frame: only on small drawings
    svg.classList.toggle("animated", count <= 200);
    // fitted before the nodes go in: measuring the empty svg forces no layout of them
    const zoom = panZoom(svg, view, graph.width || 100, graph.height || 100);
    svg.appendChild(frag);
    let moved = false;
    zoom.onDrag = () => (moved = true);
    svg.addEventListener("pointerdown", () => (moved = false));
    svg.addEventListener("click", (ev) => {
      if (moved) return;
      const g = ev.target.closest && ev.target.closest("g.node");
      if (!g || !svg.contains(g)) return;
      const n = byId.get(g.getAttribute("data-node-id"));
      if (n && opts.onNode) opts.onNode(n);
    });

    function select(id) {
      for (const old of svg.querySelectorAll("g.selected")) old.classList.remove("selected");
      const g = id && elements.get(id);
      if (g) g.classList.add("selected");
    }

    // new statuses and counts for the same layout, without redrawing
    function update(next) {
      for (const n of next.nodes || []) {
        const g = elements.get(n.id);
        if (!g) continue;
        const status = n.status || "unknown";
        if (g.getAttribute("data-status") !== status) {
          const sel = g.classList.contains("selected");
          const kind = n.kind === "block" ? "block" : "node";
          g.setAttribute("class", nodeClass(kind, status) + (n.iterations && kind === "node" ? " loop" : "") + (sel ? " selected" : ""));
          g.setAttribute("data-status", status);
        }
        const count = g.querySelector("text.count");
        if (count && n.iterations) count.textContent = loopText(n.iterations);
        byId.set(n.id, Object.assign(byId.get(n.id) || {}, n));
      }
    }

    // true when next has the same nodes (then update() is enough)
    function sameLayout(next) {
      const ns = next.nodes || [];
      return ns.length === nodes.length && ns.every((n) => elements.has(n.id));
    }

    if (opts.selected) select(opts.selected);
    return { update, select, sameLayout, zoom };
  }

  // mouse wheel zooms around the pointer; dragging pans
  function panZoom(svg, view, width, height) {
    const t = { x: 10, y: 10, k: 1 };
    const ctl = { onDrag: null, fit, reset: fit };
    function apply() {
      view.setAttribute("transform", "translate(" + t.x + "," + t.y + ") scale(" + t.k + ")");
    }
    function fit() {
      const box = svg.getBoundingClientRect();
      const w = box.width || 800;
      const hgt = box.height || 500;
      t.k = Math.min(1, (w - 20) / width, Math.max(0.05, (hgt - 20) / height));
      t.k = Math.max(t.k, 0.05);
      // left-aligned: the drawing stays put when the step panel opens beside it
      t.x = 10;
      t.y = 10;
      apply();
    }
    svg.addEventListener(
      "wheel",
      (ev) => {
        ev.preventDefault();
        const box = svg.getBoundingClientRect();
        const px = ev.clientX - box.left;
        const py = ev.clientY - box.top;
        const f = Math.exp(-ev.deltaY * 0.0015);
        const k = Math.min(4, Math.max(0.02, t.k * f));
        t.x = px - ((px - t.x) * k) / t.k;
        t.y = py - ((py - t.y) * k) / t.k;
        t.k = k;
        apply();
      },
      { passive: false }
    );
    let drag = null;
    svg.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      drag = { x: ev.clientX, y: ev.clientY, tx: t.x, ty: t.y, far: false };
    });
    window.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      const dx = ev.clientX - drag.x;
      const dy = ev.clientY - drag.y;
      if (!drag.far && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (!drag.far) {
        drag.far = true;
        svg.classList.add("dragging");
        if (ctl.onDrag) ctl.onDrag();
      }
      t.x = drag.tx + dx;
      t.y = drag.ty + dy;
      apply();
    });
    window.addEventListener("pointerup", () => {
      drag = null;
      svg.classList.remove("dragging");
    });
    fit();
    return ctl;
  }

  // graphs without coordinates (lineage): layers by longest path, in a row each
  function layered(graph) {
    const nodes = graph.nodes || [];
    if (nodes.every((n) => typeof n.x === "number" && typeof n.w === "number")) return graph;
    const ids = nodes.map((n) => String(n.id));
    const preds = new Map(ids.map((i) => [i, []]));
    for (const e of graph.edges || []) {
      if (preds.has(String(e.target))) preds.get(String(e.target)).push(String(e.source));
    }
    const level = new Map();
    const visiting = new Set();
    function lv(id) {
      if (level.has(id)) return level.get(id);
      if (visiting.has(id)) return 0; // a cycle: stop here
      visiting.add(id);
      let l = 0;
      for (const p of preds.get(id) || []) if (preds.has(p)) l = Math.max(l, lv(p) + 1);
      level.set(id, l);
      return l;
    }
    const rows = [];
    for (const id of ids) (rows[lv(id)] = rows[lv(id)] || []).push(id);
    const W = 180, H = 40, GX = 30, GY = 50;
    const pos = new Map();
    rows.forEach((row, r) => row.forEach((id, c) => pos.set(id, { x: c * (W + GX), y: r * (H + GY) })));
    const laid = nodes.map((n) => {
      const p = pos.get(String(n.id));
      const label = n.label || n.name || String(n.id);
      return Object.assign({}, n, { id: String(n.id), kind: "task", label, task: n.task || label, x: p.x, y: p.y, w: W, h: H });
    });
    const width = Math.max(...rows.map((r) => r.length), 1) * (W + GX);
    return {
      nodes: laid,
      edges: (graph.edges || []).map((e) => ({ source: String(e.source), target: String(e.target), kind: e.kind || "data" })),
      width,
      height: rows.length * (H + GY),
    };
  }

  DW.graph = { draw, layered, loopText };
})((window.DW = window.DW || {}));
