"""The ``dagwright`` command starts light: a command's module is imported when the command is
used, ``--help`` lists every command without importing one, and ``dagwright run`` imports
nothing it does not use (no compiler, target, other command, networkx, MLflow or fsspec)
and reads no installed distribution's entry points.

Checked by what a fresh process imported, never by timing it (``bench/`` times it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from dagwright.cli import COMMANDS, cli

# a process that counts full scans of the installed distributions (entry points, listing),
# runs the command line on its arguments and writes what it imported to OUT at exit
HARNESS = """
import atexit, json, sys
import importlib.metadata as metadata

out, sys.argv = sys.argv[1], ["dagwright", *sys.argv[2:]]
scans = []
discover = metadata.Distribution.discover.__func__

def counting(cls, **kwargs):
    context = kwargs.get("context")
    if kwargs.get("name") is None and getattr(context, "name", None) is None:
        scans.append(1)  # every distribution: what entry_points() and distributions() read
    return discover(cls, **kwargs)

metadata.Distribution.discover = classmethod(counting)

def report():
    with open(out, "w") as f:
        json.dump({"scans": len(scans), "modules": sorted(sys.modules)}, f)

atexit.register(report)
from dagwright.cli import main
main()
"""

FLOW = """
from dagwright import component, pipeline

@component
def inc(x: int) -> int:
    return x + 1

@pipeline
def chain(x: int = 0) -> int:
    return inc(x=inc(x=x).output).output
"""


def _started(tmp_path: Path, *args: str, **env: str) -> tuple[dict, subprocess.CompletedProcess]:
    """Run ``dagwright ARGS`` in a fresh process: what it imported and scanned, and the process."""
    out = tmp_path / "imported.json"
    proc = subprocess.run(
        [sys.executable, "-c", HARNESS, str(out), *args],
        cwd=tmp_path,
        env={**os.environ, "DAGWRIGHT_HOME": str(tmp_path / "home"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(out.read_text()), proc


def test_each_summary_is_the_first_paragraph_of_its_commands_help() -> None:
    """The table ``--help`` lists commands from says what each command's own help says."""
    ctx = click.Context(cli)
    assert sorted(COMMANDS) == cli.list_commands(ctx)
    for name, lazy in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.help is not None, name
        assert lazy.summary == " ".join(command.help.split("\n\n")[0].split()), name
        stand_in = click.Command(name, help=lazy.summary)
        for limit in range(10, 200):  # shortened alike at every terminal width
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), name


@pytest.mark.parametrize("width", ["60", "100", "160"])
def test_help_lists_every_command_without_importing_any(tmp_path: Path, width: str) -> None:
    imported, proc = _started(tmp_path, "--help", COLUMNS=width)
    assert proc.returncode == 0, proc.stderr
    assert [m for m in imported["modules"] if m.startswith("dagwright.cli.")] == [
        "dagwright.cli.common",
        "dagwright.cli.lazy",
    ]
    assert imported["scans"] == 0
    # the same listing as once every command is loaded
    code = (
        "import click, sys\nfrom dagwright.cli import cli\n"
        "ctx = click.Context(cli)\n"
        "[cli.get_command(ctx, n) for n in cli.list_commands(ctx)]\n"
        "sys.argv = ['dagwright', '--help']\ncli(prog_name='dagwright')\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "COLUMNS": width},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert proc.stdout == loaded.stdout and "Commands:" in proc.stdout


@pytest.mark.skipif(
    not hasattr(click.exceptions, "NoSuchCommand"), reason="click < 8.2 suggests no names"
)
def test_a_mistyped_command_gets_every_close_name_suggested(tmp_path: Path) -> None:
    _, proc = _started(tmp_path, "rn")
    assert proc.returncode == 2
    assert "No such command 'rn'. (Did you mean one of: 'run', 'runs'?)" in proc.stderr


def test_a_command_loads_only_its_own_module(tmp_path: Path) -> None:
    imported, proc = _started(tmp_path, "runs", "ls")
    assert proc.returncode == 2 and "no run database" in proc.stderr  # it ran: nothing to list
    assert [m for m in imported["modules"] if m.startswith("dagwright.cli.")] == [
        "dagwright.cli.common",
        "dagwright.cli.lazy",
        "dagwright.cli.options",
        "dagwright.cli.runs",
    ]
    assert imported["scans"] == 0


def test_run_imports_only_what_it_uses_and_reads_no_entry_points(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    imported, proc = _started(
        tmp_path, "run", "flow.py", "--root", "store", "-q", DAGWRIGHT_TRACKING="off"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[1] == "succeeded"
    modules = set(imported["modules"])
    assert sorted(m for m in modules if m.startswith("dagwright.cli.")) == [
        "dagwright.cli.common",
        "dagwright.cli.lazy",
        "dagwright.cli.options",
        "dagwright.cli.run",
    ]
    layers = {m.split(".")[1] for m in modules if m.startswith("dagwright.") and "." in m}
    assert not layers & {"targets", "compiler", "remote", "schedules", "sources"}
    heavy = {"networkx", "mlflow", "fsspec", "kfp", "hera"}
    assert not {m.split(".")[0] for m in modules} & heavy
    assert imported["scans"] == 0
