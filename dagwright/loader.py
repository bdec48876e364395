"""Find the pipeline a command means: ``FILE.py[:NAME]``, a saved IR file or a KFP pipeline
YAML (read by ``dagwright.sources.kfp``; a ``@kfp.dsl.pipeline`` in a ``.py`` file is compiled
by kfp in this process, then read the same way)."""

from __future__ import annotations

import importlib.util
import re
import sys
import traceback
from pathlib import Path
from typing import Any

from dagwright.errors import ValidationError
from dagwright.extras import extra_missing, install_hint
from dagwright.tracebacks import user_frames

IR_SUFFIXES = (".yaml", ".yml", ".json")
# a top-level key only KFP's files have (an IR's keys are apiVersion, kind, name...): YAML at
# column 0, JSON as written with any indent; or, at column 0 of YAML only, a key or the
# comment kfp.compiler writes before pipelineInfo, so a file cut short is still told as KFP
# (its error then names KFP's YAML, not an IR); the importer then checks the whole document
_KFP_KEYS = "pipelineInfo|pipelineSpec|pipeline_spec"
_KFP_YAML = "deploymentSpec|schemaVersion|sdkVersion"
_KFP_KEY = re.compile(
    rf'^(?:(?:{_KFP_KEYS}|{_KFP_YAML})\s*:|\s*"(?:{_KFP_KEYS})"\s*:|# PIPELINE DEFINITION\s*$)',
    re.M,
)


def load_pipeline(reference: str) -> Any:
    """A @pipeline, Pipeline builder or PipelineIR named by ``reference`` (``FILE.py[:NAME]``,
    an IR file or a KFP pipeline YAML).

    Raises:
        ValidationError: the file does not exist, cannot be imported (a syntax error, a missing
            module, any error while it runs: shown from the user's frames only), holds no
            pipeline, or holds several and ``reference`` does not say which.
    """
    path_text, name = reference, None
    if ":" in reference and not reference.endswith((".py", *IR_SUFFIXES)):
        path_text, name = reference.rsplit(":", 1)
    path = Path(path_text)
    if not path.is_file():
        raise ValidationError(
            f"no such file '{path_text}'",
            field="FILE",
            fix="give a pipeline module (.py) or an IR file (.yaml/.json)",
        )
    if path.suffix in IR_SUFFIXES:
        return read_spec_file(path)
    found = _pick(_import_file(path), name, path_text)
    if is_kfp_component(found):
        from dagwright.sources.kfp import import_pipeline

        return import_pipeline(found)
    return found


def read_spec_file(path: str | Path) -> Any:
    """The PipelineIR of an IR file or of a KFP pipeline YAML (told apart by its keys)."""
    from dagwright.pipelines.ir import PipelineIR

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if _KFP_KEY.search(text):
        from dagwright.sources.kfp import import_pipeline

        return import_pipeline(text)
    return PipelineIR.from_json(text) if path.suffix == ".json" else PipelineIR.from_yaml(text)


def is_kfp_pipeline(obj: Any) -> bool:
    """Is ``obj`` a ``@kfp.dsl.pipeline`` (a GraphComponent)? Known without importing kfp."""
    if not any(cls.__module__.startswith("kfp.") for cls in type(obj).__mro__):
        return False  # most objects: the importer is not even loaded
    from dagwright.sources.kfp.document import is_graph_component

    return is_graph_component(obj)


def is_kfp_component(obj: Any) -> bool:
    """Is ``obj`` a kfp pipeline or a lone kfp component (which kfp runs as a one-task
    pipeline)? Known without importing kfp."""
    if not any(cls.__module__.startswith("kfp.") for cls in type(obj).__mro__):
        return False
    from dagwright.sources.kfp.document import is_kfp_component as is_component

    return is_component(obj)


def _import_file(path: Path) -> Any:
    """Import a file as a module named after it, with its folder on sys.path (as python does)."""
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = path.stem
    known = sys.modules.get(name)
    if known is not None and getattr(known, "__file__", None) != str(path.resolve()):
        name = f"_dagwright_file_{name}"  # never shadow an installed module of that name
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValidationError(f"cannot import '{path}'", field="FILE")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ValidationError:
        sys.modules.pop(name, None)
        raise
    except Exception as exc:  # the file itself is wrong: show where, in the user's terms
        sys.modules.pop(name, None)
        error = traceback.format_exception_only(type(exc), exc)[-1].strip()
        raise ValidationError(
            f"'{path}' failed to import ({error})",
            field="FILE",
            fix=f"correct {_where(exc, path)}",
            detail=user_frames(exc),
        ) from exc
    return module


def _where(exc: Exception, path: Path) -> str:
    """``file, line N`` of the error: the SyntaxError's own, else the innermost user frame
    (or the extra to install when the file imports one that is missing)."""
    module = extra_missing(exc)
    if module is not None:
        return f"the environment: {install_hint(module)}"
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}, line {exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    frame = frames[-1] if frames else None
    return f"{frame.filename}, line {frame.lineno}" if frame else str(path)


def _defined_in(obj: Any, module: Any) -> bool:
    """A kfp pipeline defined in ``module`` (one imported to be used inside another is not)."""
    func = getattr(obj, "pipeline_func", None)
    return getattr(func, "__module__", module.__name__) == module.__name__


def _pick(module: Any, name: str | None, where: str) -> Any:
    from dagwright.pipelines.decorator import Pipeline, PipelineDefinition

    found = {
        attr: obj
        for attr, obj in vars(module).items()
        if isinstance(obj, Pipeline)
        # a pipeline imported to be used as a step is not one this file defines
        or (isinstance(obj, PipelineDefinition) and obj.func.__module__ == module.__name__)
        or (is_kfp_pipeline(obj) and _defined_in(obj, module))
    }
    if name is not None:
        for attr, obj in found.items():
            if name in (attr, obj.name):
                return obj
        lone = vars(module).get(name)
        if is_kfp_component(lone):  # a kfp component named on its own: KFP runs it alone
            return lone
        raise ValidationError(
            f"'{where}' has no pipeline '{name}'",
            field="PIPELINE",
            fix=f"use one of {sorted(found)}" if found else "define one",
        )
    if len(found) == 1:
        return next(iter(found.values()))
    if not found:
        lone = sorted(attr for attr, obj in vars(module).items() if is_kfp_component(obj))
        raise ValidationError(
            f"'{where}' defines no pipeline",
            field="FILE",
            fix=f"name a kfp component to run it alone: {where}:{lone[0]}"
            if lone
            else "decorate a function with @pipeline (or @kfp.dsl.pipeline) or build a Pipeline",
        )
    raise ValidationError(
        f"'{where}' defines several pipelines: {sorted(found)}",
        field="PIPELINE",
        fix=f"name one: {where}:{sorted(found)[0]}",
    )
