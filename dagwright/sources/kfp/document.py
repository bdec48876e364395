"""Finding the PipelineSpec in what was given: a path, YAML text, a parsed dict or a kfp
``@dsl.pipeline`` (compiled here, in this process, with kfp's own compiler)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagwright.errors import UsageError, ValidationError

SCHEMA_VERSIONS = ("2.0.0", "2.1.0")


@dataclass
class Document:
    """A PipelineSpec with what came beside it."""

    spec: dict[str, Any]
    defaults: dict[str, Any] = field(default_factory=dict)  # PipelineJob runtimeConfig values
    others: list[Any] = field(default_factory=list)  # further YAML documents (platform spec)


def is_pipeline_spec(data: Any) -> bool:
    """Is ``data`` (one parsed YAML document) a KFP PipelineSpec or PipelineJob?"""
    if not isinstance(data, dict):
        return False
    if isinstance(data.get("pipelineSpec"), dict):
        return True
    if isinstance(data.get("pipeline_spec"), dict):  # KFP's API: the spec and platform spec
        return is_pipeline_spec(data["pipeline_spec"])
    return (
        "pipelineInfo" in data
        and "root" in data
        and ("deploymentSpec" in data or "components" in data)
    )


def is_graph_component(obj: Any) -> bool:
    """Is ``obj`` a kfp ``@dsl.pipeline`` (a GraphComponent), without importing kfp?"""
    return any(
        cls.__name__ == "GraphComponent" and cls.__module__.startswith("kfp.")
        for cls in type(obj).__mro__
    )


def is_kfp_component(obj: Any) -> bool:
    """Is ``obj`` any kfp component (a pipeline, a Python, container or YAML component), without
    importing kfp? kfp's compiler compiles a lone component as a one-task pipeline."""
    return any(
        cls.__name__ == "BaseComponent" and cls.__module__.startswith("kfp.")
        for cls in type(obj).__mro__
    )


def read(source: Any) -> Document:
    """The Document of ``source``: a path, YAML or JSON text, parsed documents or a pipeline.

    Raises:
        ValidationError: the text does not parse, is not a PipelineSpec, has a schema
            version this importer does not know, or a part not of the kind kfp writes.
    """
    if is_kfp_component(source):
        return read(compile_graph(source))
    if isinstance(source, Path) or (
        isinstance(source, str)
        and "\n" not in source
        and Path(source).suffix in (".yaml", ".yml", ".json")
    ):
        path = Path(source)
        if not path.is_file():
            raise ValidationError(
                f"no such file '{source}'", field="FILE", fix="give a KFP pipeline YAML"
            )
        return read(path.read_text(encoding="utf-8"))
    if isinstance(source, str):
        documents = _parse(source)
    elif isinstance(source, dict):
        documents = [source]
    elif isinstance(source, list):
        documents = list(source)
    else:
        raise UsageError(
            f"expected a KFP pipeline YAML (path or text) or a @dsl.pipeline, not {source!r}"
        )
    return from_documents(documents)


def _parse(text: str) -> list[Any]:
    import yaml

    # libyaml's loader when PyYAML has it: a KFP file repeats each component's program, and
    # the pure-Python loader takes ~0.5 s for a 50-step chain, 5x libyaml's time
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return [doc for doc in yaml.load_all(text, Loader=loader) if doc is not None]
    except yaml.YAMLError as exc:
        raise ValidationError(
            f"the KFP pipeline does not parse as YAML ({exc})",
            field="FILE",
            fix="compile the pipeline again with kfp.compiler.Compiler().compile (the file was "
            "changed by hand or cut short)",
        ) from None


def from_documents(documents: list[Any]) -> Document:
    """The Document among parsed YAML documents (the first is the pipeline)."""
    if not documents or not is_pipeline_spec(documents[0]):
        raise ValidationError(
            "not a KFP pipeline: a PipelineSpec has pipelineInfo, root and deploymentSpec "
            "(a PipelineJob has pipelineSpec)",
            field="FILE",
            fix="give the file kfp.compiler.Compiler().compile wrote, or a dagwright IR",
        )
    first = documents[0]
    if isinstance(first.get("pipeline_spec"), dict):  # as KFP's API stores a pipeline version
        platform = first.get("platform_spec")
        documents = [first["pipeline_spec"], *([platform] if platform else []), *documents[1:]]
        first = documents[0]
    defaults: dict[str, Any] = {}
    spec = first
    if isinstance(first.get("pipelineSpec"), dict):
        spec = first["pipelineSpec"]
        config = first.get("runtimeConfig", {}) or {}
        defaults = dict(config.get("parameterValues", {}) or {})
        for key, wrapped in (config.get("parameters", {}) or {}).items():  # the older form
            if isinstance(wrapped, dict) and len(wrapped) == 1:
                kind, value = next(iter(wrapped.items()))
                defaults.setdefault(key, int(value) if kind == "intValue" else value)
    version = spec.get("schemaVersion")
    if version not in SCHEMA_VERSIONS:
        raise ValidationError(
            f"PipelineSpec schemaVersion {version!r} cannot be imported",
            field="schemaVersion",
            fix=f"compile the pipeline with kfp 2 (schema {' or '.join(SCHEMA_VERSIONS)})",
        )
    from dagwright.sources.kfp import shape

    shape.check(spec)
    return Document(spec, defaults, list(documents[1:]))


def compile_graph(pipeline: Any) -> str:
    """The YAML kfp's compiler writes for a ``@dsl.pipeline`` (or a lone component), compiled
    in this process."""
    from kfp import compiler

    with tempfile.TemporaryDirectory(prefix="dagwright-kfp-") as folder:
        path = Path(folder) / "pipeline.yaml"
        try:
            compiler.Compiler().compile(pipeline, str(path))
        except Exception as exc:  # kfp's own refusal of the pipeline: the user's to fix
            raise ValidationError(
                f"kfp could not compile pipeline '{getattr(pipeline, 'name', pipeline)}' "
                f"({type(exc).__name__}: {exc})",
                field="PIPELINE",
                fix="correct the pipeline so that kfp.compiler.Compiler().compile accepts it",
            ) from exc
        return path.read_text(encoding="utf-8")
