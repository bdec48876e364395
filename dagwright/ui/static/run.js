// dagwright UI: the run page (header, Cancel/Resume, the graph) and the step panel
// (parameters, inputs, outputs with their artifact views, attempts, cache, error and
// traceback, stdout/stderr tailing through the logs route while the step runs).
(function (DW) {
  "use strict";
  const { h, clear, getJSON, post, qs, statusBadge, kvTable, errorBox } = DW;

  const RESUMABLE = new Set(["failed", "interrupted", "cancelled", "upstream_failed"]);

  function enc(x) {
    return encodeURIComponent(x);
  }

  function stepHash(runId, task, iteration) {
    return "#/runs/" + enc(runId) + "/steps/" + enc(task) + (iteration ? "?iteration=" + enc(iteration) : "");
  }

  async function loadRun(runId) {
    const data = DW.state.staticData;
    if (data) return data.run;
    return getJSON("/api/runs/" + enc(runId));
  }

  function header(run, actions) {
    const status = run.status || "unknown";
    const buttons = h("div.actions");
    if (actions) {
      if (status === "running") {
        buttons.appendChild(h("button#cancel-run", { type: "button", onclick: () => actions.act("cancel") }, "Cancel"));
      }
      if (RESUMABLE.has(status)) {
        buttons.appendChild(h("button#resume-run", { type: "button", onclick: () => actions.act("resume") }, "Resume"));
      }
      if (!DW.state.staticData) {
        buttons.appendChild(h("a.button", { href: "#/pipeline?run=" + enc(run.run_id) }, "Pipeline"));
        buttons.appendChild(h("a.button", { href: "#/compare?runs=" + enc(run.run_id) }, "Compare…"));
      }
    }
    return h(
      "section#run-header", { "data-run-status": status, "data-run-id": run.run_id },
      h("div.title-row", null,
        h("h2", null, h("span.run-id", { text: run.run_id })),
        statusBadge(status),
        buttons),
      h("div.facts", null,
        h("span", null, "pipeline ", h("strong", { text: run.pipeline || "" })),
        h("span", { text: "started " + DW.when(run.started) }),
        h("span", { text: "took " + DW.stepDuration(run) }),
        run.reason ? h("span.reason", { text: run.reason }) : null),
      h("details.params", { open: true }, h("summary", { text: "parameters" }), kvTable(run.params || {}))
    );
  }

  // the run page; returns the view the router keeps (openStep, onChange, close)
  function runView(root, runId) {
    const view = { runId, run: null, graph: null, step: null, closed: false, tail: null };
    clear(root);
    const headerSlot = h("div.header-slot", null, h("p.muted", { text: "loading run…" }));
    const svg = DW.s("svg#graph", { role: "img", "aria-label": "pipeline graph" });
    const panel = h("aside#step-panel", { hidden: true });
    // outside the header, which live updates redraw
    const message = h("div#action-message", { role: "status" });
    root.appendChild(h("div.run-page", null, headerSlot, message, h("div.run-body", null, h("div.graph-wrap", null, svg), panel)));

    const actions = {
      async act(what) {
        const msg = message;
        try {
          await post("/api/runs/" + enc(view.run.run_id) + "/" + what);
          clear(msg).appendChild(h("span", { text: what === "cancel" ? "cancel requested" : "resume started" }));
          refresh();
        } catch (err) {
          clear(msg).appendChild(errorBox(err));
        }
      },
    };

    function show(run) {
      view.run = run;
      clear(headerSlot).appendChild(header(run, DW.state.staticData ? null : actions));
      const graph = run.graph || { nodes: [], edges: [], width: 0, height: 0 };
      if (view.graph && view.graph.sameLayout(graph)) view.graph.update(graph);
      else {
        view.graph = DW.graph.draw(svg, graph, {
          onNode: (n) => {
            location.hash = stepHash(run.run_id, n.task || n.id, "");
          },
        });
      }
    }

    // one fetch at a time: events during it ask for one more afterwards
    let busy = false;
    let again = false;
    async function refresh() {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        await fetchAndShow();
      } finally {
        busy = false;
        if (again && !view.closed) {
          again = false;
          refresh();
        }
      }
    }

    async function fetchAndShow() {
      try {
        const run = await loadRun(runId);
        if (view.closed) return;
        const before = view.step && stepStatus(view.run, view.step);
        show(run);
        if (view.step && stepStatus(run, view.step) !== before) openStep(view.step.task, view.step.iteration, true);
      } catch (err) {
        if (!view.run) clear(headerSlot).appendChild(errorBox(err));
      }
    }

    const ready = loadRun(runId).then(show, (err) => {
      clear(headerSlot).appendChild(errorBox(err));
    });

    function openStep(task, iteration, quiet) {
      ready.then(() => {
        if (!view.run || view.closed) return;
        view.step = { task, iteration: iteration || "" };
        stopTail();
        view.graph && view.graph.select(nodeIdOf(view.run, task));
        panel.hidden = false;
        if (!quiet) clear(panel).appendChild(h("p.muted", { text: "loading " + task + "…" }));
        const rows = (view.run.steps || []).filter((r) => r.task === task);
        const isLoop = rows.some((r) => r.iteration);
        if (isLoop && !iteration) return showIterations(task, rows);
        loadStep(task, iteration).then(
          (detail) => {
            if (view.closed || !view.step || view.step.task !== task || view.step.iteration !== (iteration || "")) return;
            clear(panel).appendChild(stepPanel(detail, isLoop ? rows : null));
            if (detail.status === "running" && !DW.state.staticData) startTail(task, iteration || "");
          },
          (err) => clear(panel).appendChild(h("div", null, closeButton(), errorBox(err)))
        );
      });
    }

    function showIterations(task, rows) {
      const list = h("ul.iterations");
      for (const r of rows) {
        list.appendChild(
          h("li", { "data-iteration": r.iteration, "data-status": r.status },
            h("a", { href: stepHash(view.run.run_id, task, r.iteration) }, task + "[" + r.iteration + "]"), " ", statusBadge(r.status))
        );
      }
      clear(panel).appendChild(h("div", null, closeButton(), h("h3", { text: task }), h("p.muted", { text: rows.length + " iterations" }), list));
    }

    function loadStep(task, iteration) {
      const data = DW.state.staticData;
      if (data) {
        const details = data.steps_detail || {};
        const key = iteration ? task + "[" + iteration + "]" : task;
        const row = (view.run.steps || []).find((r) => r.task === task && (r.iteration || "") === (iteration || ""));
        const found = details[key] || details[task + "." + iteration] || (!iteration && details[task]) || null;
        if (!found && !row) return Promise.reject(new Error("no step " + key + " in this report"));
        return Promise.resolve(Object.assign({}, row || {}, found || {}));
      }
      return getJSON("/api/runs/" + enc(view.run.run_id) + "/steps/" + enc(task) + qs({ iteration }));
    }

    function closeButton() {
      return h("button.close", { type: "button", title: "close", onclick: () => (location.hash = "#/runs/" + enc(view.run.run_id)) }, "×");
    }

    function stepPanel(d, loopRows) {
      const iteration = d.iteration || "";
      const title = d.task + (iteration ? "[" + iteration + "]" : "");
      const facts = h("dl.step-facts");
      const fact = (label, field, value) => facts.appendChild(h("div", null, h("dt", { text: label }), h("dd", { "data-field": field }, value)));
      fact("status", "status", statusBadge(d.status));
      fact("attempts", "attempts", String(d.attempts !== undefined && d.attempts !== null ? d.attempts : ""));
      fact("cache hit", "cached", d.cached ? "yes" : "no");
      if (d.cache_key) fact("cache key", "cache_key", h("code", { text: d.cache_key }));
      if (d.component) fact("component", "component", componentText(d.component));
      fact("duration", "duration", DW.stepDuration(d));
      const errorText = [d.error, d.note].filter(Boolean).join("\n");
      return h(
        "div.step", { "data-task": d.task, "data-iteration": iteration, "data-status": d.status || "" },
        closeButton(),
        h("h3", { text: title }),
        d.display_name ? h("div.display-name.muted", { text: d.display_name }) : null,
        loopRows ? h("a.back", { href: stepHash(view.run.run_id, d.task, "") }, "all iterations") : null,
        facts,
        h("pre.error", { "data-field": "error", hidden: !errorText, text: errorText }),
        d.traceback ? h("details.traceback", { open: true }, h("summary", { text: "traceback" }), h("pre", { "data-field": "traceback", text: d.traceback })) : null,
        section("parameters", d.parameters && Object.keys(d.parameters).length ? kvTable(d.parameters, "parameters") : null),
        section("inputs", values(d.inputs)),
        section("outputs", values(d.outputs)),
        h("h4", { text: "stdout" }),
        h("pre#stdout.log", { text: d.status === "running" ? "" : d.stdout || "" }),
        h("h4", { text: "stderr" }),
        h("pre#stderr.log", { text: d.status === "running" ? "" : d.stderr || "" })
      );
    }

    function section(title, content) {
      if (!content || (Array.isArray(content) && !content.length)) return null;
      return h("section.step-section", null, h("h4", { text: title }), content);
    }

    function values(obj) {
      if (!obj) return null;
      if (Array.isArray(obj)) return obj.map((v, i) => DW.artifacts.artifactView(String(v && v.name !== undefined ? v.name : i), v));
      const isArtifact = (v) => v && typeof v === "object" && typeof v.uri === "string";
      return Object.keys(obj).flatMap((k) => {
        const v = obj[k];
        // a Collected input: one view per artifact gathered from the loop
        if (Array.isArray(v) && v.length && v.every(isArtifact)) return v.map((a, i) => DW.artifacts.artifactView(k + "[" + i + "]", a));
        return [DW.artifacts.artifactView(k, v)];
      });
    }

    // follow the live log files while the step runs (offsets from the logs route)
    function startTail(task, iteration) {
      const tail = { stop: false };
      view.tail = tail;
      for (const stream of ["stdout", "stderr"]) {
        let offset = 0;
        const step = async () => {
          if (tail.stop || view.closed) return;
          try {
            const url = "/api/runs/" + enc(view.run.run_id) + "/logs/" + enc(task) + qs({ iteration, stream, offset });
            const got = await getJSON(url);
            if (tail.stop) return;
            const pre = document.getElementById(stream);
            if (pre && got.text) pre.appendChild(document.createTextNode(got.text));
            offset = got.offset;
            if (got.done) return;
          } catch (err) {
            /* the step may have ended and its file gone: the next change event reloads */
          }
          setTimeout(step, 500);
        };
        step();
      }
    }

    function stopTail() {
      if (view.tail) view.tail.stop = true;
      view.tail = null;
    }

    view.openStep = openStep;
    view.closeStep = () => {
      stopTail();
      view.step = null;
      panel.hidden = true;
      clear(panel);
      ready.then(() => view.graph && view.graph.select(null));
    };
    view.onChange = (ids) => {
      if (!ids || !ids.length || ids.includes(view.runId) || (view.run && ids.includes(view.run.run_id))) refresh();
    };
    view.close = () => {
      view.closed = true;
      stopTail();
    };
    return view;
  }

  // the API gives {id, name, digest}; a report may give a name
  function componentText(c) {
    if (typeof c !== "object") return String(c);
    const name = c.name || c.id || "";
    return name + (c.id && c.name && c.id !== c.name ? " (" + c.id + ")" : "") + (c.digest ? " · " + String(c.digest).slice(0, 12) : "");
  }

  function stepStatus(run, step) {
    if (!run) return null;
    const row = (run.steps || []).find((r) => r.task === step.task && (r.iteration || "") === (step.iteration || ""));
    return row ? row.status + ":" + row.attempts : null;
  }

  function nodeIdOf(run, task) {
    const nodes = (run.graph && run.graph.nodes) || [];
    const n = nodes.find((x) => x.kind !== "block" && (x.task || x.id) === task);
    return n ? n.id : null;
  }

  DW.run = { runView, stepHash };
})((window.DW = window.DW || {}));
