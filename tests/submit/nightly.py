"""Pipelines the submission tests compile for KFP and send to the KFP API stand-in."""

from dagwright import component, pipeline


@component
def prepare(rows: int) -> int:
    return rows * 2


@component
def report(rows: int, label: str = "nightly") -> str:
    return f"{label}: {rows} rows"


@pipeline(schedule="0 3 * * *")
def nightly(rows: int = 10, label: str = "nightly") -> str:
    return report(rows=prepare(rows=rows).output, label=label).output


@pipeline
def adhoc(rows: int = 1) -> int:
    return prepare(rows=rows).output
