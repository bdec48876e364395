"""``python -m bench local [--quick]``, ``kfp``, ``argo``, ``lineage`` or ``runtimes``: run a
benchmark and print its table."""

from __future__ import annotations

import sys

from bench import argo_compile, kfp_compile, lineage_mlflow, lineage_query, local, runtimes


def main() -> None:
    def lineage(argv: list[str]) -> None:
        lineage_mlflow.main(argv)
        lineage_query.main([])

    commands = {
        "local": local.main,
        "kfp": kfp_compile.main,
        "argo": argo_compile.main,
        "lineage": lineage,
        "runtimes": runtimes.main,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python -m bench {{{','.join(commands)}}} [options]")
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
