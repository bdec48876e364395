"""DataFrames, arrays and models passed between steps as parquet, .npy and skops/joblib files."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

import dagwright
from dagwright import ValidationError, component, pipeline
from dagwright.runtimes import Process

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def typed_values() -> Any:
    sys.path.insert(0, str(FIXTURES))
    try:
        import typed_values
    finally:
        sys.path.remove(str(FIXTURES))
    return typed_values


def test_the_spec_types_values_as_files(typed_values: Any) -> None:
    spec = typed_values.fit.spec
    assert [(i.name, i.type, i.artifact) for i in spec.inputs] == [("data", "numpy.ndarray", True)]
    assert [(o.name, o.type, o.artifact) for o in spec.outputs] == [
        ("output", "sklearn.Estimator", True)
    ]


def test_values_flow_as_files(run: Any, typed_values: Any) -> None:
    result = run(typed_values.typed, n=40)
    assert result.status == "succeeded", [s.error for s in result.steps if s.error]
    assert result.outputs["output"] == 0.5
    frame = result.step("make-frame").outputs["output"]
    assert frame.type_name == "Dataset" and frame.metadata["format"] == "parquet"
    assert Path(frame.uri).read_bytes()[:4] == b"PAR1"
    array = result.step("to-array").outputs["output"]
    assert Path(array.uri).read_bytes()[:6] == b"\x93NUMPY"
    assert array.load().shape == (40, 2)
    model = result.step("fit").outputs["output"]
    assert model.type_name == "Model" and model.metadata["format"] == "skops"
    assert model.load().predict([[3.0]]).shape == (1,)
    assert frame.load()["x"].tolist() == list(range(40))
    assert result.step("parquet-rows").outputs["output"] == 40


@pytest.mark.integration
def test_values_flow_through_process_steps(run: Any, typed_values: Any) -> None:
    in_process = [
        component(runtime=Process())(c.func)
        for c in (typed_values.make_frame, typed_values.to_array)
    ]

    @pipeline
    def p(n: int = 6) -> Any:
        return in_process[1](frame=in_process[0](n=n).output).output

    result = run(p)
    assert result.status == "succeeded", [s.error for s in result.steps if s.error]
    assert result.outputs["output"].load().tolist() == [[i, i % 2] for i in range(6)]


def test_a_value_of_the_wrong_type_fails_the_step(run: Any) -> None:
    @component
    def liar() -> pd.DataFrame:
        return [1, 2]  # type: ignore[return-value]

    @pipeline
    def p() -> None:
        liar()

    error = run(p).step("liar").error
    assert (
        error == "TypeError: component 'liar' returned list for output 'output', which is "
        "declared pandas.DataFrame"
    )


def test_a_dataframe_does_not_feed_a_model_input(store: Path, typed_values: Any) -> None:
    @pipeline
    def p() -> None:
        typed_values.score(
            model=typed_values.make_frame(n=3).output,
            data=typed_values.to_array(frame=typed_values.make_frame(n=3).output).output,
        )

    with pytest.raises(ValidationError, match="is a pandas.DataFrame but input 'model' takes"):
        dagwright.run(p, root=store, echo=False)


@pytest.mark.integration
def test_pickled_models_from_a_remote_store_need_an_opt_in(
    s3_endpoint: str, store: Path, typed_values: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    monkeypatch.setenv("DAGWRIGHT_MODEL_FORMAT", "joblib")
    bucket = f"models-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    url = f"s3://{bucket}/runs"
    refused = dagwright.run(typed_values.typed, root=store, artifacts=url, echo=False)
    assert refused.step("fit").outputs["output"].metadata["format"] == "joblib"
    assert refused.step("score").error.startswith(
        "PickleRefused: refusing to unpickle a joblib artifact from a remote store"
    )
    allowed = dagwright.run(
        typed_values.typed, root=store, artifacts=url, echo=False, allow_pickle=True
    )
    assert allowed.outputs["output"] == 0.5
