"""The tree of frames of a run in progress: which nodes are ready, and when a block instance
or a ParallelFor finishes.

The root frame is the pipeline's top level; entering a block (If, ExitHandler, sub-pipeline)
opens one child frame, a ParallelFor one per item, at most its ``parallelism`` at a time. A
node is ready when every node it depends on in the same frame has finished; when all of a
frame's nodes have, its node in the parent finishes. The dispatch thread alone touches it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from dagwright.engine.frames import Frame, LoopRun
from dagwright.engine.plan import Plan
from dagwright.engine.result import BAD, FAILED, SUCCEEDED
from dagwright.engine.state import Path_


class FrameTree:
    """The frames of one run, and the ``ready`` queue of nodes whose upstream finished."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.ready: deque[tuple[Frame, str]] = deque()
        self.loop_runs: dict[tuple[int, str], LoopRun] = {}

    def enter(
        self,
        block: str | None,
        path: Path_,
        items: dict[str, Any],
        parent: Frame | None,
        node: str | None,
    ) -> None:
        """Open a frame of ``block`` (None: the top level) for ``node`` of ``parent``; its
        nodes without upstream go on the ``ready`` queue."""
        plan = self.plan.blocks[block]
        frame = Frame(
            block,
            path,
            items,
            parent,
            node,
            self.plan.loops_of(block),
            {n: len(plan.upstream[n]) for n in plan.nodes},
            open=len(plan.nodes),
        )
        if not plan.nodes:
            return self._frame_done(frame)
        self.ready.extend((frame, n) for n in plan.nodes if not plan.upstream[n])
        return None

    def start_loop(self, frame: Frame, node: str, values: list[Any], limit: int) -> None:
        """Start the iterations of the ParallelFor ``node`` over ``values``, ``limit`` at a
        time."""
        loop = LoopRun(frame, node, values, limit)
        self.loop_runs[(id(frame), node)] = loop
        return self._next_iterations(loop)

    def finish(self, frame: Frame, node: str, status: str) -> None:
        """``node`` of ``frame`` finished with ``status``: the nodes waiting only on it are
        ready, and the frame is done when it was the last open one."""
        frame.status[node] = status
        frame.bad = frame.bad or status in BAD
        frame.open -= 1
        for downstream in self.plan.blocks[frame.block].downstream[node]:
            frame.waiting[downstream] -= 1
            if frame.waiting[downstream] == 0:
                self.ready.append((frame, downstream))
        if frame.open == 0:
            self._frame_done(frame)

    def _frame_done(self, frame: Frame) -> None:
        parent, node = frame.parent, frame.node
        if parent is None or node is None:
            return
        loop = self.loop_runs.get((id(parent), node))
        if loop is None:
            return self.finish(parent, node, FAILED if frame.bad else SUCCEEDED)
        loop.running -= 1
        loop.bad = loop.bad or frame.bad
        self._next_iterations(loop)
        return None

    def _next_iterations(self, loop: LoopRun) -> None:
        while loop.started < len(loop.values) and loop.running < loop.limit:
            i = loop.started
            loop.started += 1
            loop.running += 1
            frame = loop.frame
            self.enter(
                loop.group,
                (*frame.path, i),
                {**frame.items, loop.group: loop.values[i]},
                frame,
                loop.group,
            )
        if loop.running == 0 and loop.started == len(loop.values):
            del self.loop_runs[(id(loop.frame), loop.group)]
            self.finish(loop.frame, loop.group, FAILED if loop.bad else SUCCEEDED)
