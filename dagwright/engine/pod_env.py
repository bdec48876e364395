"""What a local step gets of its pod options: variables, Secret and ConfigMap values, and its
volumes as folders of the store.

A ``Secret`` or ``ConfigMapEnv`` value is read from the secrets file (``--secrets-file``,
``DAGWRIGHT_SECRETS_FILE``: ``.env`` lines, read with python-dotenv) under ``<name>.<key>``
or the variable's name, else from this process's environment under the variable's name. All
are read before the run starts, so a missing one is refused before anything runs. Secret
values are registered with the engine, which masks them in live logs and in every step record
before it is stored or shown (a value shorter than ``redact.MIN_MASKED`` is not masked, with
an ``UnmaskedSecretWarning`` naming its Secret); they travel to a step only in its
environment, never in its ``step.json``, the IR or the run database.

A volume's mount path cannot be remapped for the step's code, so each becomes a folder of the
store, named in ``DAGWRIGHT_MOUNTS`` (``{mount path: folder}``, which ``dagwright.mounted``
reads), with a warning once per component: a PVC is ``<root>/volumes/pvc/<name>`` (kept, as
a claim is), an empty dir a fresh folder under the run's, a ConfigMap or Secret volume
``<root>/volumes/<kind>/<name>`` for the user to fill.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dagwright.components.pod import MOUNTS_ENV, Volume
from dagwright.components.spec import ComponentSpec
from dagwright.engine.result import StepRecord
from dagwright.errors import ValidationError
from dagwright.redact import MIN_MASKED, scrub

SECRETS_FILE_ENV = "DAGWRIGHT_SECRETS_FILE"


class LocalVolumeWarning(UserWarning):
    """A volume of a locally run step is a folder of the store, not the mount path."""


class UnmaskedSecretWarning(UserWarning):
    """A Secret's value is too short to be masked in logs (it would garble them)."""


class PodEnv:
    """The pod options' values for a local run: resolved once, handed to each step."""

    def __init__(self, values: Mapping[tuple[str, str, str], str], secrets: Iterable[str]):
        self.values = dict(values)  # (kind, name, key) -> value
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._warned: set[str] = set()

    @classmethod
    def resolve(
        cls, components: Iterable[ComponentSpec], secrets_file: str | Path | None = None
    ) -> PodEnv:
        """Every Secret and ConfigMap value the components read.

        Raises:
            ValidationError: for an unreadable secrets file, or a value found nowhere.
        """
        specs = list(components)
        wanted = [
            (kind, ref)
            for spec in specs
            for kind, refs in (("secret", spec.pod.secrets), ("config_map", spec.pod.config_maps))
            for ref in refs
        ]
        if not wanted:
            return cls({}, ())
        given = secrets_file or os.environ.get(SECRETS_FILE_ENV) or None
        file_values = _read(Path(given)) if given else {}
        values: dict[tuple[str, str, str], str] = {}
        secrets: list[str] = []
        short: set[tuple[str, str]] = set()  # Secrets warned of, once each
        for kind, ref in wanted:
            value = file_values.get(f"{ref.name}.{ref.key}")
            if value is None:
                value = file_values.get(ref.env)
            if value is None:
                value = os.environ.get(ref.env)
            if value is None:
                what = "Secret" if kind == "secret" else "ConfigMap"
                raise ValidationError(
                    f"{what} '{ref.name}' key '{ref.key}' (variable {ref.env}) has no value "
                    "for a local run",
                    field="secrets" if kind == "secret" else "config_maps",
                    fix=f"add {ref.env}=... (or {ref.name}.{ref.key}=...) to a secrets file "
                    f"given with --secrets-file or ${SECRETS_FILE_ENV}, or export {ref.env}",
                )
            values[(kind, ref.name, ref.key)] = value
            if kind == "secret":
                secrets.append(value)
                if len(value) < MIN_MASKED and (ref.name, ref.key) not in short:
                    short.add((ref.name, ref.key))
                    warnings.warn(
                        f"Secret {ref.name}/{ref.key} (variable {ref.env}) is shorter than "
                        f"{MIN_MASKED} characters: it is not masked in logs, where masking "
                        "it would garble every line; give it a longer value",
                        UnmaskedSecretWarning,
                        stacklevel=2,
                    )
        return cls(values, secrets)

    def env_for(self, spec: ComponentSpec, root: Path, run_id: str, label: str) -> dict[str, str]:
        """The variables of one step: the component's, its Secrets' and ConfigMaps', and
        ``DAGWRIGHT_MOUNTS`` for its volumes (their folders made)."""
        env = dict(spec.env)
        for ref in spec.pod.secrets:
            env[ref.env] = self.values[("secret", ref.name, ref.key)]
        for cref in spec.pod.config_maps:
            env[cref.env] = self.values[("config_map", cref.name, cref.key)]
        if spec.pod.volumes:
            mounts = {v.mount_path: str(_folder(v, root, run_id, label)) for v in spec.pod.volumes}
            env[MOUNTS_ENV] = json.dumps(mounts, sort_keys=True)
            self._warn(spec, mounts)
        return env

    def _warn(self, spec: ComponentSpec, mounts: Mapping[str, str]) -> None:
        if spec.name in self._warned:
            return
        self._warned.add(spec.name)
        shown = ", ".join(f"{path} -> {folder}" for path, folder in mounts.items())
        warnings.warn(
            f"component '{spec.name}': in a local run its volumes are folders of the store "
            f"({shown}); read their paths with dagwright.mounted('<mount path>'), which is "
            "the mount path itself in a pod",
            LocalVolumeWarning,
            stacklevel=2,
        )


def mask_record(record: StepRecord, secrets: list[str]) -> None:
    """Cut Secret values out of what a step record keeps (its prints, error and traceback)."""
    if secrets:
        for name in ("stdout", "stderr", "error", "traceback"):
            setattr(record, name, scrub(getattr(record, name), secrets))


def _folder(volume: Volume, root: Path, run_id: str, label: str) -> Path:
    base = root / "volumes"
    if volume.kind == "empty_dir":  # one per step, as each pod has its own
        folder = base / "empty_dir" / run_id / label / volume.volume_name
    else:
        folder = base / volume.kind / volume.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _read(path: Path) -> dict[str, str]:
    """The secrets file's ``NAME=value`` lines (python-dotenv's reading of a ``.env`` file)."""
    if not path.is_file():
        raise ValidationError(
            f"secrets file {path} is not a file",
            field="--secrets-file",
            fix="give a .env-style file of NAME=value lines",
        )
    from dotenv import dotenv_values

    try:
        read: dict[str, Any] = dict(dotenv_values(path, interpolate=False))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            f"secrets file {path} cannot be read ({type(exc).__name__})",
            field="--secrets-file",
            fix="give a readable UTF-8 .env-style file",
        ) from None
    return {k: v for k, v in read.items() if v is not None}
