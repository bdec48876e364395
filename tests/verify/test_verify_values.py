"""How ``dagwright verify`` compares outputs: numbers within KFP's doubles, metrics by their
values, artifacts by content wherever they were written; and its refusal when the steps under
kfp.local would pip-install dagwright."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from dagwright.components.artifacts import Dataset, Metrics
from dagwright.errors import ValidationError
from dagwright.verify import check_installed
from dagwright.verify.values import Content, comparable, same, shown


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (3, 3.0, True),  # a KFP parameter is a double in a protobuf Struct
        (0.1 + 0.2, 0.3, True),
        (2**60 + 1, float(2**60), True),  # past 2**53 a double keeps no more digits
        (1.0, 1.001, False),
        (1.0, 1.0 + 1e-6, False),
        (True, 1, False),
        ("1", 1, False),
        ([1, 2.0], [1.0, 2], True),
        ([1, 2], [1, 2, 3], False),
        ({"a": 1}, {"a": 1.0}, True),
        ({"a": 1}, {"b": 1}, False),
        (float("nan"), float("nan"), True),
    ],
)
def test_values(a: object, b: object, expected: bool) -> None:
    assert same(a, b) is expected


def test_artifacts_by_content_wherever_they_were_written(tmp_path: Path) -> None:
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "data").write_text("abc")
    (tmp_path / "there" / "d").mkdir(parents=True)
    (tmp_path / "there" / "d" / "data").write_text("abc")
    ours = comparable(Dataset(name="data", uri=str(tmp_path / "here" / "data")))
    theirs = comparable({"artifact": {"uri": str(tmp_path / "there" / "d" / "data")}})
    assert isinstance(ours, Content) and same(ours, theirs)
    assert shown(ours) == f"sha256:{ours.value[:12]}"
    (tmp_path / "there" / "d" / "data").write_text("abd")
    assert not same(ours, comparable({"artifact": {"uri": str(tmp_path / "there" / "d" / "data")}}))
    # a folder: its files' paths and contents
    folder = comparable({"artifact": {"uri": str(tmp_path / "there")}})
    assert folder.kind == "digest" and not same(folder, ours)


def test_metrics_by_the_values_logged(tmp_path: Path) -> None:
    (tmp_path / "m").write_text('{"acc": 0.9, "n": 3}')
    (tmp_path / "k").write_text('{"n": 3.0, "acc": 0.9000000000001}')
    ours = comparable(Metrics(name="m", uri=str(tmp_path / "m")))
    theirs = comparable({"artifact": {"uri": str(tmp_path / "k"), "schema": "system.Metrics"}})
    assert ours == Content("metrics", {"acc": 0.9, "n": 3}) and same(ours, theirs)
    assert shown(ours) == '{"acc": 0.9, "n": 3}'


def test_refused_when_steps_would_pip_install_dagwright(monkeypatch: pytest.MonkeyPatch) -> None:
    real = metadata.distribution

    def without_dagwright(name: str) -> metadata.Distribution:
        if name == "dagwright":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "distribution", without_dagwright)
    with pytest.raises(ValidationError) as caught:
        check_installed()
    assert caught.value.field == "dagwright" and "pip install -e ." in str(caught.value)


def test_a_uri_of_the_run_s_own_artifact_by_what_it_names(tmp_path: Path) -> None:
    from dagwright.verify.uris import (
        DIFFERS_ARTIFACT,
        RUN_LOCAL,
        SAME_ARTIFACT,
        SAME_ASIDE,
        Places,
        verdict,
    )

    here, there = tmp_path / "store", tmp_path / "kfp-local"
    for side, run in ((here, "run-1"), (there, "run-2")):
        (side / run / "make").mkdir(parents=True)
        (side / run / "make" / "data").write_text("abc")
        (side / run / "make" / "data-2").write_text("xyz")  # a URI the first is a prefix of
    ours = {
        "data": Dataset(name="data", uri=str(here / "run-1" / "make" / "data")),
        "data-2": Dataset(name="data-2", uri=str(here / "run-1" / "make" / "data-2")),
    }
    theirs = {
        "data": {"artifact": {"uri": str(there / "run-2" / "make" / "data")}},
        "data-2": {"artifact": {"uri": str(there / "run-2" / "make" / "data-2")}},
    }

    def places() -> tuple[Places, Places]:
        made = Places(str(here)), Places(str(there))
        for name in ours:
            made[0].add(f"make/{name}", ours[name], comparable(ours[name]))
            made[1].add(f"make/{name}", theirs[name], comparable(theirs[name]))
        return made

    def said(a: object, b: object) -> str | None:
        return verdict((a, b), (comparable(a), comparable(b)), places())

    mine, yours = ours["data-2"].uri, str(there / "run-2" / "make" / "data-2")
    assert places()[0].read(f"at {mine}/x") == ("at <make/data-2>/x", {"make/data-2"})
    assert said(mine, yours) == SAME_ARTIFACT
    assert said(ours["data"].uri, str(there / "run-2" / "make" / "data")) == SAME_ARTIFACT
    assert said(mine, theirs["data"]["artifact"]["uri"]) == RUN_LOCAL  # another artifact
    assert said(str(here / "run-1" / "make"), str(there / "run-2" / "make")) == RUN_LOCAL
    assert said("a", "b") is None  # a plain difference
    # a text artifact naming its run's artifact: by its text, the names read as places
    (here / "card").write_text(f"model: {mine}\n")
    (there / "card").write_text(f"model: {yours}\n")
    card = Dataset(name="card", uri=str(here / "card")), {"artifact": {"uri": str(there / "card")}}
    assert said(*card) == SAME_ASIDE
    (there / "card").write_text(f"model: {yours}!\n")
    assert said(*card) is None
    (there / "card").write_text(f"model: {yours}\n")
    (there / "run-2" / "make" / "data-2").write_text("xyZ")  # what the URIs name now differs
    assert said(mine, yours) == DIFFERS_ARTIFACT and said(*card) is None
