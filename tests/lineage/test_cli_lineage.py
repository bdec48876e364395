"""``dagwright lineage``: tables and JSON, files written, exit codes, the MLflow sync call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from query_corpus import Known, build, chain, run

from dagwright.cli import cli
from dagwright.lineage import tracking


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Known:
    return build(tmp_path_factory.mktemp("store"))


def lineage(root: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["lineage", *args, "--root", str(root)], env=env)


def test_registered_with_the_other_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert any(line.split()[:1] == ["lineage"] for line in result.output.splitlines())


def test_upstream_prints_a_table_nearest_first(known: Known) -> None:
    result = lineage(known.root, "upstream", f"{known.fan.run_id}/combine")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["DIST", "KIND", "NAME", "DETAIL"]
    rows = [line.split()[:3] for line in lines[1:]]
    a, c = known.a.removeprefix("artifact:")[:12], known.c.removeprefix("artifact:")[:12]
    assert sorted(rows[:2]) == [["1", "artifact", f"data@{x}"] for x in sorted([a, c])]
    assert ["2", "step", f"{known.fan.run_id}/make-2"] in rows
    assert ["3", "parameter", 'text="yo"'] in rows
    assert [int(r[0]) for r in rows] == sorted(int(r[0]) for r in rows)


def test_upstream_json_with_depth(known: Known) -> None:
    result = lineage(known.root, "upstream", known.b, "--depth", "1", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert {(r["id"], r["distance"]) for r in found} == {
        (known.step(known.first, "shout"), 1),
        (known.step(known.again, "shout"), 1),
    }
    assert {r["cached"] for r in found} == {True, False}


def test_downstream_by_path(known: Known) -> None:
    path = known.first.step("make").outputs["data"].uri
    result = lineage(known.root, "downstream", path, "--json")
    assert result.exit_code == 0, result.output
    assert {r["id"] for r in json.loads(result.stdout)} == {
        known.step(known.first, "shout"),
        known.step(known.again, "shout"),
        known.step(known.fan, "combine"),
        known.b,
        known.d,
    }


def test_nothing_upstream(known: Known) -> None:
    result = lineage(known.root, "upstream", known.text_hi)
    assert result.exit_code == 0 and result.stdout == f"nothing upstream of {known.text_hi}\n"


def test_show_json_to_stdout_and_dot_to_a_file(known: Known, tmp_path: Path) -> None:
    shown = lineage(known.root, "show", known.first.run_id)
    assert shown.exit_code == 0, shown.output
    assert known.b in {n["id"] for n in json.loads(shown.stdout)["nodes"]}
    out = tmp_path / "run.dot"
    written = lineage(known.root, "show", known.first.run_id, "--format", "dot", "-o", str(out))
    assert written.exit_code == 0, written.output
    assert out.read_text().startswith(f'digraph "{known.first.run_id}" {{')
    assert f"wrote {out}" in written.stderr


def test_png_without_graphviz_exits_2_with_the_fix(known: Known, tmp_path: Path) -> None:
    out = tmp_path / "run.png"
    result = lineage(
        known.root, "show", known.first.run_id, "--format", "png", "-o", str(out), env={"PATH": ""}
    )
    assert result.exit_code == 2
    assert "field '--format'" in result.stderr and "apt-get install graphviz" in result.stderr
    assert not out.exists()


def test_diff_table_and_json(tmp_path: Path) -> None:
    a, b = run(chain, tmp_path), run(chain, tmp_path, text="ho")
    table = lineage(tmp_path, "diff", a.run_id, b.run_id)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0] == f"{a.run_id} -> {b.run_id}"
    assert lines[1].split() == ["CHANGED", "NAME", "RUN_A", "RUN_B"]
    assert ["parameter", "text", '"hi"', '"ho"'] in [line.split() for line in lines]
    old, new = (r.step("make").outputs["data"].digest[:12] for r in (a, b))
    assert ["input", "shout", old, new] in [line.split() for line in lines]
    as_json = json.loads(lineage(tmp_path, "diff", a.run_id, b.run_id, "--json").stdout)
    assert as_json["params"] == [{"name": "text", "before": '"hi"', "after": '"ho"'}]
    assert as_json["same"] is False


def test_diff_of_the_same_work(known: Known) -> None:
    result = lineage(known.root, "diff", known.first.run_id, known.again.run_id)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == "same parameters, code and inputs, same steps"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["upstream", "no-such-thing"], "NAME"),
        (["downstream", "chain-"], "NAME"),  # two chain runs: ambiguous
        (["upstream", "{first}/nope"], "NAME"),
        (["show", "{a}"], "RUN"),  # an artifact is not a run
        (["diff", "{first}", "nope"], "RUN_B"),
        (["diff", "nope", "{first}"], "RUN_A"),
    ],
)
def test_bad_names_exit_2_naming_the_field(known: Known, args: list[str], field: str) -> None:
    args = [a.format(first=known.first.run_id, a=known.a) for a in args]
    result = lineage(known.root, *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: field '{field}': ")
    assert "Traceback" not in result.output


def test_no_lineage_in_the_store(tmp_path: Path) -> None:
    result = lineage(tmp_path, "upstream", "anything")
    assert result.exit_code == 2 and "field '--root'" in result.stderr


def test_bad_depth_is_a_usage_error(known: Known) -> None:
    result = lineage(known.root, "upstream", known.b, "--depth", "-1")
    assert result.exit_code == 2 and "--depth" in result.stderr


def test_sync_calls_the_tracking_writer(
    known: Known, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []

    def sync(
        root: Path, tracking_uri: str | None, run_id: str | None = None, *, wait: bool = True
    ) -> list[str]:
        calls.append((root, tracking_uri, run_id, wait))
        return [known.first.run_id, known.fan.run_id]

    # the upload itself is tested with MLflow elsewhere; here only what the command passes it
    monkeypatch.setattr(tracking, "sync", sync, raising=False)
    result = lineage(known.root, "sync", "--tracking-uri", "sqlite:///x.db", "--wait")
    assert result.exit_code == 0, result.output
    assert calls == [(known.root, "sqlite:///x.db", None, True)]
    assert result.stdout.split() == [known.first.run_id, known.fan.run_id]
    assert "synced 2 run(s)" in result.stderr
    one = lineage(known.root, "sync", known.first.run_id)  # without --wait: in the background
    assert one.exit_code == 0 and calls[-1] == (known.root, None, known.first.run_id, False)
    assert "in the background" in one.stderr
