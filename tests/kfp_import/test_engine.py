"""What the engine does applies to imported KFP pipelines: retries (KFP's ``set_retry``),
resume after a failure, caching as the YAML says (``set_caching_options``), the run database
and the progress lines, each through the imported YAML as a user has it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("kfp")

from kfp_pipelines import BY_NAME  # noqa: E402
from kfp_runs import arguments, imported, on_dagwright  # noqa: E402

import dagwright  # noqa: E402


def lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_a_retried_step_fails_once_then_succeeds(tmp_path: Path) -> None:
    got, result = on_dagwright(BY_NAME["retry-then-succeed"], tmp_path)
    assert result.succeeded, got.error
    step = result.step("flaky")
    assert step.attempts == 2 and step.outputs == {"Output": 2}
    assert got.outputs == {"Output": 2}


def test_resume_runs_the_failed_step_again_and_reuses_the_rest(tmp_path: Path) -> None:
    shape = BY_NAME["fails-then-resumes"]
    got, first = on_dagwright(shape, tmp_path)
    assert not first.succeeded and "attempt 1 fails on purpose" in (got.error or "")
    journal = tmp_path / "dagwright" / "journal"
    assert sorted(p.name for p in journal.iterdir()) == ["attempts", "first"]
    resumed = dagwright.resume(first.run_id, root=tmp_path / "store", echo=False)
    assert resumed.succeeded
    assert resumed.outputs == {"Output": 2}
    assert resumed.step("mark").reused and not resumed.step("flaky").reused
    assert lines(journal / "first") == 1  # reused, not run again
    assert lines(journal / "attempts") == 2 and lines(journal / "last") == 1


def test_caching_follows_the_yaml_task_by_task(tmp_path: Path) -> None:
    shape = BY_NAME["caching-options"]
    ir = imported(shape, tmp_path)
    given = arguments(shape, tmp_path / "runs")
    store = tmp_path / "store"
    first = dagwright.run(ir, given, echo=False, root=store)
    second = dagwright.run(ir, given, echo=False, root=store)
    assert first.succeeded and second.succeeded
    # set_caching_options(True) on "mark", False on "mark-2"
    assert not first.step("mark").cached and second.step("mark").cached
    assert not second.step("mark-2").cached
    journal = Path(given["journal"])
    assert lines(journal / "cached") == 1 and lines(journal / "uncached") == 2


def test_loop_parallelism_caps_the_items_running_at_once(tmp_path: Path) -> None:
    got, result = on_dagwright(BY_NAME["loop-parallelism"], tmp_path)
    assert result.succeeded and got.outputs == {"Output": 15}
    journal = tmp_path / "dagwright" / "journal"
    seen = [int((journal / f"item-{i}").read_text()) for i in range(1, 6)]
    assert max(seen) <= 2, seen  # ParallelFor(..., parallelism=2)


def test_a_loop_without_parallelism_runs_its_iterations_at_once(tmp_path: Path) -> None:
    # kfp.local ran them one at a time (kfp_local_evidence.py shows it)
    got, result = on_dagwright(BY_NAME["loop-unbounded"], tmp_path)
    assert result.succeeded and got.outputs == {"Output": 21}
    journal = tmp_path / "dagwright" / "journal"
    seen = [int((journal / f"item-{i}").read_text()) for i in range(1, 7)]
    assert max(seen) > 2, seen


def test_progress_lines_name_the_kfp_tasks(tmp_path: Path) -> None:
    shape = BY_NAME["plain-chain"]
    seen: list[str] = []
    got, result = on_dagwright(shape, tmp_path, echo=seen.append)
    assert result.succeeded and got.outputs == {"Output": 12}
    for task in ("add", "add-2", "mul"):
        assert any(task in line.split() for line in seen), (task, seen)
    assert [s.task for s in result.steps] == ["add", "add-2", "mul"]


def test_lineage_links_imported_steps_through_their_artifacts(tmp_path: Path) -> None:
    from dagwright import lineage

    got, result = on_dagwright(BY_NAME["pipeline-outputs"], tmp_path, lineage=True)
    assert result.succeeded, got.error
    reached = lineage.upstream(f"{result.run_id}/double-text", root=tmp_path / "store")
    ids = {r.id for r in reached}
    # double-text used the Dataset that write-text generated
    assert f"step:{result.run_id}/write-text" in ids, ids
    artifacts = [r for r in reached if r.kind == "artifact"]
    assert artifacts and min(r.distance for r in artifacts) == 1
