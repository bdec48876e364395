// dagwright UI: the runs list, compare, lineage, pipeline and schedules pages. Each page is
// a function (root, params) -> view; the router calls view.onChange(runIds) on live events.
(function (DW) {
  "use strict";
  const { h, clear, getJSON, post, qs, statusBadge, errorBox, short } = DW;

  const RUN_STATUSES = ["running", "succeeded", "failed", "cancelled", "interrupted"];
  const PAGE = 100;
  const PIPELINE_FILE_MAX = 5 * 1024 * 1024; // POST /api/pipeline's limit

  function enc(x) {
    return encodeURIComponent(x);
  }

  // --- runs ---
  function runsView(root, params) {
    const filters = {
      pipeline: params.get("pipeline") || "",
      status: params.get("status") || "",
      since: params.get("since") || "",
      offset: Math.max(0, parseInt(params.get("offset") || "0", 10) || 0),
    };
    const go = (patch) => {
      const next = Object.assign({}, filters, patch);
      location.hash = "#/runs" + qs({ pipeline: next.pipeline, status: next.status, since: next.since, offset: next.offset || "" });
    };
    const pipeline = h("input#filter-pipeline", { type: "search", placeholder: "pipeline", value: filters.pipeline });
    pipeline.addEventListener("change", () => go({ pipeline: pipeline.value.trim(), offset: 0 }));
    const status = h("select#filter-status", null, h("option", { value: "" }, "any status"), RUN_STATUSES.map((st) => h("option", { value: st }, st)));
    status.value = filters.status;
    status.addEventListener("change", () => go({ status: status.value, offset: 0 }));
    const since = h("input#filter-since", { type: "search", placeholder: "since: 2h, 7d, 2026-11-30", value: filters.since });
    since.addEventListener("change", () => go({ since: since.value.trim(), offset: 0 }));
    const tbody = h("tbody");
    const pager = h("div.pager");
    const message = h("div.message");
    const compare = h("button#compare-selected", { type: "button", disabled: true }, "Compare selected");
    compare.addEventListener("click", () => {
      const ids = [...tbody.querySelectorAll("input.pick:checked")].map((c) => c.value);
      if (ids.length >= 2) location.hash = "#/compare" + qs({ runs: ids.join(",") });
    });
    // a click anywhere on a row (but its checkbox and link) opens the run
    tbody.addEventListener("click", (ev) => {
      if (ev.target.closest("input, a, button")) return;
      const tr = ev.target.closest("tr[data-run-id]");
      if (tr) location.hash = "#/runs/" + enc(tr.getAttribute("data-run-id"));
    });
    tbody.addEventListener("change", () => {
      compare.disabled = tbody.querySelectorAll("input.pick:checked").length < 2;
    });
    clear(root).appendChild(
      h("div.runs-page", null,
        h("h2", { text: "Runs" }),
        h("form.filters", { onsubmit: (ev) => ev.preventDefault() }, pipeline, status, since, compare),
        message,
        h("table#runs", null,
          h("thead", null, h("tr", null, ["", "run", "pipeline", "status", "started", "duration", "parameters"].map((c) => h("th", { text: c })))),
          tbody),
        pager)
    );

    async function load() {
      try {
        const data = await getJSON("/api/runs" + qs({ pipeline: filters.pipeline, status: filters.status, since: filters.since, limit: PAGE, offset: filters.offset }));
        const picked = new Set([...tbody.querySelectorAll("input.pick:checked")].map((c) => c.value));
        clear(message);
        clear(tbody);
        const frag = document.createDocumentFragment();
        for (const r of data.runs || []) {
          frag.appendChild(
            h("tr", { "data-run-id": r.run_id, "data-status": r.status },
              h("td", null, h("input.pick", { type: "checkbox", value: r.run_id, checked: picked.has(r.run_id), "aria-label": "select " + r.run_id })),
              h("td", null, h("a", { href: "#/runs/" + enc(r.run_id), text: r.run_id })),
              h("td", { text: r.pipeline }),
              h("td", null, statusBadge(r.status)),
              h("td", { text: DW.when(r.started) }),
              h("td", { text: DW.stepDuration(r) }),
              h("td.params", { text: short(r.params || {}) }))
          );
        }
        tbody.appendChild(frag);
        if (!(data.runs || []).length) tbody.appendChild(h("tr.empty", null, h("td", { colspan: 7, text: "no runs" })));
        const total = data.total || 0;
        clear(pager).appendChild(
          h("span", null,
            h("button.prev", { type: "button", disabled: filters.offset <= 0, onclick: () => go({ offset: Math.max(0, filters.offset - PAGE) }) }, "‹ newer"),
            h("span.count", { text: " " + (total ? filters.offset + 1 : 0) + "–" + Math.min(total, filters.offset + PAGE) + " of " + total + " " }),
            h("button.next", { type: "button", disabled: filters.offset + PAGE >= total, onclick: () => go({ offset: filters.offset + PAGE }) }, "older ›"))
        );
      } catch (err) {
        clear(message).appendChild(errorBox(err));
      }
    }
    load();
    let pending = null;
    return {
      onChange() {
        // one reload for a burst of events
        if (pending) return;
        pending = setTimeout(() => {
          pending = null;
          load();
        }, 150);
      },
      close() {
        if (pending) clearTimeout(pending);
      },
    };
  }

  // --- any JSON value as nested lists (for the lineage diff, whose fields vary) ---
  function jsonView(value) {
    if (value === null || value === undefined) return h("span.muted", { text: "—" });
    if (Array.isArray(value)) {
      if (!value.length) return h("span.muted", { text: "none" });
      // a list of records (changed components, inputs) reads best as a table
      if (value.every((v) => v && typeof v === "object" && !Array.isArray(v))) {
        const cols = [...new Set(value.flatMap((v) => Object.keys(v)))];
        return h("table.records", null,
          h("thead", null, h("tr", null, cols.map((c) => h("th", { text: c })))),
          h("tbody", null, value.map((v) => h("tr", null, cols.map((c) => h("td", null, jsonView(v[c])))))));
      }
      return h("ul", null, value.map((v) => h("li", null, jsonView(v))));
    }
    if (typeof value === "object") {
      const keys = Object.keys(value);
      if (!keys.length) return h("span.muted", { text: "none" });
      return h("dl", null, keys.map((k) => h("div", null, h("dt", { text: k }), h("dd", null, jsonView(value[k])))));
    }
    return h("span", { text: short(value) });
  }

  // --- compare ---
  function compareView(root, params) {
    const ids = (params.get("runs") || "").split(",").map((x) => x.trim()).filter(Boolean);
    const input = h("input#compare-runs", { type: "text", value: ids.join(","), placeholder: "run ids, comma-separated" });
    const body = h("div.compare-body");
    clear(root).appendChild(
      h("div.compare-page", null,
        h("h2", { text: "Compare runs" }),
        h("form.filters", { onsubmit: (ev) => { ev.preventDefault(); location.hash = "#/compare" + qs({ runs: input.value.replace(/\s+/g, "") }); } },
          input, h("button", { type: "submit" }, "Compare")),
        body)
    );
    if (ids.length < 2) {
      body.appendChild(h("p.muted", { text: "Give two or more runs (or pick them on the runs page)." }));
      return {};
    }
    getJSON("/api/compare" + qs({ runs: ids.join(",") })).then(
      (data) => {
        const runs = data.runs || [];
        const table = (id, names, field) => {
          const head = h("tr", null, h("th", { text: field }), runs.map((r) => h("th", null, h("a", { href: "#/runs/" + enc(r.run_id), text: r.run_id }))));
          const tbody = h("tbody");
          for (const name of names || []) {
            const cells = runs.map((r) => ((r[field] || {})[name]));
            const differs = new Set(cells.map((c) => short(c))).size > 1;
            tbody.appendChild(h("tr" + (differs ? ".differs" : ""), { "data-name": name }, h("th", { text: name }), cells.map((c) => h("td", { text: typeof c === "number" ? DW.fmtNumber(c) : short(c) }))));
          }
          return h("table#" + id + ".compare", null, h("thead", null, head), tbody);
        };
        clear(body).appendChild(
          h("div", null,
            h("div.compare-status", null, runs.map((r) => h("span", null, r.run_id + " ", statusBadge(r.status), " "))),
            h("h3", { text: "Parameters" }), table("compare-params", data.params, "params"),
            h("h3", { text: "Metrics" }), table("compare-metrics", data.metrics, "metrics"),
            h("h3", { text: "Lineage diff" }), h("div#lineage-diff", null, jsonView(data.lineage_diff)))
        );
      },
      (err) => clear(body).appendChild(errorBox(err))
    );
    return {};
  }

  // --- lineage ---
  function lineageView(root, params) {
    const q = params.get("q") || "";
    const input = h("input#lineage-search", { type: "search", value: q, placeholder: "artifact or step name, or a digest" });
    const body = h("div.lineage-body");
    clear(root).appendChild(
      h("div.lineage-page", null,
        h("h2", { text: "Lineage" }),
        h("form.filters", { onsubmit: (ev) => { ev.preventDefault(); location.hash = "#/lineage" + qs({ q: input.value.trim() }); } },
          input, h("button", { type: "submit" }, "Search")),
        body)
    );
    if (!q) return {};
    getJSON("/api/lineage" + qs({ q })).then(
      (data) => {
        const matches = data.matches || [];
        const svg = DW.s("svg#lineage-graph", { role: "img", "aria-label": "lineage graph" });
        clear(body).appendChild(
          h("div", null,
            h("ul.matches", null, matches.map((m) => {
              const id = typeof m === "string" ? m : m.id;
              const label = typeof m === "string" ? m : m.label || m.name || m.id || short(m);
              return h("li", { "data-kind": (m && m.kind) || "" }, id ? h("a", { href: "#/lineage" + qs({ q: id }), text: label }) : label);
            })),
            matches.length ? null : h("p.muted", { text: "nothing matches" }),
            h("div.graph-wrap", null, svg))
        );
        DW.graph.draw(svg, DW.graph.layered(data.graph || { nodes: [], edges: [] }), {
          onNode: (n) => (location.hash = "#/lineage" + qs({ q: n.id })),
        });
      },
      (err) => clear(body).appendChild(errorBox(err))
    );
    return {};
  }

  // --- pipeline (the IR recorded with a run, before it runs: no statuses) ---
  function pipelineView(root, params, graph) {
    const svg = DW.s("svg#graph", { role: "img", "aria-label": "pipeline graph" });
    const body = h("div.graph-wrap", null, svg);
    const run = params.get("run");
    const title = h("h2", { text: "Pipeline" + (run ? " of " + run : "") });
    const message = h("div.message");
    const drawIt = (g) => DW.graph.draw(svg, g, {});
    // no run and no embedded graph: the DAG of a file the user gives, drawn before it runs
    const chooser = graph || run ? null : pipelineFile(async (file) => {
      clear(message);
      try {
        // the server's limit too; checked here so a huge file is not sent at all
        if (file.size > PIPELINE_FILE_MAX) throw Object.assign(new Error("the file is over 5 MB"), { fix: "give the IR or the KFP YAML of one pipeline" });
        const d = await post("/api/pipeline" + qs({ name: file.name }), file);
        title.textContent = "Pipeline " + d.pipeline + " (" + file.name + ")";
        drawIt(d.graph);
      } catch (err) {
        clear(svg);
        message.appendChild(errorBox(err));
      }
    });
    clear(root).appendChild(h("div.pipeline-page", null, title, chooser, message, body));
    if (graph) drawIt(graph);
    else if (run) getJSON("/api/pipeline" + qs({ run })).then((d) => drawIt(d.graph), (err) => message.appendChild(errorBox(err)));
    return {};
  }

  // a file input inside a drop zone: either way, onFile gets the one file given
  function pipelineFile(onFile) {
    const input = h("input#pipeline-file", { type: "file", accept: ".json,.yaml,.yml" });
    input.addEventListener("change", () => {
      if (input.files && input.files[0]) onFile(input.files[0]);
      input.value = ""; // the same file chosen again (after editing it) is sent again
    });
    const zone = h("label#pipeline-drop.drop-zone", { for: "pipeline-file" },
      h("span", { text: "Drop a pipeline's IR (dagwright compile --target ir) or KFP YAML here, or choose it: " }),
      input,
      h("div.muted", { text: "A Python file? Run: dagwright inspect FILE --html OUT" }));
    zone.addEventListener("dragover", (e) => {
      e.preventDefault(); // without it the browser opens the dropped file instead
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      const file = e.dataTransfer && e.dataTransfer.files[0];
      if (file) onFile(file);
    });
    return zone;
  }

  // --- schedules ---
  function schedulesView(root) {
    const tbody = h("tbody");
    const message = h("div.message");
    clear(root).appendChild(
      h("div.schedules-page", null,
        h("h2", { text: "Schedules" }),
        message,
        h("table#schedules", null,
          h("thead", null, h("tr", null, ["name", "cron", "state", "next", "last runs", ""].map((c) => h("th", { text: c })))),
          tbody))
    );
    async function act(name, what) {
      try {
        await post("/api/schedules/" + enc(name) + "/" + what);
        load();
      } catch (err) {
        clear(message).appendChild(errorBox(err));
      }
    }
    async function load() {
      try {
        const data = await getJSON("/api/schedules");
        clear(tbody);
        for (const sc of data.schedules || []) {
          const last = (sc.last_runs || []).map((r) =>
            typeof r === "string"
              ? h("li", null, h("a", { href: "#/runs/" + enc(r), text: r }))
              : h("li", { title: r.slot || "" }, h("a", { href: "#/runs/" + enc(r.run_id), text: r.run_id }), " ", r.status ? statusBadge(r.status) : null)
          );
          tbody.appendChild(
            h("tr", { "data-schedule": sc.name, "data-paused": sc.paused ? "true" : "false" },
              h("td", null, h("strong", { text: sc.name }), sc.pipeline ? h("div.muted", { text: sc.pipeline }) : null),
              h("td", null, h("code", { text: sc.cron || "" }), sc.timezone ? h("div.muted", { text: sc.timezone }) : null),
              h("td", { text: sc.paused ? "paused" : "active" }),
              h("td", null, h("ul.next", null, (sc.next || []).map((t) => h("li", { text: t })))),
              h("td", null, h("ul.last", null, last)),
              h("td", null, sc.paused
                ? h("button.resume", { type: "button", onclick: () => act(sc.name, "resume") }, "Resume")
                : h("button.pause", { type: "button", onclick: () => act(sc.name, "pause") }, "Pause")))
          );
        }
        if (!(data.schedules || []).length) tbody.appendChild(h("tr.empty", null, h("td", { colspan: 6, text: "no schedules" })));
      } catch (err) {
        clear(message).appendChild(errorBox(err));
      }
    }
    load();
    return { onChange: load };
  }

  DW.pages = { runsView, compareView, lineageView, pipelineView, schedulesView, jsonView };
})((window.DW = window.DW || {}));
