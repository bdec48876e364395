"""An importer step (``dagwright.importer``, KFP's ``dsl.importer``): no code runs; its
output artifact is the one at the given URI, with the importer's metadata (KFP's input
placeholders in it filled from the step's parameters).

Nothing is copied: a consumer reads the artifact where it is, as it reads any artifact (a
remote one is fetched into its scratch folder by the executor). A local path is made absolute,
so a resumed run or a Process step started elsewhere finds the same file, and is hashed, so
a consumer's cache key follows the file's content; a remote one is keyed by its URI.
"""

from __future__ import annotations

import os

from dagwright.components.artifacts import Artifact
from dagwright.components.importer import OUTPUT, URI_INPUT, check_uri, resolved
from dagwright.errors import NotFound
from dagwright.executor import Step, StepOutcome
from dagwright.store import files, remote


def run_importer(step: Step) -> StepOutcome:
    """The artifact the importer step points at.

    Raises:
        ValidationError: for a URI (given at run time) whose scheme cannot be read.
        NotFound: for a local path where nothing exists.
    """
    spec = step.component
    assert spec.importer is not None
    uri = check_uri(step.parameters.get(URI_INPUT), f"importer '{step.task}'")
    digest = None
    if remote.is_local(uri):
        path = os.path.abspath(remote.local_path(uri))
        if not os.path.exists(path):
            raise NotFound(
                f"importer '{step.task}': nothing exists at {uri!r} ({path}); give the path "
                "of an existing file or folder"
            )
        uri = uri if uri.startswith("file://") else path
        digest = files.sha256_of(path)
    artifact = Artifact.from_dict(
        {
            "type": spec.importer["type"],
            "name": OUTPUT,
            "uri": uri,
            "metadata": resolved(dict(spec.importer.get("metadata") or {}), step.parameters),
        }
    )
    artifact.digest = digest
    return StepOutcome(artifacts={OUTPUT: artifact})
