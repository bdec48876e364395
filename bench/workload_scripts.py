"""The workloads of ``python -m bench workloads`` as each tool's users write them.

A 1-step run, a chain of N trivial steps (each adds one to the previous output) and a
1 -> N -> 1 fan (a first step, N steps after it, one step that collects them). dagwright's are
pipeline files run with ``dagwright run FILE.py:pipeline``; each peer's is one script, run as
``python SCRIPT chain|fan N``, that prints ``result <value>`` so the benchmark can check that the
work was done:

- luigi: ``luigi.build(..., local_scheduler=True)``, tasks without output targets that are
  complete once run in the process (no run records; luigi passes no values between tasks, so
  its result is the number of tasks that ran);
- kedro: a ``Pipeline`` of ``node``s run by a ``SequentialRunner`` on a ``DataCatalog`` of
  ``MemoryDataset``s, from a script (what ``kedro run`` does in a project, without the project
  layout, its settings and its hooks);
- dagster: ``@op``s in a ``@job`` run with ``execute_in_process()`` (an ephemeral instance: no
  ``DAGSTER_HOME``, nothing kept);
- prefect: ``@task``s called in a ``@flow`` (the fan with ``.submit``), under ``PREFECT_HOME`` in
  the benchmark's temporary folder, so it starts its own temporary server;
- MLRun: ``mlrun.new_function(kind="local")`` runs of a handler, one per step, the output of one
  passed as a parameter of the next (no API server: nothing kept).
"""

from __future__ import annotations

DAGWRIGHT = """
from dagwright import Collected, ParallelFor, Pipeline, component
from dagwright.runtimes import Local, Process

RUNTIME = {runtime}()


@component(runtime=RUNTIME)
def inc(x: int) -> int:
    return x + 1


@component(runtime=RUNTIME)
def total(xs: list[int]) -> int:
    return sum(xs)


def chain(steps: int) -> Pipeline:
    p = Pipeline(f"chain-{{steps}}")
    prev = p.param("x", int, default=0)
    for _ in range(steps):
        prev = p.add(inc, x=prev).output
    p.output("out", prev)
    return p


def fan(width: int) -> Pipeline:
    p = Pipeline(f"fan-{{width}}")
    start = p.add(inc, x=0)
    with p, ParallelFor(list(range(width))) as i:
        inner = p.add(inc, x=i).after(start)
    p.output("out", p.add(total, xs=Collected(inner.output)).output)
    return p


pipeline = {shape}({size})
"""

LUIGI = '''
import sys

import luigi

RAN = set()


class Trivial(luigi.Task):
    """Done once run in this process: no output target, so no run records."""

    def complete(self):
        return self.task_id in RAN

    def run(self):
        RAN.add(self.task_id)


class Step(Trivial):
    i = luigi.IntParameter()

    def requires(self):
        return Step(i=self.i - 1) if self.i > 0 else []


class Leaf(Trivial):
    i = luigi.IntParameter()

    def requires(self):
        return Step(i=0)


class Total(Trivial):
    width = luigi.IntParameter()

    def requires(self):
        return [Leaf(i=i) for i in range(self.width)]


shape, n = sys.argv[1], int(sys.argv[2])
root = Step(i=n - 1) if shape == "chain" else Total(width=n)
ok = luigi.build([root], local_scheduler=True, log_level="ERROR", workers=1)
print("result", len(RAN) if ok else "failed")
'''

KEDRO = """
import sys

from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline, node
from kedro.runner import SequentialRunner


def inc(x):
    return x + 1


def total(*xs):
    return sum(xs)


shape, n = sys.argv[1], int(sys.argv[2])
if shape == "chain":
    nodes = [node(inc, f"x{i}", f"x{i + 1}", name=f"s{i}") for i in range(n)]
    out = f"x{n}"
else:
    nodes = [node(inc, "x0", "start", name="start")]
    nodes += [node(inc, "start", f"y{i}", name=f"s{i}") for i in range(n)]
    nodes.append(node(total, [f"y{i}" for i in range(n)], "out", name="total"))
    out = "out"
catalog = DataCatalog({"x0": MemoryDataset(0), out: MemoryDataset()})
SequentialRunner().run(Pipeline(nodes), catalog)
print("result", catalog.load(out))
"""

DAGSTER = """
import sys

from dagster import In, job, op


@op(ins={"x": In(int, default_value=0)})
def inc(x: int) -> int:
    return x + 1


@op
def total(xs: list[int]) -> int:
    return sum(xs)


shape, n = sys.argv[1], int(sys.argv[2])


@job(name=f"{shape}_{n}")
def workload():
    if shape == "chain":
        x = inc()
        for _ in range(n - 1):
            x = inc(x)
    else:
        start = inc()
        total([inc(start) for _ in range(n)])


result = workload.execute_in_process()
last = "inc" if shape == "chain" and n == 1 else (f"inc_{n}" if shape == "chain" else "total")
print("result", result.output_for_node(last))
"""

PREFECT = """
import sys

from prefect import flow, task


@task
def inc(x: int) -> int:
    return x + 1


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@flow
def chain(n: int) -> int:
    x = 0
    for _ in range(n):
        x = inc(x)
    return x


@flow
def fan(n: int) -> int:
    start = inc(0)
    return total([inc.submit(start) for _ in range(n)])


shape, n = sys.argv[1], int(sys.argv[2])
print("result", (chain if shape == "chain" else fan)(n))
"""

MLRUN = """
import sys

import mlrun


def inc(context, x: int = 0):
    context.log_result("out", x + 1)


def total(context, xs: list = ()):
    context.log_result("out", sum(xs))


def step(fn, handler, **params):
    run = fn.run(handler=handler, params=params, local=True)
    return run.outputs["out"]


def main(shape, n):
    # MLRun imports this file to find the handler: the runs start only when run as a script
    fn = mlrun.new_function("workload", kind="local", command=__file__)
    if shape == "chain":
        x = 0
        for _ in range(n):
            x = step(fn, "inc", x=x)
        return x
    start = step(fn, "inc", x=0)
    return step(fn, "total", xs=[step(fn, "inc", x=start) for _ in range(n)])


if __name__ == "__main__":
    print("result", main(sys.argv[1], int(sys.argv[2])))
"""

PEERS = {
    "luigi": ("luigi", LUIGI),
    "kedro": ("kedro", KEDRO),
    "dagster": ("dagster", DAGSTER),
    "prefect": ("prefect", PREFECT),
    "mlrun": ("mlrun", MLRUN),
}
"""Each peer's name: its import name (checked in the peer interpreter) and its script."""


def expected(tool: str, shape: str, size: int) -> str:
    """What a script prints after ``result`` when the work was done."""
    if tool == "luigi":  # the number of tasks that ran
        return str(size if shape == "chain" else size + 2)
    if shape == "chain":
        return str(size)
    return str(2 * size)  # the fan: the start step gives 1, each of the N steps 1 + 1
