"""kfp-kubernetes platform-spec fields that dagwright's pod options hold are imported as them:
a dagwright pipeline with every option compiled to KFP, imported and compiled again gives the
same platform spec; a KFP pipeline using them runs locally as a dagwright one does (Secret and
ConfigMap values from the secrets file, volumes as folders of the store); what no option holds
is refused by name, or reported when it only places the pod.

No ``from __future__ import annotations``: kfp reads the components' annotations as types.
"""

import copy
import hashlib
import importlib
import json
import os
import sqlite3
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kfp")
import yaml  # noqa: E402
from kfp import dsl  # noqa: E402

import dagwright  # noqa: E402
from dagwright import (  # noqa: E402
    ConfigMapEnv,
    NodeAffinity,
    Secret,
    ValidationError,
    Volume,
    component,
    pipeline,
)
from dagwright.engine.pod_env import LocalVolumeWarning  # noqa: E402
from dagwright.sources.kfp import KfpImportWarning, import_pipeline  # noqa: E402

DELIVERY = {"dagwright": "dagwright==0.1.0"}
SECRET = "imported-secret-5c81e0"
FIELD = "platforms.kubernetes.deploymentSpec.executors.exec-reads"


def _proto() -> Any:
    """tests/compiler/kfp_platform_proto.py: kfp-kubernetes' messages, to parse a config."""
    folder = str(Path(__file__).parents[1] / "compiler")
    if folder not in sys.path:
        sys.path.append(folder)
    return importlib.import_module("kfp_platform_proto")


@component(
    volumes=[
        Volume.pvc("data", "/data"),
        Volume.empty_dir("/scratch", medium="Memory", size_limit="1Gi"),
        Volume.config_map("settings", "/etc/settings", optional=True),
        Volume.secret("tls", "/etc/tls"),
    ],
    secrets=[Secret("db", "password", env="DB_PASSWORD"), Secret("api", "token", env="TOKEN")],
    config_maps=[ConfigMapEnv("settings", "mode", env="MODE")],
    env={"PLAIN": "yes"},
    node_selector={"pool": "gpu"},
    affinity=[
        NodeAffinity("zone", "In", ("a", "b")),
        NodeAffinity("arch", "NotIn", ("arm",)),
        NodeAffinity("ssd", "Exists", weight=5),
    ],
    image_pull_secrets=["registry-creds", "mirror-creds"],
    labels={"team": "ml"},
    annotations={"example.com/owner": "ana"},
)
def train(rate: float) -> float:
    return rate


@component
def report(x: float) -> float:
    return x


@pipeline
def every_option(rate: float = 0.5) -> float:
    first = train(rate=rate)
    return report(x=first.output).mount_pvc("data", "/data").add_pod_label("step", "r").output


def _by_task(text: str) -> dict[str, Any]:
    """Each task's executor config of a compiled KFP pipeline (labels differ after import)."""
    spec, platform = list(yaml.safe_load_all(text))
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    return {
        task: executors.get(spec["components"][body["componentRef"]["name"]]["executorLabel"])
        for task, body in spec["root"]["dag"]["tasks"].items()
    }


def test_every_pod_option_survives_compile_import_compile() -> None:
    first = dagwright.compile(every_option, target="kfp", **DELIVERY)
    with warnings.catch_warnings():
        warnings.simplefilter("error", KfpImportWarning)  # nothing reported, nothing dropped
        ir = import_pipeline(first)
    again = dagwright.compile(ir, target="kfp", **DELIVERY)
    before, after = _by_task(first), _by_task(again)
    assert set(before) == {"train", "report"}
    assert after == before
    # each is kfp-kubernetes' message (the proto's names and types)
    for config in after.values():
        _proto().parse_executor_config(config)
    # every field the options write is there, so none was missed on the way
    assert set(before["train"]) == {
        "secretAsEnv", "configMapAsEnv", "pvcMount", "emptyDirMounts", "secretAsVolume",
        "configMapAsVolume", "nodeSelector", "nodeAffinity", "imagePullSecret", "podMetadata",
    }  # fmt: skip
    options = ir.component_of("train").pod
    assert options.secrets == (
        Secret("db", "password", "DB_PASSWORD"),
        Secret("api", "token", "TOKEN"),
    )
    assert {v.kind for v in options.volumes} == {"pvc", "empty_dir", "config_map", "secret"}
    assert SECRET not in again


