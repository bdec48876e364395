"""A component's pod options (volumes, Secrets and ConfigMaps as variables, placement, image
pull secrets, labels, annotations): given to ``@component`` or per task, checked where they are
written, kept in the IR and its digest."""

from __future__ import annotations

from typing import Any

import pytest

from dagwright import (
    ConfigMapEnv,
    NodeAffinity,
    PipelineIR,
    Secret,
    ValidationError,
    Volume,
    component,
    pipeline,
)
from dagwright.components.pod import PodOptions, pod_fields


def add(x: int) -> int:
    return x + 1


plain = component(add)

FULL: dict[str, Any] = {
    "volumes": [
        Volume.pvc("data", "/data", read_only=True),
        Volume.empty_dir("/scratch", medium="Memory", size_limit="1Gi"),
        Volume.config_map("settings", "/etc/settings"),
        Volume.secret("tls", "/etc/tls", optional=True),
    ],
    "secrets": [Secret("db", "password", env="DB_PASSWORD")],
    "config_maps": [ConfigMapEnv("settings", "mode", env="MODE")],
    "node_selector": {"pool": "gpu"},
    "affinity": [NodeAffinity("zone", "In", ("a", "b")), NodeAffinity("ssd", "Exists", weight=5)],
    "image_pull_secrets": ["registry-creds"],
    "labels": {"team": "ml"},
    "annotations": {"example.com/owner": "ana smith"},
}


def test_every_option_round_trips_through_the_ir_and_counts_in_the_digest() -> None:
    comp = component(**FULL)(add)
    spec = comp.spec

    @pipeline
    def p() -> int:
        return comp(x=1).output

    back = PipelineIR.from_yaml(p.ir.to_yaml())
    assert back.component_of("add").pod == spec.pod
    assert back.component_of("add").digest == spec.digest
    assert spec.digest != plain.spec.digest  # the pod changes what runs
    for key in FULL:  # each option alone changes the digest
        assert component(**{key: FULL[key]})(add).digest != plain.digest
    # a component without them keeps the digest it had: no "pod" key in its IR at all
    assert "pod" not in plain.spec.to_dict()


def test_the_ir_keeps_names_and_keys_of_secrets_never_values() -> None:
    spec = component(secrets=[Secret("db", "password", env="DB_PASSWORD")])(add).spec
    assert spec.to_dict()["pod"]["secrets"] == [
        {"name": "db", "key": "password", "env": "DB_PASSWORD"}
    ]


