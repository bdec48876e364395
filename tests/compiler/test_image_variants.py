"""Image delivery with per-task variants and importers: a pod importing a component from the
project image accepts a task's own variant of it (same code, the task's options), and still
refuses another version of the code; the project Dockerfile has nothing to copy for an
importer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import kfp_corpus as corpus
import pytest

import dagwright
from dagwright import Resources, Retry, ValidationError
from dagwright.compiler.dockerfile import dockerfile
from dagwright.executor import Step, run_step

ROOT = Path(__file__).resolve().parents[2]


def test_a_tasks_variant_runs_from_the_image_and_a_changed_code_does_not() -> None:
    variant = dataclasses.replace(
        corpus.square.spec, retry=Retry(limit=2), resources=Resources(cpu_limit="1")
    )
    carried = dataclasses.replace(variant, source="")  # what an image-mode pod receives
    step = Step(carried, "square", parameters={"x": 4}, digest=variant.digest)
    assert run_step(step).values == {"output": 16}
    edited = dataclasses.replace(variant, source=variant.source + "\n# edited\n")
    stale = Step(carried, "square", parameters={"x": 4}, digest=edited.digest)
    with pytest.raises(ValidationError, match="another version"):
        run_step(stale)


@dagwright.component
def size(data: dagwright.Input[dagwright.Dataset]) -> int:
    return len(data.path)


@dagwright.pipeline
def imported() -> int:
    return size(data=dagwright.importer("s3://bucket/rows.csv").output).output


def test_dockerfile_skips_importers_and_copies_their_readers_module() -> None:
    lines = dockerfile(dagwright.api.to_ir(imported), ROOT).splitlines()
    copies = [line for line in lines if line.startswith("COPY")]
    assert copies == ["COPY tests/compiler/test_image_variants.py /app/test_image_variants.py"]