@dsl.component(base_image="python:3.11")
def reads(x: int) -> str:
    import hashlib
    import os

    import dagwright

    token = os.environ["TOKEN"]
    print(f"token is {token}")
    (dagwright.mounted("/data") / "out.txt").write_text(str(x))
    digest = hashlib.sha256(token.encode()).hexdigest()[:8]
    return f"{digest}:{os.environ['MODE']}:{x}"


@dsl.pipeline(name="k8s")
def k8s(x: int = 1):
    reads(x=x)


def _with_platform(spec: Path | str, config: dict[str, Any]) -> str:
    """The KFP YAML (a file, or its text) with ``config`` as exec-reads' platform config."""
    platform = {"platforms": {"kubernetes": {"deploymentSpec": {"executors": {
        "exec-reads": config
    }}}}}  # fmt: skip
    text = spec.read_text() if isinstance(spec, Path) else spec
    return text + "---\n" + yaml.safe_dump(platform)


def _named(name: str) -> dict[str, Any]:
    return {"runtimeValue": {"constant": name}}


# as kfp-kubernetes 2.17 writes them: each name twice, plain and as a constant parameter
K8S = {
    "secretAsEnv": [{"secretName": "creds", "secretNameParameter": _named("creds"),
                     "keyToEnv": [{"secretKey": "token", "envVar": "TOKEN"}], "optional": False}],
    "configMapAsEnv": [{"configMapName": "cfg", "configMapNameParameter": _named("cfg"),
                        "keyToEnv": [{"configMapKey": "mode", "envVar": "MODE"}]}],
    "pvcMount": [{"constant": "data", "pvcNameParameter": _named("data"), "mountPath": "/data"}],
    "emptyDirMounts": [{"volumeName": "scratch", "mountPath": "/scratch"}],
    "imagePullSecret": [{"secretName": "regcred", "secretNameParameter": _named("regcred")}],
    "podMetadata": {"labels": {"team": "ml"}},
    "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
}  # fmt: skip


