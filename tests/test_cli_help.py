"""Every command's ``--help`` is the one users know: the text of each command and sub-command,
at 100 columns, compared with its golden file in ``tests/cli_help/`` (``dagwright.txt``,
``dagwright-schedule-add.txt``...).

The golden files were written by the command line as it was before the ``dagwright/cli/``
package and the target registry (issue 15), so this test shows the move changed no flag, no
order and no word. A command without a golden file, or a golden file without a command, fails
too: a new command gets its help reviewed once.

To change a help text on purpose, regenerate the files and review the diff::

    python tests/test_cli_help.py

(run from the repository root with dagwright importable; it rewrites ``tests/cli_help/``).
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "cli_help"
WIDTH = 100

# run in a fresh interpreter: the options a command offers come from the installed targets,
# and a test that puts a toy target on this process's path must not change them
_DUMP = f"""
import json
import click
from click.testing import CliRunner
from dagwright.cli import cli

def walk(command, path):
    yield path, command
    if isinstance(command, click.Group):  # as click finds them: some load on first use
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from walk(command.get_command(ctx, name), [*path, name])

helps = {{}}
for path, command in walk(cli, []):
    result = CliRunner().invoke(
        cli, [*path, "--help"], prog_name="dagwright", terminal_width={WIDTH}
    )
    assert result.exit_code == 0, (path, result.output)
    helps["-".join(["dagwright", *path])] = result.output
print(json.dumps(helps))
"""


def current_help() -> dict[str, str]:
    """Each command's ``--help`` text by golden name (``dagwright-schedule-add``)."""
    env = {**os.environ, "COLUMNS": str(WIDTH), "TERM": "dumb"}
    proc = subprocess.run(
        [sys.executable, "-c", _DUMP], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    helps: dict[str, str] = json.loads(proc.stdout)
    return helps


def test_every_command_has_its_golden_help_and_every_golden_file_a_command() -> None:
    helps = current_help()
    golden = {path.stem for path in GOLDEN.glob("*.txt")}
    assert sorted(set(helps) - golden) == [], "commands without a golden file (see docstring)"
    assert sorted(golden - set(helps)) == [], "golden files of no command"


def test_each_command_help_is_its_golden_text() -> None:
    changed = []
    for name, text in sorted(current_help().items()):
        path = GOLDEN / f"{name}.txt"
        if not path.exists():
            continue  # the test above names it
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            diff = difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"{path.name} (golden)",
                tofile=f"{name.replace('-', ' ')} --help (now)",
            )
            changed.append(f"--- {name}\n" + "".join(diff))
    assert not changed, "help text changed:\n" + "\n".join(changed)


if __name__ == "__main__":
    for old in GOLDEN.glob("*.txt"):
        old.unlink()
    GOLDEN.mkdir(exist_ok=True)
    for name, text in current_help().items():
        (GOLDEN / f"{name}.txt").write_text(text, encoding="utf-8")
    print(f"wrote {len(list(GOLDEN.glob('*.txt')))} files to {GOLDEN}")
