"""A Secret's value is never stored: a step that returns it (whole or inside a longer value), or
puts it in an artifact's metadata, fails naming the output and the Secret, and nothing of it
reaches the store (run database, lineage, logs). A Secret too short to mask is not masked in
logs, which it would garble, and is warned of once by name."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

import dagwright
from dagwright import Artifact, Output, Secret, component, pipeline
from dagwright.runtimes import Process

VAR = "DW_OUT_TOKEN"
VALUE = "out-Tok3n-5e77c1d9"
TOKEN = [Secret("api", "token", env=VAR)]


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    monkeypatch.delenv("DW_PIN", raising=False)


@component(secrets=TOKEN)
def returns_it() -> str:
    return os.environ[VAR]


@component(secrets=TOKEN, runtime=Process())
def returns_it_in_a_child() -> str:
    return os.environ[VAR]


@component(secrets=TOKEN)
def returns_a_header() -> dict:
    return {"headers": [f"Bearer {os.environ[VAR]}"]}


@component(secrets=TOKEN)
def writes_metadata(model: Output[Artifact]) -> None:
    Path(model.path).write_text("weights")
    model.metadata["auth"] = f"token={os.environ[VAR]}"


@component(secrets=TOKEN)
def names_metadata_after_it(model: Output[Artifact]) -> None:
    Path(model.path).write_text("weights")
    model.metadata[os.environ[VAR]] = 1


@component(secrets=TOKEN)
def returns_its_length() -> int:
    return len(os.environ[VAR])


def _run(tmp_path: Path, task, secret: str = VALUE, var: str = VAR):  # type: ignore[no-untyped-def]
    @pipeline(name="leaks")
    def leaks() -> None:
        task()

    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"{var}={secret}\n", encoding="utf-8")
    return dagwright.run(leaks, echo=False, root=tmp_path / "store", secrets_file=secrets)


def _stored_anywhere(root: Path, text: str) -> list[str]:
    return [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and text.encode() in p.read_bytes()
    ]


@pytest.mark.parametrize(
    ("task", "where"),
    [
        (returns_it, "output 'output'"),
        (returns_it_in_a_child, "output 'output'"),
        (returns_a_header, "output 'output'"),
        (writes_metadata, "metadata 'auth' of output 'model'"),
        (names_metadata_after_it, "a metadata key of output 'model'"),
    ],
    ids=[
        "returned",
        "returned-by-a-process-step",
        "inside-a-value",
        "artifact-metadata",
        "artifact-metadata-key",
    ],
)
def test_a_secret_in_an_output_fails_the_step_and_is_stored_nowhere(
    tmp_path: Path, task, where: str
) -> None:  # type: ignore[no-untyped-def]
    result = _run(tmp_path, task)
    step = result.steps[0]
    assert result.status == "failed" and step.status == "failed"
    assert step.error == (
        f"SecretInOutput: {where} of step '{step.task}' holds the value of Secret api/token; "
        "secrets are never stored: pass the Secret to the steps that need it"
    )
    assert not step.outputs
    assert _stored_anywhere(tmp_path / "store", VALUE) == []


def test_an_output_made_from_a_secret_but_not_holding_it_is_kept(tmp_path: Path) -> None:
    result = _run(tmp_path, returns_its_length)
    assert result.status == "succeeded"
    assert result.steps[0].outputs == {"output": len(VALUE)}


@component(secrets=[Secret("api", "pin", env="DW_PIN")])
def prints_a_short_secret() -> str:
    print(f"a quick query with pin {os.environ['DW_PIN']}")
    return "quiet"


@component(secrets=[Secret("api", "pin", env="DW_PIN")])
def returns_a_short_secret() -> str:
    return os.environ["DW_PIN"]


def test_a_short_secret_is_not_masked_in_logs_and_is_warned_of_once_by_name(
    tmp_path: Path,
) -> None:
    @pipeline(name="short")
    def short() -> None:
        prints_a_short_secret()
        prints_a_short_secret()

    secrets = tmp_path / "secrets.env"
    secrets.write_text("DW_PIN=q\n", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = dagwright.run(short, echo=False, root=tmp_path / "store", secrets_file=secrets)
    assert result.status == "succeeded"
    for step in result.steps:
        assert step.stdout == "a quick query with pin q\n"  # not "a ***uick ***uery..."
    said = [str(w.message) for w in caught if type(w.message).__name__ == "UnmaskedSecretWarning"]
    assert said == [
        "Secret api/pin (variable DW_PIN) is shorter than 4 characters: it is not masked in "
        "logs, where masking it would garble every line; give it a longer value"
    ]
    assert "q" not in said[0]  # named, never shown


def test_a_short_secret_returned_whole_is_still_refused(tmp_path: Path) -> None:
    from dagwright.engine.pod_env import UnmaskedSecretWarning

    with pytest.warns(UnmaskedSecretWarning):
        result = _run(tmp_path, returns_a_short_secret, secret="q", var="DW_PIN")
    assert result.steps[0].status == "failed"
    assert "holds the value of Secret api/pin" in (result.steps[0].error or "")


@component(secrets=TOKEN)
def returns_it_as_json() -> str:
    import json

    return json.dumps({"token": os.environ[VAR]})


def test_a_secret_escaped_inside_an_output_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # JSON writes the backslash and the quote escaped: the value as read is not in the text
    secret = 'out\\Tok"3n-5e77'
    monkeypatch.setenv(VAR, secret)

    @pipeline(name="leaks")
    def leaks() -> None:
        returns_it_as_json()

    result = dagwright.run(leaks, echo=False, root=tmp_path / "store")
    step = result.steps[0]
    assert step.status == "failed" and step.error is not None
    assert step.error.startswith("SecretInOutput: output 'output' of step")
    assert _stored_anywhere(tmp_path / "store", 'out\\\\Tok\\"3n') == []


@component(secrets=TOKEN)
def returns_a_signed_url() -> str:
    from urllib.parse import quote

    return f"https://files.example.com/model.bin?sig={quote(os.environ[VAR], safe='')}"


def test_a_secret_percent_encoded_inside_an_output_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a URL carries a base64-like token percent-encoded: the value as read is not in the text
    monkeypatch.setenv(VAR, "sig/Tok3n+x==")

    @pipeline(name="signed")
    def signed() -> None:
        returns_a_signed_url()

    result = dagwright.run(signed, echo=False, root=tmp_path / "store")
    step = result.steps[0]
    assert step.status == "failed" and step.error is not None
    assert step.error.startswith("SecretInOutput: output 'output' of step")
    assert _stored_anywhere(tmp_path / "store", "sig%2FTok3n%2Bx%3D%3D") == []
