"""docs/interfaces.md holds to the code: every route under its service, every topic with
its key and events, every event field, alert kind, problem type, scope, configuration key
and environment variable with its default. Each test reads the code (the apps' routes,
the topic registry, the event models, the settings models) and fails when the document
leaves something out or describes something the code no longer has."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from hub_shared.config import EnvSettings, HubConfig
from hub_shared.messaging import events
from hub_shared.messaging.topics import ALL_TOPICS
from hub_shared.web.errors import HubError
from tests.support.docs import (
    DOCS,
    REPO,
    SERVICES,
    build_apps,
    interfaces,
    mentioned_routes,
    routes_of,
    rows_by_key,
    section,
    sections,
    served,
    shown,
    table_rows,
)


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FastAPI]:
    return build_apps(tmp_path_factory.mktemp("apps"))


# --- routes ---


def test_every_route_is_documented_under_its_service(apps: dict[str, FastAPI]) -> None:
    text = interfaces()
    every = [routes_of(app) for app in apps.values()]
    common = set.intersection(*(routes for routes, _mounts in every))
    common_section = mentioned_routes(section(text, 2, "1. Every service"))
    assert common - common_section == set(), "routes of every service missing from §1"
    for number, (service, (routes, mounts)) in enumerate(zip(SERVICES, every, strict=True), 4):
        documented = mentioned_routes(section(text, 2, f"{number}. {service}:"))
        assert routes - common - documented == set(), f"{service} routes missing from §{number}"
        for mount in mounts:
            assert any(path.startswith(mount + "/") for _m, path in documented), mount
        stale = {r for r in documented if not served(r, routes, mounts)}
        assert stale == set(), f"§{number} describes routes {service} does not serve"


def test_every_route_the_documents_name_exists(apps: dict[str, FastAPI]) -> None:
    every = [routes_of(app) for app in apps.values()]
    for name in ("interfaces.md", "architecture.md", "domain.md"):
        named = mentioned_routes((DOCS / name).read_text(encoding="utf-8"))
        stale = {r for r in named if not any(served(r, rs, ms) for rs, ms in every)}
        assert stale == set(), f"docs/{name} names routes no service serves"


# --- topics and events ---


def test_every_topic_is_documented_with_its_key_and_events() -> None:
    rows = rows_by_key(section(interfaces(), 2, "9. Kafka topics"))
    for topic in ALL_TOPICS:
        assert topic.name in rows, f"topic {topic.name} is not in the table of §9"
        row = rows[topic.name]
        assert row[1] == topic.key, f"{topic.name}: key {row[1]!r}, the code says {topic.key!r}"
        assert set(re.findall(r"`([a-z_]+\.[a-z_]+)`", row[2])) == set(topic.events), topic.name
    named = {key for key in rows if key.endswith(tuple(f".v{n}" for n in range(1, 10)))}
    assert named == {t.name for t in ALL_TOPICS}, "§9 lists topics the registry does not have"


def event_models() -> list[type[events.EventData]]:
    return [
        model
        for model in vars(events).values()
        if isinstance(model, type)
        and issubclass(model, events.EventData)
        and model is not events.EventData
    ]


def test_every_event_field_is_documented() -> None:
    payloads = sections(section(interfaces(), 2, "9. Kafka topics"), 4)
    assert len(event_models()) >= 10
    for model in event_models():
        owning = [
            body
            for heading, body in payloads.items()
            if re.search(rf"\b{model.__name__}\b", heading)
        ]
        assert len(owning) == 1, f"no payload heading of §9 names {model.__name__}"
        missing = {f for f in model.model_fields if f"`{f}`" not in owning[0]}
        assert missing == set(), f"{model.__name__} fields not documented"


def test_every_alert_kind_is_documented(apps: dict[str, FastAPI]) -> None:
    """The hub's kinds, and the notifier's own, as its `GET /v1/alerts` filter lists them."""
    operation = apps["notifier"].openapi()["paths"]["/v1/alerts"]["get"]
    kind = next(p["schema"] for p in operation["parameters"] if p["name"] == "kind")
    listed = {value for option in kind["anyOf"] for value in option.get("enum", ())}
    assert set(get_args(events.AlertKind)) < listed
    documented = rows_by_key(section(interfaces(), 2, "7. notifier:"))
    assert listed - set(documented) == set()


# --- errors, scopes ---


def _error_classes() -> Iterator[type[HubError]]:
    yield HubError
    pending = list(HubError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        yield cls


def test_every_problem_type_is_documented_with_its_status(apps: dict[str, FastAPI]) -> None:
    """Every HubError class, the services' own too (`apps` has imported them)."""
    rows = table_rows(section(interfaces(), 2, "3. Errors"))
    documented = {(row[0], row[1]) for row in rows if len(row) > 2}
    for cls in _error_classes():
        assert (str(cls.status), f"`{cls.slug}`") in documented, f"problem {cls.slug}"


def test_every_scope_the_routes_check_is_documented() -> None:
    scopes = {"admin"}
    for path in (REPO / "services").rglob("*.py"):
        scopes |= set(
            re.findall(r'"([a-z]+:(?:read|write|ack))"', path.read_text(encoding="utf-8"))
        )
    credentials = section(section(interfaces(), 2, "2. Configuration"), 3, "Credentials")
    assert {s for s in scopes if f"`{s}`" not in credentials} == set()
    assert len(scopes) >= 10


# --- configuration ---


def _toml_tables() -> dict[str, type[BaseModel]]:
    """`[kafka]` -> KafkaConfig, `[[sources]]` -> SourceConfig, for every table of the file."""
    tables: dict[str, type[BaseModel]] = {}
    for name, field in HubConfig.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            tables[f"`[{name}]`"] = annotation
        else:
            (item, _ellipsis) = get_args(annotation)
            tables[f"`[[{name}]]`"] = item
    return tables


def test_every_key_of_the_configuration_file_is_documented_with_its_default() -> None:
    file_section = section(section(interfaces(), 2, "2. Configuration"), 3, "The TOML file")
    headings = sections(file_section, 4)
    for table, model in _toml_tables().items():
        bodies = [body for heading, body in headings.items() if heading.startswith(table)]
        assert len(bodies) == 1, f"no heading for {table}"
        rows = rows_by_key(bodies[0])
        assert set(rows) - {"key"} == set(model.model_fields), f"keys of {table}"
        for key, field in model.model_fields.items():
            default = (
                "required"
                if field.is_required()
                else shown(field.get_default(call_default_factory=True))
            )
            assert rows[key][2].replace("`", "") == default, f"{table} {key}: default"


def _variable(name: str, field: FieldInfo) -> str:
    """The variable a setting is read from: `HUB_<NAME>`, or its own name when the setting
    takes another library's variable (`OTEL_EXPORTER_OTLP_ENDPOINT`, no prefix)."""
    alias = field.validation_alias
    return alias if isinstance(alias, str) else f"HUB_{name.upper()}"


def test_every_environment_variable_is_documented_with_its_default() -> None:
    env_section = section(section(interfaces(), 2, "2. Configuration"), 3, "Environment variables")
    rows = rows_by_key(env_section)
    fields = EnvSettings.model_fields
    assert set(rows) == {_variable(name, field) for name, field in fields.items()}
    for name, field in fields.items():
        default = field.get_default()
        if isinstance(default, Path):
            continue  # written as a path a reader recognises (`./var`)
        variable = _variable(name, field)
        assert rows[variable][1] == shown(default), f"{variable}: default"
