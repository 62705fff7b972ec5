"""The documents in docs/ hold to the code.

Each test reads the code (the apps' routes, the topic registry, the event models, the
settings models, the code lists) and fails when the documents leave something out or
describe something the code no longer has. The apps are built as the other unit tests
build them (`tests.support.asgi.app_of`), never started.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.routing import Mount

from hub_shared import codelists, divisions, events, identifiers, industries
from hub_shared.config import EnvSettings, HubConfig
from hub_shared.errors import HubError
from hub_shared.topics import ALL_TOPICS
from tests.support.asgi import app_of

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
SERVICES = ("permit-ingest", "enrollment", "incidents", "notifier")
# The reference documents that used to live outside the repository. Spelt in two parts so
# that this file does not cite them itself.
OUTSIDE_DOCUMENTS = re.compile(r"\b(?:CONTRACTS|DOMAIN|DESIGN|STYLE)" + r"\.md\b")
ROUTE_MENTION = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s?]*)")


# --- reading the documents ---


def _lines_outside_code(text: str) -> Iterator[str]:
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        yield "" if fenced else line


def sections(text: str, level: int) -> dict[str, str]:
    """Heading text -> the text under it, down to the next heading of that level or above."""
    found: dict[str, str] = {}
    heading: str | None = None
    body: list[str] = []
    for line in _lines_outside_code(text):
        match = re.match(r"(#+) (.*)", line)
        if match and len(match[1]) <= level:
            if heading is not None:
                found[heading] = "\n".join(body)
            heading, body = (match[2].strip() if len(match[1]) == level else None), []
            continue
        body.append(line)
    if heading is not None:
        found[heading] = "\n".join(body)
    return found


def section(text: str, level: int, starts: str) -> str:
    """The one section whose heading starts with `starts`."""
    matching = [
        body for heading, body in sections(text, level).items() if heading.startswith(starts)
    ]
    assert len(matching) == 1, (
        f"expected one heading {'#' * level} {starts}…, found {len(matching)}"
    )
    return matching[0]


def table_rows(text: str) -> list[list[str]]:
    """The cells of every table row (header and separator rows included), backticks kept."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and line.rstrip().endswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def rows_by_key(text: str) -> dict[str, list[str]]:
    """Table rows keyed by their first cell's code span (`key`)."""
    return {m[1]: row for row in table_rows(text) if (m := re.fullmatch(r"`([^`]+)`", row[0]))}


def interfaces() -> str:
    return (DOCS / "interfaces.md").read_text(encoding="utf-8")


def domain() -> str:
    return (DOCS / "domain.md").read_text(encoding="utf-8")


def shown(value: Any) -> str:
    """A default value as the documents write it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, dict) and not value:
        return "{}"
    if value == "":
        return "(empty)"
    return str(value)


# --- routes ---


def _route_contexts(app: FastAPI) -> Iterator[Any]:
    """Every route with its full path (recent FastAPI keeps included routers unflattened)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # an older FastAPI lists every route on the app itself
        yield from app.routes
        return
    yield from iter_route_contexts(app.routes)


def routes_of(app: FastAPI) -> tuple[set[tuple[str, str]], set[str]]:
    """(method, path) of every route, and the path of every mounted app (static files)."""
    routes: set[tuple[str, str]] = set()
    mounts: set[str] = set()
    for route in _route_contexts(app):
        original = getattr(route, "original_route", route)
        if isinstance(original, Mount):
            mounts.add(original.path)
            continue
        for method in route.methods or ():
            if method != "HEAD":
                routes.add((method, route.path))
    return routes, mounts


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FastAPI]:
    return {s: app_of(s, tmp_path_factory.mktemp(s)) for s in SERVICES}


def mentioned_routes(text: str) -> set[tuple[str, str]]:
    return {(m[1], m[2].rstrip("/")) for m in ROUTE_MENTION.finditer(text)}


def _served(
    route: tuple[str, str],
    routes: set[tuple[str, str]],
    mounts: set[str],
    concrete: bool = False,
) -> bool:
    """Whether a route is served: as written (a template), or with `concrete` a real path
    such as `/v1/alerts/3f2c…` that a template of the app matches."""
    method, path = route
    if route in routes or (method == "GET" and any(path.startswith(m + "/") for m in mounts)):
        return True
    return concrete and any(
        method == served and re.fullmatch(_template_pattern(template), path)
        for served, template in routes
    )


def _template_pattern(template: str) -> str:
    return "[^/]+".join(re.escape(part) for part in re.split(r"\{[^}]+\}", template))


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
        stale = {r for r in documented if not _served(r, routes, mounts)}
        assert stale == set(), f"§{number} describes routes {service} does not serve"


def test_every_route_the_documents_name_exists(apps: dict[str, FastAPI]) -> None:
    served = [routes_of(app) for app in apps.values()]
    for name in ("interfaces.md", "architecture.md", "domain.md"):
        named = mentioned_routes((DOCS / name).read_text(encoding="utf-8"))
        stale = {r for r in named if not any(_served(r, rs, ms) for rs, ms in served)}
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


def test_every_environment_variable_is_documented_with_its_default() -> None:
    env_section = section(section(interfaces(), 2, "2. Configuration"), 3, "Environment variables")
    rows = rows_by_key(env_section)
    fields = EnvSettings.model_fields
    assert set(rows) == {f"HUB_{name.upper()}" for name in fields}
    for name, field in fields.items():
        default = field.get_default()
        if isinstance(default, Path):
            continue  # written as a path a reader recognises (`./var`)
        assert rows[f"HUB_{name.upper()}"][1] == shown(default), f"HUB_{name.upper()}: default"


