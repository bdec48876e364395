"""The pipeline page's file: the DAG of a dagwright IR or a KFP pipeline YAML sent to
``POST /api/pipeline``, before anything runs.

The file is read as data only: JSON, or YAML with PyYAML's safe loader, then dagwright's IR
reader (``PipelineIR.from_dict`` and validation) or the KFP importer (``sources/kfp``), given
the parsed documents, never a path (a one-line body could name a file of the server). A
Python file is refused: importing it would run the sender's code in the server, so the fix
named is ``dagwright inspect FILE --html OUT``, which runs it in the user's own process.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from pathlib import Path
from typing import Any

from starlette.requests import Request

from dagwright.errors import ValidationError
from dagwright.redact import redact_text

MAX_BYTES = 5 * 1024 * 1024  # a KFP YAML of a few hundred steps is well under 1 MB
DRAIN_BYTES = 8 * MAX_BYTES  # read and dropped before the 413; beyond, the connection closes
FIELD = "body"
_KFP_KEYS = ("pipelineInfo", "pipelineSpec", "pipeline_spec")
# lines only a Python file starts with (YAML refuses `@` and reads the others as text)
_PYTHON = re.compile(
    r"^(?:from\s+[\w.]+\s+import\s|import\s+\w|def\s+\w+\s*\(|class\s+\w+|@[\w.]+|if\s+__name__)",
    re.M,
)
_INSPECT = "run 'dagwright inspect FILE --html OUT' and open OUT: it draws a Python pipeline"


class TooLarge(ValidationError):
    """A body over ``MAX_BYTES`` (413)."""


def too_large() -> TooLarge:
    """The refusal of a body over ``MAX_BYTES``."""
    return TooLarge(
        f"the file is over {MAX_BYTES // (1024 * 1024)} MB",
        field=FIELD,
        fix="give the IR ('dagwright compile --target ir') or the KFP YAML of one pipeline",
    )


async def read_body(request: Request) -> bytes:
    """The request's body, refused once it is over ``MAX_BYTES``.

    A body a little too large is still read to its end (and dropped), so that the client,
    still sending, gets the 413 rather than a reset connection; one over ``DRAIN_BYTES`` is
    refused at once. No more than ``MAX_BYTES`` is ever held.
    """
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > DRAIN_BYTES:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > DRAIN_BYTES:
            raise too_large()
        if size <= MAX_BYTES:
            chunks.append(chunk)
    if size > MAX_BYTES:
        raise too_large()
    return b"".join(chunks)


def pipeline_view(body: bytes, name: str | None = None) -> dict[str, Any]:
    """``{"pipeline": name, "graph": pipeline_graph(...)}`` of the file's text.

    Args:
        body: The file's bytes (UTF-8).
        name: The file's name when the page gives it (``?name=``): only its suffix is read.

    Raises:
        ValidationError: the file is Python, not JSON or YAML, neither an IR nor a KFP
            pipeline, or one the IR's validation or the KFP importer refuses.
    """
    from dagwright.ui.graph import pipeline_graph

    if name and Path(name).suffix.lower() in (".py", ".pyw", ".ipynb"):
        raise _python(name)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            "the file is not UTF-8 text", field=FIELD, fix="give a JSON or YAML file"
        ) from None
    try:
        ir = _read(text)
    except ValidationError as exc:  # a message may quote the file: URI passwords out
        # the API's error shows the problem only: where it is found goes in front of it
        where = [f"{k} '{v}'" for k in ("pipeline", "task", "block") if (v := getattr(exc, k))]
        raise ValidationError(
            redact_text((", ".join(where) + ": " if where else "") + exc.problem),
            # the importer's FILE is the command line's argument: here the file is the body
            field=FIELD if exc.field in (None, "FILE") else exc.field,
            fix=redact_text(exc.fix) if exc.fix else None,
        ) from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # a shape the reader's checks let through: the file's fault, still the reader's gap,
        # so the server's terminal keeps the traceback and the user gets a 400
        print(redact_text(traceback.format_exc()), file=sys.stderr, flush=True)
        raise ValidationError(
            redact_text(f"the file could not be read as a pipeline ({type(exc).__name__}: {exc})")[
                :300
            ],
            field=FIELD,
            fix="give the file as its compiler wrote it (not changed by hand, not cut short)",
        ) from None
    data = ir.to_dict()
    return {"pipeline": data["name"], "graph": pipeline_graph(data)}


def _read(text: str) -> Any:
    """The validated ``PipelineIR`` of an IR or a KFP pipeline's text."""
    from dagwright.pipelines.ir import PipelineIR
    from dagwright.pipelines.validate import validate_ir

    documents = _documents(text)
    first = documents[0] if documents else None
    if not isinstance(first, dict):
        if _PYTHON.search(text):
            raise _python(None)
        kind = type(first).__name__ if documents else "nothing"
        raise _neither(f"the file holds {kind}, not a mapping")
    if any(key in first for key in _KFP_KEYS):
        from dagwright.sources.kfp import import_pipeline

        return import_pipeline(documents)  # parsed documents: never read as a path
    if "apiVersion" in first or "kind" in first:
        ir = PipelineIR.from_dict(first)
        validate_ir(ir)
        return ir
    raise _neither("the file has neither an IR's apiVersion and kind nor KFP's pipelineInfo")


def _documents(text: str) -> list[Any]:
    """The parsed documents: JSON when the text is JSON, else YAML (safe loader)."""
    if text.lstrip().startswith(("{", "[")):
        try:
            return [json.loads(text)]
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            raise ValidationError(
                f"the file is not JSON ({exc.msg} at {where})",
                field=FIELD,
                fix="give the file 'dagwright compile --target ir -o FILE.json' wrote",
            ) from None
        except RecursionError:
            raise _too_deep() from None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        if "&" in text and _has_alias(text, loader):
            # neither kfp nor dagwright writes aliases; one can stand for exponentially much
            raise ValidationError(
                "the YAML uses aliases (*name), which neither KFP nor dagwright writes",
                field=FIELD,
                fix="give the file as its compiler wrote it",
            )
        return [doc for doc in yaml.load_all(text, Loader=loader) if doc is not None]
    except yaml.YAMLError as exc:
        if _PYTHON.search(text):
            raise _python(None) from None
        raise ValidationError(
            f"the file is neither JSON nor YAML ({_first_line(exc)})",
            field=FIELD,
            fix="give a dagwright IR (JSON or YAML) or the YAML kfp's compiler wrote",
        ) from None
    except RecursionError:
        raise _too_deep() from None


def _has_alias(text: str, loader: Any) -> bool:
    import yaml

    return any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=loader))


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


def _python(name: str | None) -> ValidationError:
    shown = f"'{Path(name).name}' is" if name else "the file is"
    return ValidationError(
        f"{shown} Python: the UI draws data (an IR or a KFP YAML) and never runs a file's code",
        field=FIELD,
        fix=_INSPECT,
    )


def _neither(why: str) -> ValidationError:
    return ValidationError(
        f"not a dagwright IR nor a KFP pipeline: {why}",
        field=FIELD,
        fix="give the file 'dagwright compile --target ir' or kfp.compiler.Compiler().compile "
        "wrote",
    )


def _too_deep() -> ValidationError:
    return ValidationError(
        "the file is nested too deeply to be a pipeline", field=FIELD, fix="give a pipeline file"
    )
