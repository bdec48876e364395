"""The main file spark-submit runs for a compiled Spark step: it turns into the step's command.

On Kubernetes the Spark operator starts the driver pod with ``spark-submit`` and this file as the
``mainApplicationFile`` (``local:///opt/dagwright/spark_driver.py``), the step's ordinary
command as its arguments. spark-submit starts the driver JVM, configured from the
SparkApplication, and runs this file with Python, telling it where the JVM's gateway is in
``PYSPARK_GATEWAY_PORT`` and ``PYSPARK_GATEWAY_SECRET``. The file then replaces itself with the
step's command (``os.execvp``: same process, same environment), so the executor's
``SparkSession.builder.getOrCreate()`` joins that JVM rather than starting one, and the
command's exit code is the driver's, which the operator reports as COMPLETED or FAILED.

It uses only the standard library: it runs before the step's command installs anything (inline
delivery). The image must hold it at ``DRIVER_FILE``; in a Dockerfile:
``RUN python -m dagwright.runtimes.spark_driver --install``.
"""

from __future__ import annotations

import os
import shutil
import sys

DRIVER_FILE = "/opt/dagwright/spark_driver.py"


def install(target: str = DRIVER_FILE) -> str:
    """Copy this file to ``target`` (in an image build); return the path written."""
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    shutil.copyfile(__file__, target)
    return target


def main(argv: list[str]) -> int:
    """``spark_driver.py COMMAND [ARG...]``, or ``--install [PATH]``."""
    if argv[:1] == ["--install"]:
        print(install(*argv[1:2]))
        return 0
    if not argv:
        print("usage: spark_driver.py COMMAND [ARG...]  (the step's command)", file=sys.stderr)
        return 2
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvp(argv[0], argv)  # never returns: the step's command takes over this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
