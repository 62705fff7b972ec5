"""deploy/observability: the alerting rules pass `promtool check rules`, and every metric
they (and the Grafana dashboard) name is one the services export; each thing an operator
watches has a rule."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub_shared.config import ServiceName
from tests.support.asgi import app_of

OBSERVABILITY = Path(__file__).resolve().parents[2] / "deploy" / "observability"
RULES = OBSERVABILITY / "prometheus-rules.yaml"
DASHBOARD = OBSERVABILITY / "grafana-dashboard.json"
SERVICES: tuple[ServiceName, ...] = ("permit-ingest", "enrollment", "incidents", "notifier")
METRIC = re.compile(r"\bhub_[a-z0-9_]+\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def _rules() -> list[dict[str, Any]]:
    rule = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    assert rule["apiVersion"] == "monitoring.coreos.com/v1" and rule["kind"] == "PrometheusRule"
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The names of every sample the four services' registries can export."""
    names: set[str] = set()
    for service in SERVICES:
        app = app_of(service, tmp_path_factory.mktemp(service))
        for family in app.state.runtime.metrics.registry.collect():
            names.update(family.name + s for s in SUFFIXES.get(family.type, ("",)))
    return names


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: apt-get install prometheus (.ci/run does)"
    spec = yaml.safe_load(RULES.read_text(encoding="utf-8"))["spec"]
    plain = tmp_path / "rules.yaml"
    plain.write_text(yaml.safe_dump(spec), encoding="utf-8")
    done = subprocess.run(
        [promtool, "check", "rules", str(plain)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in done.stdout


def test_every_metric_the_rules_and_dashboard_name_is_exported(exported: set[str]) -> None:
    exprs = [str(r["expr"]) for r in _rules()] + _dashboard_exprs()
    for expr in exprs:
        named = set(METRIC.findall(expr))
        assert named, f"names no hub metric: {expr}"
        assert named <= exported, f"{sorted(named - exported)} not exported (in {expr})"


def test_each_watched_quantity_has_an_alert() -> None:
    alerted = {name for r in _rules() for name in METRIC.findall(str(r["expr"]))}
    watched = {
        "hub_consumer_lag",
        "hub_outbox_oldest_unsent_seconds",
        "hub_notifier_delivery_backlog",
        "hub_notifier_delivery_oldest_pending_seconds",
        "hub_events_dead_lettered",
        "hub_notifier_open_alerts",
    }
    assert watched <= alerted


def test_every_rule_explains_itself() -> None:
    for rule in _rules():
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
