"""Train a classifier on scikit-learn's bundled iris data; publish it only if it is good enough.

Run it with ``dagwright run examples/iris_training.py`` (add ``-p threshold=1.0`` to see the
publish step skipped).
"""

from typing import NamedTuple

from dagwright import Dataset, If, Input, Markdown, Metrics, Model, Output, component, pipeline


@component(packages=["scikit-learn"])
def load_data(data: Output[Dataset]) -> int:
    """Write the iris measurements and labels as CSV; return the number of rows."""
    import numpy as np
    from sklearn.datasets import load_iris

    iris = load_iris()
    table = np.column_stack([iris.data, iris.target])
    np.savetxt(data.path, table, delimiter=",", header="sl,sw,pl,pw,label", comments="")
    data.metadata["rows"] = len(table)
    return len(table)


class Split(NamedTuple):
    train_rows: int
    test_rows: int


@component(packages=["scikit-learn"])
def split_data(
    data: Input[Dataset],
    train: Output[Dataset],
    test: Output[Dataset],
    test_fraction: float = 0.3,
    seed: int = 0,
) -> Split:
    """Split rows into a stratified train and test set.

    Args:
        test_fraction: Share of rows held out for evaluation.
        seed: Random seed of the split.
    """
    import numpy as np
    from sklearn.model_selection import train_test_split

    table = np.loadtxt(data.path, delimiter=",", skiprows=1)
    fit, held_out = train_test_split(
        table, test_size=test_fraction, random_state=seed, stratify=table[:, -1]
    )
    for artifact, part in ((train, fit), (test, held_out)):
        np.savetxt(artifact.path, part, delimiter=",")
    return Split(len(fit), len(held_out))


@component(packages=["scikit-learn"], retries=1)
def train_model(train: Input[Dataset], model: Output[Model], c: float = 1.0) -> None:
    """Fit a logistic regression.

    Args:
        c: Inverse regularisation strength.
    """
    import pickle

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    table = np.loadtxt(train.path, delimiter=",")
    classifier = LogisticRegression(C=c, max_iter=500).fit(table[:, :-1], table[:, -1])
    with open(model.path, "wb") as out:
        pickle.dump(classifier, out)
    model.metadata["framework"] = "scikit-learn"


@component(packages=["scikit-learn"])
def evaluate(test: Input[Dataset], model: Input[Model], metrics: Output[Metrics]) -> float:
    """Accuracy of the model on the held-out rows."""
    import pickle

    import numpy as np

    table = np.loadtxt(test.path, delimiter=",")
    with open(model.path, "rb") as f:
        classifier = pickle.load(f)
    accuracy = float(classifier.score(table[:, :-1], table[:, -1]))
    metrics.log_metric("accuracy", accuracy)
    return accuracy


@component
def publish(model: Input[Model], accuracy: float, card: Output[Markdown]) -> str:
    """Write a model card next to the model and return where the model lives."""
    with open(card.path, "w", encoding="utf-8") as out:
        out.write(f"# iris classifier\n\naccuracy: {accuracy:.3f}\n\nmodel: {model.uri}\n")
    return model.uri


@pipeline
def iris_training(threshold: float = 0.9, c: float = 1.0, test_fraction: float = 0.3) -> float:
    """Load, split, train, evaluate; publish when accuracy beats the threshold.

    Args:
        threshold: Lowest accuracy worth publishing.
        c: Inverse regularisation strength.
        test_fraction: Share of rows held out for evaluation.
    """
    raw = load_data()
    parts = split_data(data=raw.outputs["data"], test_fraction=test_fraction)
    trained = train_model(train=parts.outputs["train"], c=c)
    scored = evaluate(test=parts.outputs["test"], model=trained.outputs["model"])
    with If(scored.output > threshold):
        publish(model=trained.outputs["model"], accuracy=scored.output)
    return scored.output
