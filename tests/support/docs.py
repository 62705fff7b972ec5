"""Reading the documents in docs/ and the apps' routes, for the tests that hold the
documents to the code (tests/unit/test_docs_*.py). The apps are built as the other unit
tests build them (`tests.support.asgi.app_of`), never started."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.routing import Mount

from tests.support.asgi import app_of

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
SERVICES = ("permit-ingest", "enrollment", "incidents", "notifier")
# The reference documents that used to live outside the repository. Spelt in two parts so
# that this file does not cite them itself.
OUTSIDE_DOCUMENTS = re.compile(r"\b(?:CONTRACTS|DOMAIN|DESIGN|STYLE)" + r"\.md\b")
ROUTE_MENTION = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s?]*)")


# --- reading the documents ---


def lines_outside_code(text: str) -> Iterator[str]:
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
    for line in lines_outside_code(text):
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


def route_contexts(app: FastAPI) -> Iterator[Any]:
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
    for route in route_contexts(app):
        original = getattr(route, "original_route", route)
        if isinstance(original, Mount):
            mounts.add(original.path)
            continue
        for method in route.methods or ():
            if method != "HEAD":
                routes.add((method, route.path))
    return routes, mounts


def build_apps(root: Path) -> dict[str, FastAPI]:
    """The four apps, each with its own data directory under `root`."""
    apps = {}
    for service in SERVICES:
        (root / service).mkdir()
        apps[service] = app_of(service, root / service)
    return apps


def mentioned_routes(text: str) -> set[tuple[str, str]]:
    return {(m[1], m[2].rstrip("/")) for m in ROUTE_MENTION.finditer(text)}


def served(
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
        method == served and re.fullmatch(template_pattern(template), path)
        for served, template in routes
    )


def template_pattern(template: str) -> str:
    return "[^/]+".join(re.escape(part) for part in re.split(r"\{[^}]+\}", template))
