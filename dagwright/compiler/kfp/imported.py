"""A component imported from KFP, compiled back to KFP: its executor as KFP wrote it.

The component's container (``ComponentSpec.kfp``: image, command, args, env, resources) is
already a KFP executor, and its interface keeps KFP's names and types, so KFP runs it as it
ran before the import: a Python component through kfp's own executor (KFP's launcher installs
what its command pins), a container component in its image. Wrapping it in dagwright's entry
instead would make each pod install dagwright and kfp with its dependencies for nothing, and
could not run a container component in an image without Python. Its pod records no lineage
(no dagwright runs in it), as the step's own ``--dagwright-*`` arguments would otherwise ask.
"""

from __future__ import annotations

from typing import Any

from dagwright.components.spec import ComponentSpec
from dagwright.errors import ValidationError


def imported_container(spec: ComponentSpec, pb: Any) -> Any:
    """The PipelineContainerSpec message of ``spec.kfp``'s container executor.

    Raises:
        ValidationError: for an executor that is not a container, or one the message refuses.
    """
    from google.protobuf import json_format

    executor = (spec.kfp or {}).get("executor") or {}
    if "container" not in executor:
        raise ValidationError(
            f"KFP target: component '{spec.name}' has an executor of kind "
            f"{', '.join(sorted(executor)) or 'none'}, not a container",
            field=f"component {spec.name}: kfp.executor",
            fix="import the pipeline again from KFP's YAML",
        )
    box = pb.PipelineDeploymentConfig.PipelineContainerSpec()
    try:
        json_format.ParseDict(executor["container"], box)
    except json_format.ParseError as exc:
        raise ValidationError(
            f"KFP target: the executor of component '{spec.name}' is not KFP's: {exc}",
            field=f"component {spec.name}: kfp.executor.container",
            fix="import the pipeline again from KFP's YAML",
        ) from None
    return box
