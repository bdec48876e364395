"""Provenance as a networkx graph, in W3C PROV terms.

Nodes (ids are strings, attributes say the rest; ``kind`` is one of):

- ``run:<run_id>``: a pipeline run (PROV activity): pipeline, status, started, ended.
- ``step:<run_id>/<task>[i.j]``: one step execution (activity): task, component, component
  digest, cache key, status, cached.
- ``artifact:<sha256>``: an artifact by content (PROV entity): digest, type, name, uris,
  version. The same content met in any run or pipeline is one node; an artifact without a
  digest is ``artifact:uri:<uri>``.
- ``param:<sha256 of name and value>``: a parameter value (entity): name, value (JSON text).

Edges carry ``relation``: ``used`` (step or run -> artifact or parameter), ``wasGeneratedBy``
(artifact -> step), ``wasInformedBy`` (step -> the step that made what it used),
``wasDerivedFrom`` (artifact -> each artifact its step used), ``wasStartedBy`` (step -> its
run). A cached step links the artifacts it reuses; it does not make new ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

USED = "used"
GENERATED_BY = "wasGeneratedBy"
INFORMED_BY = "wasInformedBy"
DERIVED_FROM = "wasDerivedFrom"
STARTED_BY = "wasStartedBy"
RELATIONS = (USED, GENERATED_BY, INFORMED_BY, DERIVED_FROM, STARTED_BY)


def run_node(run_id: str) -> str:
    """The node id of a run."""
    return f"run:{run_id}"


def step_node(run_id: str, label: str) -> str:
    """The node id of one step execution of a run."""
    return f"step:{run_id}/{label}"


def artifact_node(artifact: dict[str, Any]) -> str:
    """The node of an artifact (``Artifact.to_dict()``): by digest, else by URI."""
    from dagwright.redact import redact_uri

    digest = artifact.get("digest")
    return f"artifact:{digest}" if digest else f"artifact:uri:{redact_uri(artifact.get('uri', ''))}"


def param_node(name: str, value: Any) -> str:
    """The node id of a parameter value (a hash of its name and value)."""
    text = json.dumps([name, value], sort_keys=True, default=str)
    return "param:" + hashlib.sha256(text.encode()).hexdigest()[:16]


class Lineage:
    """A provenance graph: add runs and steps, merge graphs, export node-link JSON.

    A new graph is a ``_Draft`` until ``graph`` is first read (a query, a merge, MLflow's
    payload): a run records and writes its graph without importing networkx, which costs a
    run more than every other import of ``dagwright run`` together.
    """

    def __init__(self, graph: Any = None) -> None:
        self._graph: Any = graph if graph is not None else _Draft()

    @property
    def graph(self) -> Any:
        """The networkx ``MultiDiGraph`` (made from the draft on first use)."""
        if isinstance(self._graph, _Draft):
            self._graph = self._graph.to_networkx()
        return self._graph

    # building

    def add_run(self, run_id: str, pipeline: str, params: dict[str, Any], **attrs: Any) -> str:
        """Add a run and the parameters it used; its node id."""
        node = run_node(run_id)
        self._graph.add_node(node, kind="run", run_id=run_id, pipeline=pipeline, **attrs)
        self.add_params(node, params)
        return node

    def add_params(self, owner: str, params: dict[str, Any]) -> None:
        """Link a run or step to the parameter values it used."""
        for name, value in params.items():
            self._link(owner, self._param(name, value), USED)

    def node(self, node: str) -> dict[str, Any]:
        """The attributes of ``node`` (without making the networkx graph)."""
        attrs: dict[str, Any] = self._graph.nodes[node]
        return attrs

    def finish_run(self, run_id: str, **attrs: Any) -> None:
        """Set the run's end attributes (status, end time)."""
        self._graph.nodes[run_node(run_id)].update(attrs)

    def add_step(
        self,
        run_id: str,
        label: str,
        *,
        task: str,
        component: str,
        component_digest: str,
        status: str,
        inputs: dict[str, Any] | None,
        outputs: dict[str, Any] | None,
        cache_key: str | None = None,
        cached: bool = False,
        **attrs: Any,
    ) -> str:
        """Record one step execution: what it used and what it generated.

        Args:
            inputs: ``{"parameters": {...}, "artifacts": {name: artifact dict or list}}``.
            outputs: Values by name and artifacts as dicts (``Artifact.to_dict()``).
        """
        from dagwright.redact import redact_uri

        node = step_node(run_id, label)
        self._graph.add_node(
            node,
            kind="step",
            run_id=run_id,
            task=task,
            label=label,
            component=component,
            component_digest=component_digest,
            status=status,
            cache_key=cache_key or "",
            cached=cached,
            **attrs,
        )
        self._link(node, run_node(run_id), STARTED_BY)
        used: list[str] = []
        for name, value in (inputs or {}).get("parameters", {}).items():
            self._link(node, self._param(name, value), USED)
        for value in (inputs or {}).get("artifacts", {}).values():
            for artifact in value if isinstance(value, list) else [value]:
                used.append(self._artifact(artifact))
                self._link(node, used[-1], USED)
                for maker in self._makers(used[-1], redact_uri(artifact.get("uri", ""))):
                    self._link(node, maker, INFORMED_BY)
        for value in (outputs or {}).values():
            if isinstance(value, dict) and "uri" in value:
                made = self._artifact(value)
                self._link(made, node, GENERATED_BY, uri=redact_uri(value.get("uri", "")))
                for source in used:
                    if source != made:
                        self._link(made, source, DERIVED_FROM)
        return node

    def merge(self, other: Lineage) -> None:
        """Add another graph's nodes and edges (one node per artifact content)."""
        for node, attrs in other.graph.nodes(data=True):
            if node in self._graph and "uris" in attrs:
                known = self._graph.nodes[node].setdefault("uris", [])
                known.extend(u for u in attrs["uris"] if u not in known)
            else:
                self._graph.add_node(node, **attrs)
        for up, down, attrs in other.graph.edges(data=True):
            self._link(up, down, **attrs)

    # reading and writing

    def to_json(self) -> dict[str, Any]:
        """The graph as node-link JSON data."""
        if isinstance(self._graph, _Draft):
            return self._graph.node_link_data()
        import networkx as nx

        data: dict[str, Any] = nx.node_link_data(self._graph, edges="edges")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Lineage:
        """The graph from node-link JSON data."""
        import networkx as nx

        return cls(nx.node_link_graph(data, directed=True, multigraph=True, edges="edges"))

    # helpers

    def _link(self, up: str, down: str, relation: str, **attrs: Any) -> None:
        if not self._graph.has_edge(up, down, key=relation):
            self._graph.add_edge(up, down, key=relation, relation=relation, **attrs)

    def _param(self, name: str, value: Any) -> str:
        from dagwright.redact import shown

        value = shown(name, value)  # a secret is never in the graph, nor its hash
        node = param_node(name, value)
        if node not in self._graph:
            text = json.dumps(value, sort_keys=True, default=str)
            self._graph.add_node(node, kind="parameter", name=name, value=text)
        return node

    def _artifact(self, artifact: dict[str, Any]) -> str:
        from dagwright.redact import redact_uri

        node = artifact_node(artifact)
        uri = redact_uri(artifact.get("uri", ""))
        if node in self._graph:
            uris = self._graph.nodes[node].setdefault("uris", [])
            if uri and uri not in uris:
                uris.append(uri)
        else:
            digest = artifact.get("digest") or ""
            self._graph.add_node(
                node,
                kind="artifact",
                digest=digest,
                type=artifact.get("type", "Artifact"),
                name=artifact.get("name", ""),
                uris=[uri] if uri else [],
                version=digest[:12],
            )
        return node

    def _makers(self, artifact: str, uri: str) -> list[str]:
        """The steps that generated this content; the one that wrote ``uri`` when known, as
        two steps writing the same bytes share one artifact node."""
        makers = [
            (down, attrs.get("uri", ""))
            for _, down, relation, attrs in self._graph.out_edges(artifact, keys=True, data=True)
            if relation == GENERATED_BY
        ]
        exact = [step for step, made_at in makers if uri and made_at == uri]
        return exact or [step for step, _ in makers]


