"""The two components the pod-replay tests run on Argo's stand-in: ``make`` writes an
artifact, ``use`` reads it (its print shows the step ran in the foreground)."""

MAKE_AND_USE = """
@component
def make(n: int, data: Output[Dataset]) -> int:
    with open(data.path, "w") as f:
        f.write("x" * n)
    return n * 2


@component
def use(data: Input[Dataset], k: int) -> str:
    text = open(data.path).read()
    print(f"use read {len(text)} characters")
    return text[:k]
"""
