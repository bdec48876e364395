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
