"""The README's walkthrough names what exists, the documents name modules that exist, their
links resolve, and no file cites the reference documents that used to live outside the
repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.support.docs import (
    DOCS,
    OUTSIDE_DOCUMENTS,
    REPO,
    build_apps,
    lines_outside_code,
    routes_of,
    served,
)


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FastAPI]:
    return build_apps(tmp_path_factory.mktemp("apps"))


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
        assert any(served((m, path), routes, mounts, concrete=True) for m in ("GET", "POST")), path


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
    return {_slug(m[1]) for line in lines_outside_code(text) if (m := re.match(r"#+ (.*)", line))}


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
        text = "\n".join(lines_outside_code(document.read_text(encoding="utf-8")))
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
