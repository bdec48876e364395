"""A KFP v2 pipeline written with kfp.dsl and compiled by kfp's own compiler, for the tests of
the pipeline page's file (``POST /api/pipeline``): an If on a secret-named parameter, a
ParallelFor, four component tasks.

No ``from __future__ import annotations``: kfp reads the components' annotations as types.
"""

from pathlib import Path

KFP_TASKS = {"double", "double-2", "double-3", "report"}
KFP_SECRET = "kfp-Zq7Lm93Xw"  # compared with the api_token parameter: never shown


def write_kfp_yaml(path: Path) -> Path:
    """Compile the pipeline with kfp into ``path``."""
    from kfp import compiler, dsl

    @dsl.component(base_image="python:3.11")
    def double(x: int) -> int:
        return 2 * x

    @dsl.component(base_image="python:3.11")
    def report(x: int) -> str:
        return str(x)

    @dsl.pipeline(name="small-kfp")
    def small_kfp(x: int = 1, api_token: str = "unset"):
        first = double(x=x)
        with dsl.If(api_token == KFP_SECRET):
            double(x=first.output)
        with dsl.ParallelFor([1, 2]) as item:
            double(x=item)
        report(x=first.output)

    compiler.Compiler().compile(small_kfp, str(path))
    return path