def test_pod_fields_are_kubernetes_container_and_pod_fields() -> None:
    container, pod = pod_fields(component(**FULL)(add).spec.pod)
    assert container["env"] == [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
    ]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/data"]["readOnly"] is True and "readOnly" not in mounts["/scratch"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert {m["name"] for m in mounts.values()} == set(volumes)
    assert volumes[mounts["/scratch"]["name"]]["emptyDir"] == {
        "medium": "Memory",
        "sizeLimit": "1Gi",
    }
    assert volumes[mounts["/etc/tls"]["name"]]["secret"] == {"secretName": "tls", "optional": True}
    node = pod["affinity"]["nodeAffinity"]
    required = node["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert required == [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}
    ]
    assert node["preferredDuringSchedulingIgnoredDuringExecution"] == [
        {"weight": 5, "preference": {"matchExpressions": [{"key": "ssd", "operator": "Exists"}]}}
    ]
    assert pod["imagePullSecrets"] == [{"name": "registry-creds"}]
    assert pod["metadata"] == {
        "labels": {"team": "ml"},
        "annotations": {"example.com/owner": "ana smith"},
    }
    assert pod_fields(PodOptions()) == ({}, {})


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"volumes": [Volume.pvc("Data_Set", "/data")]}, "volumes[0].name"),
        ({"volumes": [Volume.pvc("data", "data")]}, "volumes[0].mount_path"),
        # the container's root, a path leaving its folder, a line break: no pod starts
        ({"volumes": [Volume.pvc("data", "/")]}, "volumes[0].mount_path"),
        ({"volumes": [Volume.pvc("data", "/data/../etc")]}, "volumes[0].mount_path"),
        ({"volumes": [Volume.empty_dir("/data\n")]}, "volumes[0].mount_path"),
        ({"volumes": Volume.pvc("data", "/data")}, None),  # one Volume is taken as a list
        (
            {"volumes": [Volume.pvc("a", "/data"), Volume.empty_dir("/data/")]},
            "volumes[1].mount_path",
        ),
        ({"volumes": [Volume.empty_dir("/x", size_limit="lots")]}, "volumes[0].size_limit"),
        ({"volumes": ["/data"]}, "volumes"),
        ({"secrets": [Secret("db", "password", env="1PASS")]}, "secrets[0].env"),
        # dagwright.mounted reads this variable: a Secret there would be parsed as the mounts
        ({"secrets": [Secret("db", "password", env="DAGWRIGHT_MOUNTS")]}, "secrets[0].env"),
        ({"config_maps": [ConfigMapEnv("c", "m", "DAGWRIGHT_MOUNTS")]}, "config_maps[0].env"),
        # the launcher's own pod variables (downward API): a Secret there clashes with them
        ({"secrets": [Secret("db", "pw", env="DAGWRIGHT_POD_NAME")]}, "secrets[0].env"),
        ({"config_maps": [ConfigMapEnv("c", "m", "DAGWRIGHT_STEP")]}, "config_maps[0].env"),
        # a plain variable is a way of setting one too
        ({"env": {"DAGWRIGHT_MOUNTS": "{}"}}, "env['DAGWRIGHT_MOUNTS']"),
        ({"env": {"DAGWRIGHT_POD_NAMESPACE": "x"}}, "env['DAGWRIGHT_POD_NAMESPACE']"),
        ({"secrets": [Secret("DB", "password", env="P")]}, "secrets[0].name"),
        ({"secrets": [Secret("db", "pass word", env="P")]}, "secrets[0].key"),
        (
            {"secrets": [Secret("db", "a", env="X")], "config_maps": [ConfigMapEnv("c", "b", "X")]},
            "config_maps[0].env",
        ),
        ({"secrets": [Secret("db", "a", env="X"), Secret("db", "b", env="X")]}, "secrets[1].env"),
        (
            {"env": {"MODE": "x"}, "config_maps": [ConfigMapEnv("c", "m", "MODE")]},
            "config_maps[0].env",
        ),
        ({"affinity": [NodeAffinity("zone", "Near", ("a",))]}, "affinity[0].operator"),
        ({"affinity": [NodeAffinity("zone", "In")]}, "affinity[0].values"),
        ({"affinity": [NodeAffinity("zone", "Exists", weight=500)]}, "affinity[0].weight"),
        ({"image_pull_secrets": "creds"}, "image_pull_secrets"),
        ({"image_pull_secrets": ["Creds!"]}, "image_pull_secrets"),
        ({"labels": {"team": "machine learning"}}, "labels.team"),
        ({"labels": {"-bad": "x"}}, "labels.-bad"),
        ({"node_selector": {"pool": 3}}, "node_selector.pool"),
        ({"annotations": {"a/b/c": "x"}}, "annotations.a/b/c"),
        ({"annotations": {"note": 3}}, "annotations.note"),
    ],
)
def test_bad_options_are_refused_naming_the_field(options: dict[str, Any], field: str) -> None:
    if field is None:
        assert component(**options)(add).spec.pod.volumes == (Volume.pvc("data", "/data"),)
        return
    with pytest.raises(ValidationError) as caught:
        component(**options)(add)
    assert caught.value.field == field
    assert caught.value.fix


def test_task_methods_are_the_component_options() -> None:
    @pipeline
    def p() -> int:
        task = plain(x=1)
        task.mount_pvc("data", "/data", read_only=True)
        task.empty_dir_mount("scratch", "/scratch", medium="Memory", size_limit="1Gi")
        task.use_config_map_as_volume("settings", "/etc/settings")
        task.use_secret_as_volume("tls", "/etc/tls", optional=True)
        task.use_secret_as_env("db", {"password": "DB_PASSWORD"})
        task.use_config_map_as_env("settings", {"mode": "MODE"})
        task.add_node_selector("pool", "gpu")
        task.add_node_affinity("zone", "In", ["a", "b"]).add_node_affinity(
            "ssd", "Exists", weight=5
        )
        task.set_image_pull_secrets(["registry-creds"])
        task.add_pod_label("team", "ml")
        return task.add_pod_annotation("example.com/owner", "ana smith").output

    options = dict(FULL)
    options["volumes"] = [*FULL["volumes"]]
    options["volumes"][1] = Volume.empty_dir(
        "/scratch", name="scratch", medium="Memory", size_limit="1Gi"
    )
    same = component(**options)(add)
    spec = p.ir.component_of("add")
    assert spec.pod == same.spec.pod and spec.digest == same.digest
    assert list(p.ir.components) == [p.ir.task("add").component]