def test_a_kfp_pipeline_with_pod_options_runs_locally_as_a_dagwright_one(
    tmp_path: Path, compiled: Callable[[Any], Path]
) -> None:
    path = tmp_path / "k8s-options.yaml"
    path.write_text(_with_platform(compiled(k8s), K8S))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ir = import_pipeline(path.read_text())
    reported = [str(w.message) for w in seen if w.category is KfpImportWarning]
    assert len(reported) == 1 and "tolerations only place its pod" in reported[0]
    options = ir.component_of("reads").pod
    assert options.secrets == (Secret("creds", "token", "TOKEN"),)
    assert options.config_maps == (ConfigMapEnv("cfg", "mode", "MODE"),)
    assert set(options.volumes) == {
        Volume.pvc("data", "/data"),
        Volume.empty_dir("/scratch", name="scratch"),
    }
    assert options.image_pull_secrets == ("regcred",) and options.labels == {"team": "ml"}
    # and Argo carries them as a dagwright task's: the Secret by name in the pod spec
    argo = yaml.safe_load(dagwright.compile(ir, target="argo", **DELIVERY))
    template = next(t for t in argo["spec"]["templates"] if "container" in t)
    refs = [e["valueFrom"] for e in template["container"]["env"] if "valueFrom" in e]
    assert {"secretKeyRef": {"name": "creds", "key": "token"}} in refs

    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"creds.token={SECRET}\nMODE=fast\n")
    root = tmp_path / "store"
    with pytest.warns(LocalVolumeWarning, match="/data"):
        result = dagwright.run(
            str(path), x=3, root=str(root), secrets_file=str(secrets), echo=False
        )
    assert result.status == "succeeded", result.steps[0].error
    digest = hashlib.sha256(SECRET.encode()).hexdigest()[:8]
    assert result.steps[0].outputs["Output"] == f"{digest}:fast:3"
    assert (root / "volumes" / "pvc" / "data" / "out.txt").read_text() == "3"
    assert "token is" in result.steps[0].stdout and SECRET not in result.steps[0].stdout
    assert SECRET.encode() not in (root / "runs.db").read_bytes()
    with sqlite3.connect(root / "runs.db") as db:
        ir_text = db.execute("select ir from runs").fetchone()[0]
    assert '"creds"' in ir_text and SECRET not in ir_text
    # a Secret with no value anywhere is refused before anything runs
    missing = tmp_path / "empty.env"
    missing.write_text("MODE=fast\n")
    with pytest.raises(ValidationError) as caught:
        dagwright.run(str(path), root=str(root), secrets_file=str(missing), echo=False)
    assert "TOKEN" in caught.value.problem


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        (
            {"secretAsEnv": [{"secretNameParameter": {"componentInputParameter": "name"},
                              "keyToEnv": [{"secretKey": "k", "envVar": "K"}]}]},
            "secretAsEnv[0].secretNameParameter",
            "pipeline value",
        ),
        (
            {"pvcMount": [{"taskOutputParameter": {"producerTask": "createpvc",
                                                    "outputParameterKey": "name"}},
                          ]},
            "pvcMount[0]",
            "CreatePVC",
        ),
        (
            {"pvcMount": [{"constant": "data", "mountPath": "/data", "subPath": "a"}]},
            "pvcMount[0].subPath",
            "sub path",
        ),
        (
            {"secretAsVolume": [{"secretName": "Not_A_Name", "mountPath": "/s"}]},
            "volumes[0].name",
            "Kubernetes object name",
        ),
        (
            {"pvcMount": [{"constant": "a", "mountPath": "/x"},
                          {"constant": "b", "mountPath": "/x"}]},
            "volumes[1].mount_path",
            "also the mount path",
        ),
        (
            {"fieldPathAsEnv": [{"name": "POD", "fieldPath": "metadata.name"}]},
            "fieldPathAsEnv",
            "pod fields",
        ),
        (
            {"secretAsEnv": [{"secretName": "a", "keyToEnv": ["TOKEN"]}]},
            "secretAsEnv[0].keyToEnv[0]",
            "not a kfp-kubernetes",
        ),
        ({"nodeSelector": "pool=cpu"}, "nodeSelector", "not a kfp-kubernetes"),
        (
            {"enabledSharedMemory": {"volumeName": "shm", "size": "1Gi"}},
            "enabledSharedMemory",
            "shared-memory",
        ),
    ],
)  # fmt: skip
def test_what_no_pod_option_holds_is_refused_by_name(
    compiled: Callable[[Any], Path], config: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        import_pipeline(_with_platform(compiled(k8s), config))
    error = caught.value
    assert error.field == f"{FIELD}.{field}" and error.task == "reads"
    assert words in error.problem and error.fix


def test_a_secret_variable_clashing_with_a_plain_one_is_refused(
    compiled: Callable[[Any], Path],
) -> None:
    spec, *_ = yaml.safe_load_all(compiled(k8s).read_text())
    container = spec["deploymentSpec"]["executors"]["exec-reads"]["container"]
    container["env"] = [{"name": "TOKEN", "value": "plain"}]
    text = yaml.safe_dump(spec)
    with pytest.raises(ValidationError) as caught:
        import_pipeline(_with_platform(text, {"secretAsEnv": K8S["secretAsEnv"]}))
    assert caught.value.field == f"{FIELD}.secrets[0].env"


def test_node_affinity_the_options_cannot_say_is_reported_not_kept(
    compiled: Callable[[Any], Path],
) -> None:
    either = [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": [zone]}]}
        for zone in ("a", "b")
    ]
    config = {"nodeAffinity": either, "nodeSelector": {"labels": {"pool": "cpu"}}}
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ir = import_pipeline(_with_platform(compiled(k8s), config))
    reported = [str(w.message) for w in seen if w.category is KfpImportWarning]
    assert len(reported) == 1 and "nodeAffinity only place its pod" in reported[0]
    options = ir.component_of("reads").pod
    assert options.affinity == () and options.node_selector == {"pool": "cpu"}
    # one required term and single-expression preferences are what the options hold
    config["nodeAffinity"] = [either[0], {**copy.deepcopy(either[1]), "weight": 7}]
    ir = import_pipeline(_with_platform(compiled(k8s), config))
    assert ir.component_of("reads").pod.affinity == (
        NodeAffinity("zone", "In", ("a",)),
        NodeAffinity("zone", "In", ("b",), weight=7),
    )


def test_a_pipeline_written_with_kfp_kubernetes_imports_and_compiles_back(
    compiled: Callable[[Any], Path],
) -> None:
    kubernetes = pytest.importorskip("kfp.kubernetes")

    @dsl.pipeline(name="with-k8s")
    def with_k8s(x: int = 1):
        task = reads(x=x)
        kubernetes.use_secret_as_env(task, "creds", {"token": "TOKEN"})
        kubernetes.use_config_map_as_env(task, "cfg", {"mode": "MODE"})
        kubernetes.mount_pvc(task, "data", "/data")
        kubernetes.add_pod_label(task, "team", "ml")

    path = compiled(with_k8s)
    ir = import_pipeline(path)
    options = ir.component_of("reads").pod
    assert options.secrets == (Secret("creds", "token", "TOKEN"),)
    assert options.volumes == (Volume.pvc("data", "/data"),)
    assert options.labels == {"team": "ml"}
    ours = _by_task(dagwright.compile(ir, target="kfp", **DELIVERY))["reads"]
    theirs = _by_task(path.read_text())["reads"]
    # dagwright writes the plain name fields every backend reads, kfp-kubernetes both forms
    for entries in theirs.values():
        for entry in entries if isinstance(entries, list) else []:
            for key in [k for k in entry if k.endswith("Parameter")]:
                del entry[key]
            if entry.get("optional") is False:
                del entry["optional"]
    assert ours == theirs


# A stand-in for the docker CLI: answers `info`, records each call's argv, and runs a `run`'s
# command on the host with the variables `-e NAME` passes from its own environment.
FAKE_DOCKER = """#!{python}
import json, os, subprocess, sys
args = sys.argv[1:]
with open({log!r}, "a") as f:
    f.write(json.dumps(args) + "\\n")
if args[:1] == ["info"]:
    sys.exit(0)
env = {{"PATH": os.environ["PATH"]}}
i = 1
while args[i].startswith("-"):
    if args[i] == "-e":
        env[args[i + 1]] = os.environ.get(args[i + 1], "")
    if args[i] == "--entrypoint":
        entry = args[i + 1]
    i += 1 if args[i] in ("--rm", "-i") else 2
sys.exit(subprocess.run([entry, *args[i + 1:]], env=env).returncode)
"""


@dsl.container_component
def shout(said: dsl.OutputPath(str)):
    return dsl.ContainerSpec(
        image="alpine:3.19",
        command=["sh", "-c", 'printf "%s:%s" "${#TOKEN}" "$MODE" > "$0"', said],
    )


@dsl.pipeline(name="shouts")
def shouts() -> str:
    return shout().output


def test_a_container_step_gets_its_secrets_and_volumes_in_the_container(
    tmp_path: Path, compiled: Callable[[Any], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir, log = tmp_path / "bin", tmp_path / "docker-calls.jsonl"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER.format(python=sys.executable, log=str(log)))
    (bin_dir / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    config = {key: K8S[key] for key in ("secretAsEnv", "configMapAsEnv", "pvcMount")}
    path = tmp_path / "shouts-options.yaml"
    path.write_text(_with_platform(compiled(shouts), config).replace("exec-reads", "exec-shout"))
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"creds.token={SECRET}\nMODE=fast\n")
    root = tmp_path / "store"
    with pytest.warns(LocalVolumeWarning):
        result = dagwright.run(str(path), root=str(root), secrets_file=str(secrets), echo=False)
    assert result.outputs == {"Output": f"{len(SECRET)}:fast"}
    run = next(json.loads(c) for c in log.read_text().splitlines() if c.startswith('["run"'))
    assert f"{root / 'volumes' / 'pvc' / 'data'}:/data:rw" in run  # the claim at its path
    passed = [run[i + 1] for i, arg in enumerate(run) if arg == "-e"]
    assert {"TOKEN", "MODE"} <= set(passed) and "DAGWRIGHT_MOUNTS" not in passed
    assert not any(SECRET in arg for arg in run)  # values never on a command line
