"""A layered, top-to-bottom layout of a graph whose nodes may sit inside nested blocks.

Each block (the top level too) is laid out on its own, innermost first: its children (tasks and
the boxes of its child blocks, already sized) go in layers by networkx's topological
generations, over the edges lifted to that block (an edge between two nodes inside different
children joins those children, as ``pipelines/blocks.py`` lifts dependencies); a few
barycentre sweeps order each layer to cut crossings; then each member is placed under (and
over) the mean of its neighbours as nearly as the layer's order and gaps allow. A block's box
is its children's extent plus a header for its label and padding, so boxes nest and nothing
overlaps. Coordinates are the top-left corner of each node and box (SVG's ``rect``), in
pixels; every edge of an acyclic graph goes from a node above to a node below.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from typing import Any

import networkx as nx

NODE_W = 180.0  # a task's box; labels longer than it are the page's to cut
NODE_H = 36.0
GAP_X = 24.0  # between neighbours in a layer
GAP_Y = 40.0  # between layers: room for the edges
PAD = 12.0  # inside a block's box, around its children
HEADER = 22.0  # a block's label, above its children
MARGIN = 16.0  # around the whole drawing
CHAR_W = 7.0  # a block is wide enough for its label in the page's font, up to MAX_LABEL_W
MAX_LABEL_W = 420.0
SWEEPS = 4  # down, up, down, up: most crossings a barycentre ordering removes go early

Node = dict[str, Any]


def layout(nodes: list[Node], edges: list[dict[str, Any]]) -> dict[str, Any]:
    """Give every node ``x``, ``y``, ``w``, ``h`` (in place) and return the graph JSON.

    Args:
        nodes: Dicts with ``id``, ``kind`` (``"block"`` for a box holding others) and
            ``parent`` (the enclosing block's id, or None); an unknown parent counts as the
            top level. Order matters: it is the starting order of each layer.
        edges: Dicts with ``source`` and ``target`` node ids (others are dropped).

    Returns:
        ``{"nodes": nodes, "edges": edges, "width": float, "height": float}``.
    """
    ids = {node["id"] for node in nodes}
    blocks = {node["id"] for node in nodes if node.get("kind") == "block"}
    parent = {
        node["id"]: node.get("parent") if node.get("parent") in blocks else None for node in nodes
    }
    for block in blocks:
        _cut_cycle(block, parent)
    children: dict[str | None, list[str]] = defaultdict(list)
    for node in nodes:
        children[parent[node["id"]]].append(node["id"])
    kept = [e for e in edges if e["source"] in ids and e["target"] in ids]
    lifted = _lifted(kept, _chains(parent))
    by_id = {node["id"]: node for node in nodes}
    size: dict[str, tuple[float, float]] = {}
    offsets: dict[str, tuple[float, float]] = {}  # relative to the enclosing block's origin
    inside_out = _innermost_first(children, blocks)
    spare: dict[str, float] = {}  # a block wider than its children (its label): centres them
    for block in [*inside_out, None]:
        members = children.get(block, [])
        for member in members:
            size.setdefault(member, (NODE_W, NODE_H))
        inner_w, inner_h = _place(members, lifted.get(block, ()), size, offsets)
        if block is not None:
            label = min(len(str(by_id[block].get("label") or "")) * CHAR_W, MAX_LABEL_W)
            width = max(inner_w, label, NODE_W)
            spare[block] = (width - inner_w) / 2
            size[block] = (width + 2 * PAD, HEADER + inner_h + PAD)
    width, height = _inner_size(children.get(None, []), size, offsets)
    origin: dict[str | None, tuple[float, float]] = {None: (MARGIN, MARGIN)}
    for block in [None, *reversed(inside_out)]:
        ox, oy = origin[block]
        for member in children.get(block, []):
            dx, dy = offsets[member]
            x, y = ox + dx, oy + dy
            w, h = size[member]
            by_id[member].update(x=x, y=y, w=w, h=h)
            if member in blocks:
                origin[member] = (x + PAD + spare[member], y + HEADER)
    return {
        "nodes": nodes,
        "edges": kept,
        "width": width + 2 * MARGIN if nodes else 0.0,
        "height": height + 2 * MARGIN if nodes else 0.0,
    }


def _chains(parent: dict[str, str | None]) -> dict[str, list[str]]:
    """Each node's enclosing blocks, outermost first, ending with the node itself."""
    chains: dict[str, list[str]] = {}
    for node in parent:
        path: list[str] = []
        at: str | None = node
        while at is not None and at not in chains:
            path.append(at)
            at = parent[at]
        above = chains[at] if at is not None else []
        for inner in reversed(path):
            above = [*above, inner]
            chains[inner] = above
    return chains


def _cut_cycle(block: str, parent: dict[str, str | None]) -> None:
    """A block among its own ancestors (a malformed IR) moves to the top level."""
    seen = {block}
    up = parent[block]
    while up is not None:
        if up in seen:
            parent[block] = None
            return
        seen.add(up)
        up = parent[up]


def _lifted(
    edges: list[dict[str, Any]], chains: dict[str, list[str]]
) -> dict[str | None, set[tuple[str, str]]]:
    """The edges between siblings that stand for each edge, by the block holding them."""
    found: dict[str | None, set[tuple[str, str]]] = defaultdict(set)
    for edge in edges:
        up, down = chains[edge["source"]], chains[edge["target"]]
        common = 0
        while common < len(up) and common < len(down) and up[common] == down[common]:
            common += 1
        if common == len(up) or common == len(down):
            continue  # one holds the other: no edge between siblings stands for it
        found[up[common - 1] if common else None].add((up[common], down[common]))
    return found


def _innermost_first(children: dict[str | None, list[str]], blocks: set[str]) -> list[str]:
    """Blocks in post-order (children before their block), from the top level down."""
    order: list[str] = []
    stack: list[tuple[str | None, bool]] = [(None, False)]
    while stack:
        block, done = stack.pop()
        if done:
            if block is not None:
                order.append(block)
            continue
        stack.append((block, True))
        stack.extend((c, False) for c in reversed(children.get(block, [])) if c in blocks)
    return order


def _layers(members: list[str], edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Members in layers: each after every member it depends on (a cycle shares a layer)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(members)
    graph.add_edges_from(edges)
    if nx.is_directed_acyclic_graph(graph):
        generations: Iterable[Iterable[Hashable]] = nx.topological_generations(graph)
        return [list(map(str, layer)) for layer in generations]
    condensed = nx.condensation(graph)  # only a malformed IR has a cycle; draw it anyway
    return [
        [str(n) for scc in layer for n in condensed.nodes[scc]["members"]]
        for layer in nx.topological_generations(condensed)
    ]


def _ordered(
    layers: list[list[str]],
    ups: dict[str, list[str]],
    downs: dict[str, list[str]],
    start: dict[str, int],
) -> list[list[str]]:
    """Barycentre sweeps: each member moves to the mean position of its neighbours in the
    layers already placed (positions as fractions of their layer's width)."""
    layers = [sorted(layer, key=start.__getitem__) for layer in layers]
    position = {m: (i + 0.5) / len(layer) for layer in layers for i, m in enumerate(layer)}
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        neighbours = ups if downward else downs
        sequence = layers[1:] if downward else list(reversed(layers[:-1]))
        for layer in sequence:
            keys = {}
            for member in layer:
                near = neighbours.get(member)
                keys[member] = (
                    sum(position[n] for n in near) / len(near) if near else position[member]
                )
            layer.sort(key=keys.__getitem__)  # stable: ties keep their order
            for i, member in enumerate(layer):
                position[member] = (i + 0.5) / len(layer)
    return layers


def _place(
    members: list[str],
    edges: Iterable[tuple[str, str]],
    size: dict[str, tuple[float, float]],
    offsets: dict[str, tuple[float, float]],
) -> tuple[float, float]:
    """Offsets of one block's members from its origin; the width and height they take."""
    if not members:
        return 0.0, 0.0
    edges = list(edges)
    ups: dict[str, list[str]] = defaultdict(list)
    downs: dict[str, list[str]] = defaultdict(list)
    for up, down in edges:
        ups[down].append(up)
        downs[up].append(down)
    start = {m: i for i, m in enumerate(members)}
    layers = _ordered(_layers(members, edges), ups, downs, start)
    centre = _centres(layers, ups, downs, size)
    left = min(centre[m] - size[m][0] / 2 for m in members)
    width = max(centre[m] + size[m][0] / 2 for m in members) - left
    y = 0.0
    for layer in layers:
        for member in layer:
            offsets[member] = (centre[member] - size[member][0] / 2 - left, y)
        y += max(size[m][1] for m in layer) + GAP_Y
    return width, y - GAP_Y


def _centres(
    layers: list[list[str]],
    ups: dict[str, list[str]],
    downs: dict[str, list[str]],
    size: dict[str, tuple[float, float]],
) -> dict[str, float]:
    """Each member's horizontal centre: under (then over, then under again) the mean of its
    neighbours, as near as the layer's order and the gaps allow (a least-squares fit)."""
    centre: dict[str, float] = {}
    for layer in layers:  # start packed, each layer centred on 0
        x = -(sum(size[m][0] for m in layer) + GAP_X * (len(layer) - 1)) / 2
        for member in layer:
            centre[member] = x + size[member][0] / 2
            x += size[member][0] + GAP_X
    passes = [(layers[1:], ups), (list(reversed(layers[:-1])), downs), (layers[1:], ups)]
    for sequence, neighbours in passes:
        for layer in sequence:
            wanted, weights = [], []
            for member in layer:
                near = neighbours.get(member)
                wanted.append(sum(centre[n] for n in near) / len(near) if near else centre[member])
                weights.append(1.0 if near else 0.01)  # no neighbour there: stay about put
            for member, placed in zip(layer, _fit(layer, wanted, weights, size), strict=True):
                centre[member] = placed
    return centre


def _fit(
    layer: list[str],
    wanted: list[float],
    weights: list[float],
    size: dict[str, tuple[float, float]],
) -> list[float]:
    """Centres in the layer's order, at least a gap apart, nearest ``wanted`` (weighted least
    squares): isotonic regression by pooling adjacent violators, on the centres less the
    room the members before each take."""
    room, before = [], 0.0
    for i, member in enumerate(layer):
        if i:
            before += (size[layer[i - 1]][0] + size[member][0]) / 2 + GAP_X
        room.append(before)
    pools: list[list[float]] = []  # [value, weight, count]
    for target, weight, taken in zip(wanted, weights, room, strict=True):
        pools.append([target - taken, weight, 1])
        while len(pools) > 1 and pools[-2][0] > pools[-1][0]:
            value, weight_b, count = pools.pop()
            pools[-1] = [
                (pools[-1][0] * pools[-1][1] + value * weight_b) / (pools[-1][1] + weight_b),
                pools[-1][1] + weight_b,
                pools[-1][2] + count,
            ]
    fitted = [value for value, _, count in pools for _ in range(int(count))]
    return [value + taken for value, taken in zip(fitted, room, strict=True)]


def _inner_size(
    members: list[str],
    size: dict[str, tuple[float, float]],
    offsets: dict[str, tuple[float, float]],
) -> tuple[float, float]:
    """The extent of the top level's members."""
    if not members:
        return 0.0, 0.0
    return (
        max(offsets[m][0] + size[m][0] for m in members),
        max(offsets[m][1] + size[m][1] for m in members),
    )