class _Draft:
    """The part of a networkx ``MultiDiGraph`` that recording a run uses, kept as networkx
    keeps it: nodes, each node's successors and their edge keys, and the edges, each in the
    order first added, so ``to_networkx`` and ``node_link_data`` give what networkx would
    have (the same JSON, the same iteration orders)."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.succ: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        self.order: list[tuple[str, str, str]] = []

    def __contains__(self, node: object) -> bool:
        return node in self.nodes

    def add_node(self, node: str, **attrs: Any) -> None:
        if node not in self.nodes:
            self.nodes[node] = {}
            self.succ[node] = {}
        self.nodes[node].update(attrs)

    def has_edge(self, up: str, down: str, key: str) -> bool:
        return key in self.succ.get(up, {}).get(down, {})

    def add_edge(self, up: str, down: str, key: str, **attrs: Any) -> None:
        self.add_node(up)
        self.add_node(down)
        keys = self.succ[up].setdefault(down, {})
        if key not in keys:
            keys[key] = {}
            self.order.append((up, down, key))
        keys[key].update(attrs)

    def out_edges(
        self, node: str, keys: bool, data: bool
    ) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        # the one form Lineage reads: with keys and data
        for down, found in self.succ[node].items():
            for key, attrs in found.items():
                yield node, down, key, attrs

    def node_link_data(self) -> dict[str, Any]:
        """``networkx.node_link_data(graph, edges="edges")`` of the graph this stands for."""
        return {
            "directed": True,
            "multigraph": True,
            "graph": {},
            "nodes": [{**attrs, "id": node} for node, attrs in self.nodes.items()],
            "edges": [
                {**attrs, "source": up, "target": down, "key": key}
                for up, downs in self.succ.items()
                for down, found in downs.items()
                for key, attrs in found.items()
            ],
        }

    def to_networkx(self) -> Any:
        """The ``MultiDiGraph``, its nodes and edges added in the order they were here."""
        import networkx as nx

        graph = nx.MultiDiGraph()
        graph.add_nodes_from(self.nodes.items())
        graph.add_edges_from(
            (up, down, key, self.succ[up][down][key]) for up, down, key in self.order
        )
        return graph
