"""KFP's PipelineSpec messages (``kfp.pipeline_spec.pipeline_spec_pb2``), without the SDK.

The compiler needs only the protobuf messages, but ``import kfp`` also imports the SDK's DSL
and client (and through it the Kubernetes client): 0.5 s of a 0.8 s whole-process ``dagwright
compile --target kfp`` (``python -m bench compile``). KFP's own runtime mode (``_KFP_RUNTIME``,
which its executor uses in pods) skips them. When kfp is not imported yet, it is imported in
that mode, and the package gets a module ``__getattr__`` that imports what the runtime mode
skipped, in the order kfp's ``__init__`` does, the first time anything else of the package is
asked for (``kfp.Client``, ``from kfp import dsl``, ``from kfp import client``): code of the
same process that uses the SDK afterwards sees the whole package.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from types import ModuleType
from typing import Any

_lock = threading.Lock()


def messages() -> ModuleType:
    """The ``pipeline_spec_pb2`` module.

    Raises:
        ImportError: when kfp (or its pipeline-spec package) is not installed.
    """
    with _lock:
        if "kfp" not in sys.modules:
            _import_runtime_mode()
    return importlib.import_module("kfp.pipeline_spec.pipeline_spec_pb2")


def _import_runtime_mode() -> None:
    before = os.environ.get("_KFP_RUNTIME")
    os.environ["_KFP_RUNTIME"] = "true"
    try:
        kfp = importlib.import_module("kfp")
    finally:
        if before is None:
            del os.environ["_KFP_RUNTIME"]
        else:
            os.environ["_KFP_RUNTIME"] = before
    completed: list[bool] = []

    def complete(name: str) -> Any:
        if not completed and not name.startswith("__"):
            completed.append(True)
            del vars(kfp)["__getattr__"]  # what follows imports submodules: no recursion
            # the order of kfp's __init__: kfp.client needs kfp.dsl imported first
            importlib.import_module("kfp.components")
            importlib.import_module("kfp.dsl")
            vars(kfp)["Client"] = importlib.import_module("kfp.client").Client
            if name in vars(kfp):
                return vars(kfp)[name]
        raise AttributeError(f"module 'kfp' has no attribute {name!r}")

    vars(kfp)["__getattr__"] = complete
