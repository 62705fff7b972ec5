"""Installs are reproducible: `make venv` installs third-party packages from
requirements.lock, every one pinned and hash-checked, and the lock holds versions past
the known CVEs of the packages the hub runs on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
# Package -> the first version without the CVEs named in shared/pyproject.toml and
# requirements-dev.txt.
FLOORS = {
    "starlette": (0, 49, 1),
    "h11": (0, 16, 0),
    "jinja2": (3, 1, 6),
    "requests": (2, 32, 4),
    "urllib3": (2, 5, 0),
    "setuptools": (78, 1, 1),
    "defusedxml": (0, 7, 1),
}


def locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of every requirement in the lock."""
    entries: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text(encoding="utf-8")):
        head = re.match(r"([A-Za-z0-9_.-]+)==([^ \\\n]+)", block)
        if head:
            name = re.sub(r"[-_.]+", "-", head[1]).lower()
            entries[name] = (head[2], re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return entries


def declared() -> set[str]:
    """Every third-party dependency the pyprojects and requirements-dev.txt name."""
    names: set[str] = set()
    for pyproject in [ROOT / "shared" / "pyproject.toml", ROOT / "tools" / "pyproject.toml",
                      *ROOT.glob("services/*/pyproject.toml")]:  # fmt: skip
        for requirement in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
            names.add(requirement)
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        if line and not line.startswith(("#", "-e")):
            names.add(line)
    bare = {re.split(r"[<>=\[; ]", n, maxsplit=1)[0] for n in names}
    return {re.sub(r"[-_.]+", "-", n).lower() for n in bare} - {"hub-shared", "hub-enrollment"}


def test_every_locked_package_is_pinned_with_hashes_and_nothing_is_local() -> None:
    entries = locked()
    assert len(entries) > 50
    assert all(hashes for _version, hashes in entries.values())
    text = LOCK.read_text(encoding="utf-8")
    assert "\n-e " not in text and "file://" not in text and "--find-links" not in text


def test_the_lock_holds_every_declared_dependency() -> None:
    local = {"hub-shared", "hub-permit-ingest", "hub-enrollment", "hub-incidents"}
    local |= {"hub-notifier", "hub-tools"}
    missing = declared() - set(locked()) - local
    assert not missing, f"declared but not locked (run `make lock`): {sorted(missing)}"


def test_locked_versions_are_past_the_known_cves() -> None:
    entries = locked()
    for name, floor in FLOORS.items():
        version = tuple(int(p) for p in re.findall(r"\d+", entries[name][0])[:3])
        assert version >= floor, f"{name} {entries[name][0]} is below {floor}"


def test_make_installs_from_the_lock_checking_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install -q --require-hashes -r requirements.lock" in makefile
    assert "pip install -q -r requirements-dev.txt" not in makefile