# --- the domain's code lists ---


def test_code_lists_in_domain_match_the_code() -> None:
    text = domain()
    for code, name in divisions.DIVISIONS.items():
        assert f"| {code} | {name}" in text, f"division {code}"
    aliases = rows_by_key(text) | {row[0]: row for row in table_rows(text)}
    for alias, target in divisions.DEFAULT_ALIASES.items():
        assert aliases[alias][-1] == target, f"alias {alias}"
    for row in industries.KEY_INDUSTRIES:
        assert f"| `{row.key}` | {row.name_zh} | {', '.join(row.lists)} |" in text, row.key
    for risk_class, rate in industries.BASE_RATE_PERCENT.items():
        assert f"| {risk_class} | {rate}% |" in text, f"risk class {risk_class}"
    for letter, (first, last) in industries.SECTIONS.items():
        span = f"{first:02d}" if first == last else f"{first:02d}–{last:02d}"
        assert f"| {letter} | {span} |" in text, f"section {letter}"
    for number, category in codelists.DISEASE_CATEGORIES.items():
        assert f"| {number} | {category.name_zh}" in text, f"disease category {number}"
    for grade, name_zh in codelists.ACCIDENT_GRADE_NAMES_ZH.items():
        assert f"`{grade}` {name_zh}" in text, grade


def test_check_characters_in_domain_match_the_code() -> None:
    text = domain()
    assert f"`{identifiers.USCC_ALPHABET}`" in text
    assert " ".join(map(str, identifiers._USCC_WEIGHTS)) in text
    assert " ".join(map(str, identifiers._ORG_WEIGHTS)) in text
    assert " ".join(map(str, identifiers._ID_WEIGHTS)) in text
    assert f'`"{identifiers._ID_CHECK}"`' in text


# --- the README's walkthrough ---


def test_readme_commands_name_what_exists(apps: dict[str, FastAPI]) -> None:
    """Every make target, hub command, file, token and URL the README shows exists."""
    import typer.main

    from hub_shared.config import DEFAULT_PORTS, load_hub_config
    from hubtools.cli import app as hub_cli

    text = (REPO / "README.md").read_text(encoding="utf-8")
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))
    assert set(re.findall(r"\bmake ([a-z][\w-]*)", text)) <= targets
    commands = set(typer.main.get_group(hub_cli).commands)
    assert set(re.findall(r"(?:bin/|`)hub ([a-z][\w-]*)", text)) <= commands
    assert all((REPO / f).is_file() for f in re.findall(r"\b(examples/[\w.-]+)", text))
    hub = load_hub_config(REPO / "config" / "local.toml")
    tokens = {c.token.get_secret_value() for c in (*hub.clients, *hub.offices)}
    assert set(re.findall(r"(?:Bearer |token=)(dev-[\w-]+)", text)) <= tokens
    service_at = {str(port): service for service, port in DEFAULT_PORTS.items()}
    urls = re.findall(r"http://127\.0\.0\.1:(\d+)(/[^\s\"'?;`)]*)", text)
    assert len(urls) >= 8
    for port, path in urls:
        routes, mounts = routes_of(apps[service_at[port]])
        assert any(_served((m, path), routes, mounts, concrete=True) for m in ("GET", "POST")), path


# --- files and links ---


def repository_files() -> list[Path]:
    """Tracked and untracked (not ignored) files of the working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    return [REPO / name for name in listed.decode().split("\0") if name and (REPO / name).is_file()]


def test_the_documents_name_modules_that_exist() -> None:
    """A module path the documents name (`notifier/service.py`) is in the tree."""
    roots = [REPO, REPO / "shared", REPO / "tools", *sorted((REPO / "services").iterdir())]
    for name in ("architecture.md", "interfaces.md", "domain.md", "performance.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        for path in set(re.findall(r"`([\w./-]+/[\w.-]+\.py)`", text)):
            assert any((root / path).is_file() for root in roots), f"docs/{name} names {path}"


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {_slug(m[1]) for line in _lines_outside_code(text) if (m := re.match(r"#+ (.*)", line))}


def test_links_between_documents_resolve() -> None:
    """Every relative link of the README and docs/ names a file that exists, and its
    #fragment a heading of that file."""
    documents = [
        REPO / "README.md",
        *sorted(DOCS.glob("*.md")),
        REPO / "services/notifier/README.md",
    ]
    broken = []
    for document in documents:
        text = "\n".join(_lines_outside_code(document.read_text(encoding="utf-8")))
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            file_part, _, fragment = target.partition("#")
            linked = (document.parent / file_part).resolve() if file_part else document
            if not linked.is_file():
                broken.append(f"{document.relative_to(REPO)}: {target}")
            elif fragment and linked.suffix == ".md" and fragment not in _anchors(linked):
                broken.append(f"{document.relative_to(REPO)}: {target} (no such heading)")
    assert broken == []


def test_no_file_cites_documents_outside_the_repository() -> None:
    """The interfaces and the domain are documented in docs/; a citation of the old
    reference files points a reader at something a clone does not have."""
    citing = []
    for path in repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # a binary file
        citing += [
            f"{path.relative_to(REPO)}:{n}"
            for n, line in enumerate(text.splitlines(), 1)
            if OUTSIDE_DOCUMENTS.search(line)
        ]
    assert citing == []
