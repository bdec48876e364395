"""Small KFP components the kfp_steps tests compile with kfp (their source must be in a file:
kfp reads it with ``inspect.getsource``)."""

# no `from __future__ import annotations`: kfp reads the annotations as objects
from typing import NamedTuple, Optional

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output, OutputPath

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def typed_params(
    text: str,
    count: int,
    ratio: float,
    flag: bool,
    items: list,
    mapping: dict,
    fallback: int = 7,
) -> NamedTuple("Seen", [("kinds", list), ("total", int), ("echo", dict), ("ratio", float)]):  # noqa: F821
    import collections

    kinds = [type(v).__name__ for v in (text, count, ratio, flag, items, mapping, fallback)]
    Seen = collections.namedtuple("Seen", ["kinds", "total", "echo", "ratio"])
    return Seen(kinds, count + fallback, {"items": items, "mapping": mapping}, ratio * 2)


@dsl.component(base_image=IMAGE)
def make_data(text: str, times: int, data: Output[Dataset]) -> int:
    with open(data.path, "w") as f:
        f.write(text * times)
    data.metadata["rows"] = times
    print(f"made {times}")
    return len(text * times)


@dsl.component(base_image=IMAGE)
def train(data: Input[Dataset], model: Output[Model], metrics: Output[Metrics]) -> str:
    with open(data.path) as f:
        content = f.read()
    with open(model.path, "w") as f:
        f.write(content.upper())
    model.metadata["framework"] = "upper"
    model.metadata["source_rows"] = data.metadata["rows"]
    metrics.log_metric("length", len(content))
    return data.metadata.get("note", "none")


@dsl.component(base_image=IMAGE)
def write_paths(number: OutputPath(int), words: OutputPath(list), flag: OutputPath(bool)):
    with open(number, "w") as f:
        f.write("42")
    with open(words, "w") as f:
        f.write('["a", 1, 2.5]')
    with open(flag, "w") as f:
        f.write("True")


@dsl.component(base_image=IMAGE)
def join_all(parts: Input[list[Dataset]]) -> str:
    return "+".join(open(p.path).read() for p in parts)


@dsl.component(base_image=IMAGE)
def fails(limit: int) -> int:
    values = [1, 2, 3]
    if limit > 2:
        raise ValueError(f"limit {limit} is too high")
    return values[limit]


@dsl.component(base_image=IMAGE)
def fails_after_writing(data: Output[Dataset]):
    with open(data.path, "w") as f:
        f.write("half")
    raise RuntimeError("stopped midway")


@dsl.component(base_image=IMAGE, packages_to_install=["surely-not-installed-pkg-xyz==1.0"])
def needs_missing_package() -> int:
    return 1


@dsl.component(base_image=IMAGE, packages_to_install=["packaging", "pyyaml>=5"])
def needs_installed_packages() -> str:
    import yaml

    return yaml.safe_dump({"a": 1}).strip()


@dsl.component(base_image=IMAGE)
def shout(word: str, loud: Output[Dataset], pause: float = 0.0) -> str:
    import time

    print(f"start {word}")
    with open(loud.path, "w") as f:
        f.write(word.upper())
    loud.metadata["word"] = word
    time.sleep(pause)
    print(f"end {word}")
    return word.upper()


@dsl.container_component
def echo_to_files(text: str, said: OutputPath(str), page: Output[Dataset]):
    return dsl.ContainerSpec(
        image="alpine:3.19",
        command=["sh", "-c", 'echo "$0" > "$1" && printf "page:%s" "$0" > "$2" && echo done'],
        args=[text, said, page.path],
    )


@dsl.container_component
def optional_flags(
    prefix: str,
    data: Input[Dataset],
    out: OutputPath(str),
    extra: Optional[str] = None,  # noqa: UP045 (kfp reads no X | None)
):
    return dsl.ContainerSpec(
        image="alpine:3.19",
        command=[
            "sh",
            "-c",
            'o="$0"; s="$1"; shift; { cat "$s"; echo " $*"; } > "$o"',
            out,
            data.path,
        ],
        args=[
            dsl.ConcatPlaceholder([prefix, "-", "x"]),
            dsl.IfPresentPlaceholder(input_name="extra", then=["--extra", extra], else_=["--none"]),
        ],
    )


@dsl.container_component
def exits_badly(code: int):
    return dsl.ContainerSpec(
        image="alpine:3.19", command=["sh", "-c", 'echo "failing" >&2; exit "$0"'], args=[code]
    )


@dsl.component(base_image=IMAGE)
def read_env(name: str) -> str:
    import os

    value = os.environ.get(name, "unset")
    if value == "boom":
        raise ValueError("told to fail")
    print(f"{name}={value}")
    return value


@dsl.component(base_image=IMAGE)
def scan_cmdlines(secret: str) -> str:
    """The processes (this one and its parent among them) whose command line holds ``secret``,
    read from /proc while the step runs."""
    import os

    hits, mine = [], False
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                line = f.read().decode(errors="replace")
        except OSError:
            continue
        mine = mine or int(pid) == os.getpid() and bool(line)
        if secret in line:
            hits.append(pid)
    return f"read own={mine} hits={hits} env={os.environ.get('KFP_STEP_VAR')}"


@dsl.component(base_image=IMAGE)
def final_status(status: dsl.PipelineTaskFinalStatus) -> str:
    return f"{status.state}/{status.pipeline_task_name}/{status.error_code}/{status.error_message}"


@dsl.component(base_image=IMAGE)
def flaky(marker: str) -> str:
    import os

    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("first attempt fails")
    return "second attempt"


@dsl.component(base_image=IMAGE)
def slow_writer(seconds: float, done: str, data: Output[Dataset]):
    import time

    with open(data.path, "w") as f:
        f.write("late")
    time.sleep(seconds)
    open(done, "w").close()


@dsl.component(base_image=IMAGE)
def job_names(
    job: str = dsl.PIPELINE_JOB_NAME_PLACEHOLDER, task: str = dsl.PIPELINE_TASK_NAME_PLACEHOLDER
) -> str:
    return f"{job}|{task}"


@dsl.component(base_image=IMAGE)
def maybe_writes(write: bool, number: OutputPath(int)):
    if write:
        with open(number, "w") as f:
            f.write("5")
