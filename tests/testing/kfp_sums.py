"""A KFP pipeline for tests/testing/test_run_with_mocks.py, in a module of its own: kfp reads
annotations as objects, which ``from __future__ import annotations`` would turn to text."""

from kfp import dsl


@dsl.component(base_image="python:3.11")
def add(a: int, b: int) -> int:
    return a + b


@dsl.component(base_image="python:3.11")
def double(x: int) -> int:
    return 2 * x


@dsl.pipeline
def sums(a: int = 1) -> int:
    return double(x=add(a=a, b=2).output).output