def test_add_volume_takes_a_volume_and_a_clash_with_the_component_is_refused() -> None:
    comp = component(volumes=[Volume.pvc("data", "/data")])(add)

    @pipeline
    def ok() -> int:
        return comp(x=1).add_volume(Volume.empty_dir("/tmp/work")).output

    assert [v.mount_path for v in ok.ir.component_of("add").pod.volumes] == ["/data", "/tmp/work"]

    @pipeline
    def clash() -> int:
        return comp(x=1).add_volume(Volume.pvc("other", "/data")).output

    with pytest.raises(ValidationError) as caught:
        clash.build()
    assert caught.value.field == "volumes[1].mount_path"
    assert "add_volume" in str(caught.value)

    @pipeline
    def twice() -> int:
        task = comp(x=1).use_secret_as_env("db", {"password": "PW"})
        return task.set_env_variable("PW", "x").output

    with pytest.raises(ValidationError) as caught:
        twice.build()
    assert caught.value.field == "secrets[0].env"


def test_a_pod_option_on_an_importer_is_refused() -> None:
    from dagwright import Dataset, importer

    @pipeline
    def p() -> None:
        importer("gs://bucket/data.csv", Dataset).mount_pvc("data", "/data")

    with pytest.raises(ValidationError) as caught:
        p.build()
    assert caught.value.field == "mount_pvc"


def test_a_malformed_pod_in_an_ir_file_is_refused_by_its_path() -> None:
    @pipeline
    def p() -> int:
        return component(labels={"team": "ml"})(add)(x=1).output

    data = p.ir.to_dict()
    cid = next(iter(data["components"]))
    data["components"][cid]["pod"]["volumes"] = [{"kind": "pvc", "path": "/data"}]
    with pytest.raises(ValidationError) as caught:
        PipelineIR.from_dict(data)
    assert f"components.{cid}.pod.volumes[0].path" in str(caught.value)


def test_one_pvc_mounted_at_two_paths_is_one_pod_volume() -> None:
    spec = component(volumes=[Volume.pvc("data", "/a"), Volume.pvc("data", "/b")])(add).spec
    container, pod = pod_fields(spec.pod)
    assert len(pod["volumes"]) == 1
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/a", "/b"]
    with pytest.raises(ValidationError) as caught:
        component(volumes=[Volume.pvc("data", "/a"), Volume.pvc("data", "/b", True)])(add)
    assert caught.value.field == "volumes[1].name"


@pytest.mark.parametrize("name", ["DAGWRIGHT_MOUNTS", "DAGWRIGHT_POD_UID", "DAGWRIGHT_SYNC_URIS"])
@pytest.mark.parametrize("from_parameter", [False, True])
def test_set_env_variable_refuses_a_variable_dagwright_sets_itself(
    name: str, from_parameter: bool
) -> None:
    @pipeline
    def p(mode: str = "fast") -> int:
        task = plain(x=1)
        return task.set_env_variable(name, mode if from_parameter else "x").output

    with pytest.raises(ValidationError) as caught:
        p.build()
    assert caught.value.field == f"env['{name}']"
    assert "set_env_variable" in str(caught.value) and caught.value.fix


def test_reserved_variables_are_those_the_modules_that_read_them_name() -> None:
    from dagwright.components.pod import MOUNTS_ENV
    from dagwright.lineage.syncer import URIS_ENV
    from dagwright.names import RESERVED_ENV
    from dagwright.runtimes.launcher import POD_NAME_ENV, POD_NAMESPACE_ENV, POD_UID_ENV
    from dagwright.runtimes.nuclio_deploy import STEP_ENV

    read = {MOUNTS_ENV, URIS_ENV, POD_NAME_ENV, POD_NAMESPACE_ENV, POD_UID_ENV, STEP_ENV}
    assert read == RESERVED_ENV
