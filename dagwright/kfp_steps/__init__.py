"""Steps of components imported from KFP, run through KFP's executor contract.

``executor.run_step`` hands a step whose component has ``kfp`` set to ``run_kfp_step``;
``check_kfp_installed`` and ``check_containers`` refuse, before a run starts, a pipeline whose
steps need kfp when it is not installed, and container components that have nowhere to run.
Imported only for pipelines that hold KFP components.
"""

from __future__ import annotations

from dagwright.kfp_steps.preflight import check_containers, check_kfp_installed
from dagwright.kfp_steps.step import run_kfp_step

__all__ = ["check_containers", "check_kfp_installed", "run_kfp_step"]
