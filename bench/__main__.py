"""``python -m bench local [--quick]``, ``kfp``, ``argo``, ``compile``, ``lineage``,
``runtimes``, ``workloads``, ``kfp-import`` or ``ui``: run a benchmark and print its table."""

from __future__ import annotations

import importlib
import sys

# each bench imports only what it measures (kfp, hera, mlflow, dask...), so it is loaded by name
COMMANDS = {
    "local": ["local"],
    "kfp": ["kfp_compile"],
    "argo": ["argo_compile"],
    "compile": ["compile_process"],
    "lineage": ["lineage_mlflow", "lineage_query"],
    "runtimes": ["runtimes"],
    "workloads": ["workloads"],
    "kfp-import": ["kfp_import"],
    "ui": ["ui"],
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python -m bench {{{','.join(COMMANDS)}}} [options]")
    for i, module in enumerate(COMMANDS[sys.argv[1]]):
        importlib.import_module(f"bench.{module}").main(sys.argv[2:] if i == 0 else [])


if __name__ == "__main__":
    main()
