"""A Dockerfile for a project image: what ``--code image`` expects every step's image to hold.

The image gets dagwright, the target's SDK (KFP's executor runs in KFP pods), the union of the
components' packages, and the project modules the components live in, on ``PYTHONPATH``.
"""

from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path

from dagwright.compiler.delivery import (
    DEFAULT_IMAGE,
    CodeDelivery,
    distribution_name,
    sdk_requirement,
)
from dagwright.compiler.release import release_requirement
from dagwright.errors import ValidationError
from dagwright.names import check_image
from dagwright.pipelines.ir import PipelineIR

APP = "/app"


def project_sources(ir: PipelineIR, context: Path) -> list[Path]:
    """The files and packages (relative to the build context) that hold the components.

    Raises:
        ValidationError: for a component defined in a script, or in a module outside the
            build context (an installed library belongs in ``packages``).
    """
    found: set[Path] = set()
    context = context.resolve()
    for spec in ir.components.values():
        if spec.importer is not None:  # dagwright.importer: no code, no module to copy
            continue
        if not spec.module:
            raise ValidationError(
                f"component '{spec.name}' has no module an image could import",
                field="module",
                fix="compile from FILE.py (not a __main__ script) or move it into a module",
            )
        top = spec.module.split(".", 1)[0]
        module = importlib.util.find_spec(top)
        origin = Path(module.origin).resolve() if module and module.origin else None
        if origin is None:
            raise ValidationError(
                f"module '{top}' of component '{spec.name}' cannot be found",
                field="module",
                fix="run from the project folder so its modules import",
            )
        source = origin.parent if origin.name == "__init__.py" else origin
        if not source.is_relative_to(context):
            raise ValidationError(
                f"module '{top}' of component '{spec.name}' is outside the build context "
                f"{context.name}/",
                field="module",
                fix="run from the project's root folder, or list the library in packages",
            )
        found.add(source.relative_to(context))
    return sorted(found)


def dockerfile(
    ir: PipelineIR,
    context: Path,
    *,
    base_image: str = DEFAULT_IMAGE,
    delivery: CodeDelivery | None = None,
    sdks: tuple[str, ...] = ("kfp",),
) -> str:
    """The Dockerfile text for a project image of ``ir``'s components."""
    check_image(base_image, "--base-image")
    delivery = delivery or CodeDelivery(mode="image")
    packages: list[str] = [delivery.dagwright or release_requirement()]
    for spec in ir.components.values():  # with what KFP components install (kfp_pods.py)
        packages += [p for p in delivery.packages(spec) if p not in packages]
    listed = {distribution_name(p) for p in packages}
    sdks = tuple(sdk for sdk in sdks if sdk not in listed)  # a component's own pin wins
    pip = "pip install --no-cache-dir"
    if delivery.index_url:
        pip += f" --index-url {shlex.quote(delivery.index_url)}"
    lines = [
        f"# Project image for pipeline '{ir.name}', written by 'dagwright dockerfile'.",
        "# Compile with: dagwright compile ... --code image --image <this image>",
        f"FROM {base_image}",
        f"RUN {pip} " + " ".join(shlex.quote(p) for p in packages),
    ]
    if sdks:  # a pod runs only the SDK's executor, as the SDK's own images install it
        sdk_pins = " ".join(shlex.quote(sdk_requirement(sdk)) for sdk in sdks)
        lines.append(f"RUN {pip} --no-deps {sdk_pins}")
    if any(spec.runtime.kind == "spark" for spec in ir.components.values()):
        # spark-submit in the driver pod runs this file (SparkApplication.mainApplicationFile)
        lines.append("RUN python -m dagwright.runtimes.spark_driver --install")
    lines.append(f"WORKDIR {APP}")
    for source in project_sources(_with_modules(ir), context):
        # the module's own name at the top of PYTHONPATH, wherever it sits in the project
        target = f"{APP}/{source.name}" + ("" if source.suffix else "/")
        lines.append(f"COPY {source.as_posix()} {target}")
    lines.append(f"ENV PYTHONPATH={APP}")
    return "\n".join(lines) + "\n"


def _with_modules(ir: PipelineIR) -> PipelineIR:
    """``ir`` without the components imported from KFP: their code travels in the spec (a
    Python component's program in its KFP command) or is their own image, not a module."""
    import dataclasses

    kept = {cid: spec for cid, spec in ir.components.items() if spec.kfp is None}
    return dataclasses.replace(ir, components=kept)
