"""``python -m dagwright.verify.child REQUEST``: kfp.local's side of ``dagwright verify``.

REQUEST is a JSON file naming the spec, its arguments, kfp.local's pipeline root and the file
to write the result to (``KfpLocalRun.to_dict``). Runs in its own process and folder
(``kfp_local.isolated`` starts it); exits 0 whenever it could write a result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dagwright.verify.kfp_local import NOT_RUN, KfpLocalRun, init, run_spec


def main(argv: list[str]) -> int:
    """Run the requested spec under kfp.local and write what it did."""
    request = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    try:
        init(request["pipeline_root"])
        run = run_spec(request["spec"], request["arguments"])
    except Exception as exc:  # kfp.local refusing the spec before any task: reported, no trace
        run = KfpLocalRun(NOT_RUN, f"{type(exc).__name__}: {exc}".splitlines()[0])
    Path(request["result"]).write_text(json.dumps(run.to_dict(), default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
