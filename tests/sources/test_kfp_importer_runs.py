"""An imported ``dsl.importer`` runs as dagwright's importer step: its component carries both
the KFP executor and ``importer``, and neither the container preflight nor the KFP step
executor may take it for a container component (no Docker runs here, and no flag is given)."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

kfp_dsl = pytest.importorskip("kfp.dsl")
dsl = kfp_dsl

from kfp.dsl import Dataset, Input  # noqa: E402

import dagwright  # noqa: E402


@dsl.component
def read_text(data: Input[Dataset]) -> str:
    with open(data.path) as f:
        return f.read().strip() + "|" + str(data.metadata.get("origin"))


@dsl.pipeline
def imports_a_file(uri: str) -> str:
    found = dsl.importer(artifact_uri=uri, artifact_class=Dataset, metadata={"origin": "lab"})
    return read_text(data=found.output).output


def test_an_imported_importer_runs_without_docker_or_the_host_flag(
    tmp_path: Path, compiled: Callable[[Any], Path]
) -> None:
    source = tmp_path / "measurements.txt"
    source.write_text("42\n")
    result = dagwright.run(
        str(compiled(imports_a_file)), uri=str(source), root=str(tmp_path / "store")
    )
    assert result.status == "succeeded"
    assert result.outputs == {"Output": "42|lab"}


@dsl.component
def make_name() -> str:
    return "the_name"


@dsl.component
def read_metadata(data: Input[Dataset]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(data.metadata.items()))


@dsl.pipeline
def imports_with_a_computed_key(uri: str) -> str:
    name = make_name()
    # KFP compiles a pipeline value used as a KEY to the key "{{$.inputs.parameters['metadata']}}"
    found = dsl.importer(
        artifact_uri=uri, artifact_class=Dataset, metadata={name.output: name.output}
    )
    return read_metadata(data=found.output).output


def test_a_metadata_key_from_a_pipeline_value_is_filled(
    tmp_path: Path, compiled: Callable[[Any], Path]
) -> None:
    source = tmp_path / "measurements.txt"
    source.write_text("42\n")
    result = dagwright.run(
        str(compiled(imports_with_a_computed_key)),
        uri=str(source),
        root=str(tmp_path / "store"),
    )
    assert result.status == "succeeded"
    # as kfp.local: the key is the value, not the placeholder
    assert result.outputs == {"Output": "the_name=the_name"}
