"""``dagwright verify``: a pipeline run here and its compiled KFP spec run under kfp.local, and
every output that differs.

``verify`` runs the pipeline with the local engine (``dagwright.run``, no cache, no lineage)
and compiles it for KFP, then runs the spec under kfp.local in a child process
(``kfp_local.isolated``), and compares the outputs (``compare.rows``, ``values``; a string
naming an artifact of its run by what it names, ``uris``). Both runs
live in one folder: ``root`` when given (kept), else a temporary one removed afterwards.
kfp.local runs its steps as subprocesses of this interpreter with the dagwright imported here:
no image, no network.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from dagwright.errors import ValidationError
from dagwright.extras import require

__all__ = ["Verification", "verify"]

DEFAULT_TIMEOUT = 600.0


@dataclass
class Verification:
    """What ``verify`` found: the rows compared, kfp.local's run, and the local run's id."""

    pipeline: str
    rows: list[Any]  # compare.Row
    kfp_local: Any  # kfp_local.KfpLocalRun
    run_id: str | None  # None when kfp.local could not run the pipeline (nothing ran here)
    root: Path | None  # where both runs were kept; None when removed
    secrets: list[str] = field(default_factory=list)  # secret parameters' values, to mask

    @property
    def not_run(self) -> str | None:
        """Why kfp.local could not run the pipeline, if it could not."""
        from dagwright.verify.kfp_local import NOT_RUN

        return self.kfp_local.reason if self.kfp_local.status == NOT_RUN else None

    @property
    def differs(self) -> list[Any]:
        """The rows whose verdict is not ``same`` (nor ``same (...)``, ``uris.py``)."""
        from dagwright.verify.compare import alike

        return [r for r in self.rows if not alike(r.verdict)]


def verify(
    pipeline: Any,
    params: dict[str, Any] | None = None,
    *,
    root: str | Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    as_text: bool = False,
) -> Verification:
    """Run ``pipeline`` here and its compiled KFP spec under kfp.local, and compare outputs.

    Args:
        pipeline: Anything ``dagwright.run`` takes.
        params: Parameter values (text to parse by type with ``as_text``, as ``-p`` gives).
        root: A folder to keep both runs in (the local store in ``store/``, the spec and
            kfp.local's pipeline root in ``kfp-local/``); default: a temporary one.
        timeout: Seconds kfp.local's run may take before it is killed.
        as_text: ``params`` are command-line text.

    Raises:
        ValidationError: kfp is not installed, a parameter is wrong, the pipeline does not
            compile for KFP, or the steps under kfp.local would have to pip-install dagwright.
    """
    import dagwright
    from dagwright.api import to_ir
    from dagwright.pipelines.arguments import bind_arguments
    from dagwright.redact import secret_values
    from dagwright.verify import compare, kfp_local

    require("kfp.local", field="kfp", needed_for="dagwright verify (kfp.local runs the spec)")
    ir = to_ir(pipeline)
    arguments = bind_arguments(ir, dict(params or {}), as_text=as_text)
    hidden = secret_values(arguments)
    check_installed()
    folder = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="dagwright-verify-"))
    try:
        spec = folder / "kfp-local" / "spec.yaml"
        spec.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # the pin of an unreleased dagwright: under kfp.local the steps use this one
            warnings.simplefilter("ignore")
            dagwright.compile(ir, target="kfp", path=spec)
        given = {k: v for k, v in arguments.items() if v is not None}  # KFP: unset is absent
        theirs = kfp_local.isolated(spec, given, folder / "kfp-local", timeout=timeout)
        if theirs.status == kfp_local.NOT_RUN:  # nothing to compare with: the local run spared
            return Verification(ir.name, [], theirs, None, Path(root) if root else None, hidden)
        store = folder / "store"
        ours = dagwright.run(  # its artifacts in its store, whatever $DAGWRIGHT_ARTIFACTS says
            ir,
            arguments,
            root=store,
            artifacts=str(store / "artifacts"),
            echo=False,
            cache=False,
            lineage=False,
        )
        places = (str(store.resolve()), str((folder / "kfp-local").resolve()))
        found = compare.rows(ir, ours, theirs, places)
    finally:
        if root is None:
            shutil.rmtree(folder, ignore_errors=True)
    kept = Path(root) if root else None
    return Verification(ir.name, found, theirs, ours.run_id, kept, hidden)


def check_installed() -> None:
    """The compiled spec's steps pip-install dagwright and kfp unless both are installed
    distributions here (``compiler/delivery.py``, ``install_command``): refuse instead."""
    for name in ("dagwright", "kfp"):
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise ValidationError(
                f"'{name}' is importable but not installed as a distribution, so each step "
                "under kfp.local would pip-install it from the package index",
                field=name,
                fix="install it into this environment (for dagwright: 'pip install -e .' in "
                "its checkout); the steps then use it as it is",
            ) from None
