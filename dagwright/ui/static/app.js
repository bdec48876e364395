// dagwright UI: the hash router, live updates and static mode. Loaded last (index.html
// lists the files in order: util.js, graph.js, artifacts.js, run.js, pages.js, app.js).
//   #/runs?pipeline=&status=&since=&offset=   runs list
//   #/runs/<id>                                run page
//   #/runs/<id>/steps/<task>?iteration=        run page with the step panel open
//   #/compare?runs=a,b  #/lineage?q=  #/pipeline[?run=]  #/schedules
// Static mode: a page holding <script type="application/json" id="dagwright-data"> (a
// report, a notebook) renders from that data with no fetches.
(function (DW) {
  "use strict";
  const { h, clear } = DW;

  let current = null; // {key, view}

  function parse(hash) {
    const text = (hash || "").replace(/^#/, "");
    const q = text.indexOf("?");
    const path = q >= 0 ? text.slice(0, q) : text;
    const params = new URLSearchParams(q >= 0 ? text.slice(q + 1) : "");
    const parts = path.split("/").filter(Boolean).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch (e) {
        return p;
      }
    });
    return { parts, params };
  }

  function nav(staticMode) {
    const links = staticMode
      ? [h("span.muted", { text: "report" })]
      : [["#/runs", "Runs"], ["#/compare", "Compare"], ["#/lineage", "Lineage"], ["#/pipeline", "Pipeline"], ["#/schedules", "Schedules"]].map(([href, label]) =>
          h("a", { href, "data-nav": label.toLowerCase() }, label)
        );
    return h("header.topbar", null, h("a.brand", { href: staticMode ? "#" : "#/runs" }, "dagwright"), h("nav", null, links));
  }

  function route() {
    const main = document.getElementById("dw-main");
    const { parts, params } = parse(location.hash);
    const data = DW.state.staticData;
    if (data) return routeStatic(main, data, parts, params);
    if (parts[0] === "runs" && parts[1]) {
      const runId = parts[1];
      const key = "run:" + runId;
      if (!current || current.key !== key) show(key, DW.run.runView(main, runId));
      if (parts[2] === "steps" && parts[3]) current.view.openStep(parts[3], params.get("iteration") || "");
      else current.view.closeStep();
      return;
    }
    const pages = {
      compare: () => DW.pages.compareView(main, params),
      lineage: () => DW.pages.lineageView(main, params),
      pipeline: () => DW.pages.pipelineView(main, params),
      schedules: () => DW.pages.schedulesView(main, params),
    };
    const make = pages[parts[0]] || (() => DW.pages.runsView(main, params));
    show(location.hash, make());
    markNav(parts[0] || "runs");
  }

  function routeStatic(main, data, parts, params) {
    if (data.kind === "pipeline") {
      if (!current) show("pipeline", DW.pages.pipelineView(main, new URLSearchParams(), pipelineGraph(data)));
      return;
    }
    if (!current) show("run", DW.run.runView(main, (data.run || {}).run_id || ""));
    if (parts[0] === "runs" && parts[2] === "steps" && parts[3]) current.view.openStep(parts[3], params.get("iteration") || "");
    else current.view.closeStep();
  }

  function pipelineGraph(data) {
    return data.graph || (data.pipeline && data.pipeline.graph) || (data.run && data.run.graph) || { nodes: [], edges: [] };
  }

  function show(key, view) {
    if (current && current.view && current.view.close) current.view.close();
    current = { key, view: view || {} };
  }

  function markNav(name) {
    for (const a of document.querySelectorAll("header.topbar nav a")) {
      a.classList.toggle("active", a.getAttribute("data-nav") === name);
    }
  }

  // one EventSource for the page: the server says which runs changed, the view refetches
  function live() {
    if (typeof EventSource === "undefined") return;
    const source = new EventSource("/api/events");
    source.addEventListener("change", (ev) => {
      let runs = [];
      try {
        runs = JSON.parse(ev.data).runs || [];
      } catch (e) {
        runs = [];
      }
      if (current && current.view && current.view.onChange) current.view.onChange(runs);
    });
    DW.state.events = source;
  }

  function readStatic() {
    const el = document.getElementById("dagwright-data");
    if (!el) return null;
    try {
      return JSON.parse(el.textContent);
    } catch (e) {
      return { kind: "error", error: "the embedded data is not JSON: " + e.message };
    }
  }

  function boot() {
    let app = document.getElementById("app");
    if (!app) {
      app = h("div#app");
      document.body.appendChild(app);
    }
    const data = readStatic();
    DW.state.staticData = data;
    clear(app).appendChild(nav(!!data));
    const main = h("main#dw-main");
    app.appendChild(main);
    if (data && data.kind === "error") {
      main.appendChild(DW.errorBox(new Error(data.error)));
      return;
    }
    window.addEventListener("hashchange", route);
    route();
    if (!data) live();
    document.documentElement.setAttribute("data-dagwright", data ? "static" : "live");
  }

  DW.boot = boot;
  DW.parseRoute = parse;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})((window.DW = window.DW || {}));
