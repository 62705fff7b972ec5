"""The Kubernetes manifests in deploy/k8s: well-formed, complete, and in step with the code
(topics, ports, consumer groups, configuration model), with no real secret in the repo."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from hub_shared.config import DEFAULT_PORTS, HubConfig
from hub_shared.messaging.topics import ALL_TOPICS, AUDIT, DEADLETTER

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
NAMESPACE = "jining-hub"
PLACEHOLDER = "CHANGE_ME"
PACKAGES = {
    "permit-ingest": "permit_ingest",
    "enrollment": "enrollment",
    "incidents": "incidents",
    "notifier": "notifier",
}
# Topic ownership (docs/architecture.md, docs/interfaces.md §9): what each service publishes
# and reads.
PRODUCES = {
    "permit-ingest": {"permits.v1"},
    "enrollment": {"enterprises.v1", "enrollments.v1", "findings.v1", "alerts.v1"},
    "incidents": {"accidents.v1", "diseases.v1"},
    "notifier": {"alerts.v1"},
}
CONSUMES = {
    "permit-ingest": set(),
    "enrollment": {"permits.v1", "enrollments.v1", "findings.v1", "accidents.v1", "diseases.v1"},
    "incidents": {"enterprises.v1", "enrollments.v1"},
    "notifier": {"alerts.v1"},
}
# The consumer each lag-scaled service registers with runtime.add_consumer(name=...).
CONSUMERS = {"enrollment": "matcher", "incidents": "projection", "notifier": "alerts"}

Doc = dict[str, Any]


def _load() -> list[tuple[Path, Doc]]:
    docs = []
    for path in sorted([*K8S.rglob("*.yaml"), *K8S.rglob("*.yml")]):
        with path.open(encoding="utf-8") as fh:
            docs += [(path, doc) for doc in yaml.safe_load_all(fh) if doc is not None]
    return docs


DOCS = _load()


def _all(kind: str) -> list[Doc]:
    return [doc for _, doc in DOCS if doc.get("kind") == kind]


def _one(kind: str, name: str) -> Doc:
    found = [doc for doc in _all(kind) if doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    doc: Doc = found[0]
    return doc


def _env(container: Doc) -> dict[str, Doc]:
    return {item["name"]: item for item in container.get("env", [])}


def _container(service: str) -> Doc:
    containers = _one("Deployment", service)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: Doc = containers[0]
    return container


def _bootstrap() -> str:
    value: str = _one("ConfigMap", "hub-env")["data"]["HUB_KAFKA_BOOTSTRAP"]
    return value


def _partitions() -> dict[str, int]:
    return {t["metadata"]["name"]: t["spec"]["partitions"] for t in _all("KafkaTopic")}


def test_manifests_exist_and_every_document_has_api_version_kind_and_name() -> None:
    assert len(DOCS) > 20
    for path, doc in DOCS:
        where = path.relative_to(K8S)
        assert isinstance(doc.get("apiVersion"), str) and doc["apiVersion"], where
        assert isinstance(doc.get("kind"), str) and doc["kind"], where
        assert doc.get("metadata", {}).get("name"), where


def test_every_resource_lives_in_the_hub_namespace() -> None:
    assert _one("Namespace", NAMESPACE)
    for path, doc in DOCS:
        if doc["kind"] not in {"Namespace", "Kustomization"}:
            assert doc["metadata"].get("namespace") == NAMESPACE, path.relative_to(K8S)


def test_kustomization_lists_every_manifest_except_the_example_secret() -> None:
    (kustomization,) = _all("Kustomization")
    assert kustomization["namespace"] == NAMESPACE
    listed = set(kustomization["resources"])
    files = {
        str(path.relative_to(K8S))
        for path, doc in DOCS
        if doc["kind"] != "Kustomization" and not path.name.endswith(".example.yaml")
    }
    assert listed == files
    assert not any(name.endswith(".example.yaml") for name in listed)


def test_strimzi_resources_use_the_v1_api_and_belong_to_the_cluster() -> None:
    (kafka,) = _all("Kafka")
    strimzi = [doc for _, doc in DOCS if doc["apiVersion"].startswith("kafka.strimzi.io/")]
    assert {doc["kind"] for doc in strimzi} == {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"}
    for doc in strimzi:
        assert doc["apiVersion"] == "kafka.strimzi.io/v1", doc["metadata"]["name"]
        if doc["kind"] != "Kafka":
            labels = doc["metadata"]["labels"]
            assert labels["strimzi.io/cluster"] == kafka["metadata"]["name"]
    assert _bootstrap() == f"{kafka['metadata']['name']}-kafka-bootstrap.{NAMESPACE}.svc:9093"


def test_kafka_is_kraft_on_three_persistent_nodes_with_a_mutual_tls_listener() -> None:
    (kafka,) = _all("Kafka")
    assert str(kafka["spec"]["kafka"]["version"]).startswith("4.")
    listeners = {item["port"]: item for item in kafka["spec"]["kafka"]["listeners"]}
    assert listeners[9093]["tls"] is True
    assert listeners[9093]["authentication"]["type"] == "tls"
    assert listeners[9092]["tls"] is False
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    assert set(kafka["spec"]["entityOperator"]) >= {"topicOperator", "userOperator"}
    (pool,) = _all("KafkaNodePool")
    assert pool["spec"]["replicas"] == 3
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    storage = pool["spec"]["storage"]
    volumes = storage["volumes"] if storage["type"] == "jbod" else [storage]
    assert volumes and all(volume["type"] == "persistent-claim" for volume in volumes)


def test_every_topic_of_the_registry_has_a_kafka_topic() -> None:
    topics = {t["metadata"]["name"]: t["spec"] for t in _all("KafkaTopic")}
    assert set(topics) == {topic.name for topic in ALL_TOPICS}
    retention = {name: int(spec["config"]["retention.ms"]) for name, spec in topics.items()}
    for name, spec in topics.items():
        assert spec["replicas"] == 3, name
        assert int(spec["config"]["min.insync.replicas"]) == 2, name
        if name != DEADLETTER.name:
            assert spec["partitions"] == 12, name
            # deadletter.v1 keeps records longer than any event topic (-1: forever).
            dead = retention[DEADLETTER.name]
            assert dead == -1 or (retention[name] != -1 and dead > retention[name]), name


@pytest.mark.parametrize("service", sorted(PRODUCES))
def test_kafka_user_acls_follow_topic_ownership(service: str) -> None:
    user = _one("KafkaUser", f"hub-{service}")
    assert user["spec"]["authentication"]["type"] == "tls"
    granted: dict[tuple[str, str, str], set[str]] = {}
    for acl in user["spec"]["authorization"]["acls"]:
        res = acl["resource"]
        key = (res["type"], res["name"], res.get("patternType", "literal"))
        granted.setdefault(key, set()).update(acl["operations"])
    expected: dict[tuple[str, str, str], set[str]] = {}
    for topic in PRODUCES[service] | {DEADLETTER.name, AUDIT.name}:
        expected.setdefault(("topic", topic, "literal"), set()).update({"Write", "Describe"})
    for topic in CONSUMES[service]:
        expected.setdefault(("topic", topic, "literal"), set()).update({"Read", "Describe"})
    if CONSUMES[service]:
        expected[("group", f"hub-{service}-", "prefix")] = {"Read"}
    assert granted == expected


@pytest.mark.parametrize("service", sorted(DEFAULT_PORTS))
def test_every_service_has_a_deployment_and_service_on_its_default_port(service: str) -> None:
    port = DEFAULT_PORTS[service]
    pod = _one("Deployment", service)["spec"]["template"]
    container = _container(service)
    assert container["image"] == f"registry.jining.local/hub/{service}:1.0.0"
    assert container["command"] == ["python", "-m", PACKAGES[service]]
    (container_port,) = container["ports"]
    assert container_port["containerPort"] == port
    slug = service.upper().replace("-", "_")
    env = _env(container)
    assert env[f"HUB_{slug}_PORT"]["value"] == str(port)
    assert env["HUB_HOST"]["value"] == "0.0.0.0"
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    assert pod["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        http = container[probe]["httpGet"]
        assert http["path"] == path
        assert http["port"] in {port, container_port["name"]}
    assert "startupProbe" in container
    (svc_port,) = _one("Service", service)["spec"]["ports"]
    assert svc_port["targetPort"] in {port, container_port["name"]}
    selector = _one("Service", service)["spec"]["selector"]
    assert selector.items() <= pod["metadata"]["labels"].items()
    assert _one("PodDisruptionBudget", service)["spec"]["selector"]["matchLabels"] == selector


@pytest.mark.parametrize("service", sorted(DEFAULT_PORTS))
def test_every_service_reads_config_from_the_configmap_and_the_secret(service: str) -> None:
    pod = _one("Deployment", service)["spec"]["template"]["spec"]
    container = _container(service)
    env = _env(container)
    secret = _one("Secret", "hub-config")["stringData"]
    assert {"configMapRef": {"name": "hub-env"}} in container["envFrom"]
    slug = service.upper().replace("-", "_")
    ref = env[f"HUB_{slug}_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == "hub-config" and ref["key"] in secret
    assert secret[ref["key"]].startswith("postgresql+asyncpg://")
    config_path = Path(env["HUB_CONFIG"]["value"])
    assert config_path == Path("/etc/hub/hub.toml")
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volume = next(v for v in pod["volumes"] if v["name"] == mounts[str(config_path.parent)])
    items = [
        (source["secret"]["name"], item["key"], item["path"])
        for source in volume["projected"]["sources"]
        for item in source["secret"].get("items", [])
    ]
    assert ("hub-config", "hub.toml", config_path.name) in items
    # HUB_<SERVICE>_PORT must not be shadowed by Kubernetes' service-link variables.
    assert pod["enableServiceLinks"] is False


@pytest.mark.parametrize("service", sorted(DEFAULT_PORTS))
def test_every_pod_runs_as_non_root_on_a_read_only_root_filesystem(service: str) -> None:
    pod = _one("Deployment", service)["spec"]["template"]["spec"]
    container = _container(service)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}


def test_secrets_in_the_repo_are_examples_holding_only_placeholders() -> None:
    secrets = [(path, doc) for path, doc in DOCS if doc["kind"] == "Secret"]
    assert secrets
    for path, secret in secrets:
        assert path.name.endswith(".example.yaml"), path
        # Base64 could hide a real value from review: plain stringData only.
        assert "data" not in secret, path
        for key, value in secret["stringData"].items():
            assert PLACEHOLDER in value, key
            leftover = value.replace(PLACEHOLDER, "")
            for word in re.findall(r"[A-Za-z0-9+/=_-]{20,}", leftover):
                assert not _looks_random(word), f"{key}: {word!r} looks like a real secret"
            assert "-----BEGIN" not in value, key
            if key.endswith("DATABASE_URL"):
                assert PLACEHOLDER in (urlsplit(value).password or ""), key
    config = _example_config()
    credentials = [s.secret for s in config.sources]
    credentials += [c.token for c in config.clients] + [o.token for o in config.offices]
    credentials += [o.webhook_secret for o in config.offices if o.webhook_secret]
    for credential in credentials:
        assert PLACEHOLDER in credential.get_secret_value()


def _looks_random(word: str) -> bool:
    """A long run mixing upper case, lower case and digits (a token, base64) or hex."""
    mixed = all(re.search(cls, word) for cls in (r"[A-Z]", r"[a-z]", r"\d"))
    return bool(mixed or re.fullmatch(r"[0-9a-fA-F]{32,}", word))


def _example_config() -> HubConfig:
    text = _one("Secret", "hub-config")["stringData"]["hub.toml"]
    return HubConfig.model_validate(tomllib.loads(text))


def test_example_config_is_accepted_by_the_configuration_model() -> None:
    config = _example_config()
    assert config.matching.grace_seconds == 86400
    assert config.kafka.bootstrap == _bootstrap()
    assert config.kafka.partitions == _partitions()["permits.v1"]
    assert config.sources and config.clients and config.offices


def test_permit_ingest_scales_on_cpu_and_the_consumers_on_lag() -> None:
    hpa = _one("HorizontalPodAutoscaler", "permit-ingest")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "permit-ingest"
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    scaled = {doc["spec"]["scaleTargetRef"]["name"] for doc in _all("ScaledObject")}
    assert scaled == set(CONSUMERS)
    for service in DEFAULT_PORTS:
        # The autoscaler owns the replica count; `kubectl apply` must not reset it.
        assert "replicas" not in _one("Deployment", service)["spec"], service


@pytest.mark.parametrize("service", sorted(CONSUMERS))
def test_scaled_objects_follow_the_consumer_group_lag_within_the_partition_count(
    service: str,
) -> None:
    scaled = _one("ScaledObject", service)
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    spec = scaled["spec"]
    prefix = _one("ConfigMap", "hub-env")["data"]["HUB_CONSUMER_GROUP_PREFIX"]
    triggers = spec["triggers"]
    assert {t["metadata"]["topic"] for t in triggers} == CONSUMES[service]
    assert spec["minReplicaCount"] == 1
    for trigger in triggers:
        meta = trigger["metadata"]
        assert trigger["type"] == "kafka"
        assert meta["bootstrapServers"] == _bootstrap()
        assert meta["consumerGroup"] == f"{prefix}-{service}-{CONSUMERS[service]}"
        assert meta["consumerGroup"].startswith(f"hub-{service}-")  # covered by its ACL
        assert int(meta["lagThreshold"]) > 0
        assert spec["maxReplicaCount"] <= _partitions()[meta["topic"]], meta["topic"]
        auth = _one("TriggerAuthentication", trigger["authenticationRef"]["name"])
        assert {ref["parameter"] for ref in auth["spec"]["secretTargetRef"]} >= {"ca", "cert"}


def test_keda_can_describe_every_scaled_topic_and_group() -> None:
    user = _one("KafkaUser", "hub-keda")
    described = {
        (acl["resource"]["type"], acl["resource"]["name"])
        for acl in user["spec"]["authorization"]["acls"]
        if "Describe" in acl["operations"]
    }
    for scaled in _all("ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            assert ("topic", trigger["metadata"]["topic"]) in described
    assert ("group", "hub-") in described
