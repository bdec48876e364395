"""Every shape of ``kfp_pipelines`` run on kfp.local, compared with the outputs worked out by
hand: the evidence behind each shape's ``kfp_local`` note. Not a test (it runs every shape,
about a minute of kfp.local subprocesses); run it by hand:

    python tests/kfp_import/kfp_local_evidence.py [NAME ...]

At the end it prints one line per shape: ``same`` when kfp.local gives the expected outputs
and journal, else what it gave instead, and exits 1 when a shape's recorded note no longer
holds (kfp.local now right where the note says wrong, or the reverse).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from kfp_pipelines import BY_NAME, SAME, SHAPES, Shape, strict  # noqa: E402
from kfp_runs import Finished, kfp_local, on_kfp_local  # noqa: E402


def verdict(shape: Shape, got: Finished) -> str:
    """``same``, or how kfp.local's run differs from the expected one."""
    problems = []
    if shape.succeeds and got.error:
        problems.append(f"fails: {got.error.splitlines()[0][:160]}")
    if not shape.succeeds and not got.error:
        problems.append("succeeds where the run should fail")
    if not got.error and strict(got.outputs) != strict(shape.outputs):
        problems.append(f"outputs {got.outputs!r}, expected {shape.outputs!r}")
    if got.journal != shape.journal:
        problems.append(f"journal {list(got.journal)}, expected {list(shape.journal)}")
    return "; ".join(problems) or SAME


def at_once(journal: Path) -> str:
    """How many loop iterations ran at once, where the steps left it (``hold``)."""
    held = [int(p.read_text()) for p in journal.glob("item-*")] if journal.is_dir() else []
    return f" (at most {max(held)} iterations ran at once)" if held else ""


def main(names: list[str]) -> int:
    chosen = [BY_NAME[n] for n in names] if names else SHAPES
    stale = 0
    lines = []
    with tempfile.TemporaryDirectory(prefix="kfp-local-evidence-") as tmp:
        kfp_local(Path(tmp) / "root")
        for shape in chosen:
            got = on_kfp_local(shape, Path(tmp) / shape.name)
            seen = verdict(shape, got) + at_once(Path(tmp) / shape.name / "kfp-local" / "journal")
            recorded_same = shape.kfp_local == SAME
            holds = seen.startswith(SAME) == recorded_same
            stale += not holds
            flag = "" if holds else "   <-- the recorded note says: " + shape.kfp_local
            lines.append(f"{shape.name}: {seen}{flag}")
    # after kfp.local's own logging, which goes to stdout too
    print("\n".join(["", "kfp.local against the expected outputs:", *lines]))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
