"""Outside the local profile a service refuses to start on unsafe settings, naming each."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub_shared.config import EnvSettings, ServiceSettings
from hub_shared.config_safety import UnsafeConfiguration

SECRET = "whsec_" + base64.b64encode(b"office-secret-0123456789").decode()
GOOD = "t" * 32


def config(path: Path, *, token: str, division: str, webhook: str) -> Path:
    path.write_text(
        f"""
[[clients]]
id = "agency"
token = "{token}"
scopes = ["coverage:read"]
divisions = ["{division}"]

[[offices]]
id = "rencheng"
divisions = ["370811"]
token = "{"o" * 32}"
webhook_url = "{webhook}"
webhook_secret = "{SECRET}"
""",
        encoding="utf-8",
    )
    return path


def unsafe(tmp_path: Path) -> Path:
    return config(
        tmp_path / "hub.toml", token="short", division="379999", webhook="http://office.example/"
    )


def test_production_refuses_every_unsafe_setting_at_once(tmp_path: Path) -> None:
    env = EnvSettings(config=unsafe(tmp_path), profile="production", data_dir=tmp_path)

    with pytest.raises(UnsafeConfiguration) as refused:
        ServiceSettings.load("incidents", env)

    message = str(refused.value)
    assert "HUB_PII_KEY is not set" in message
    assert "client agency: token shorter than 32 characters" in message
    assert "client agency: division '379999' is not a Jining division code" in message
    assert "office rencheng: webhook_url is not https" in message
    assert "short" not in message.replace("shorter", "")  # never the token itself


def test_the_local_profile_starts_with_development_values(tmp_path: Path) -> None:
    env = EnvSettings(config=unsafe(tmp_path), data_dir=tmp_path)

    assert ServiceSettings.load("incidents", env).profile == "local"


def test_production_starts_with_safe_settings(tmp_path: Path) -> None:
    safe = config(
        tmp_path / "hub.toml", token=GOOD, division="370800", webhook="https://office.example/"
    )
    env = EnvSettings(
        config=safe, profile="production", data_dir=tmp_path, pii_key=SecretStr("k" * 32)
    )

    assert ServiceSettings.load("incidents", env).profile == "production"
    # The key only matters to incidents: the others start without it.
    assert ServiceSettings.load("notifier", env.model_copy(update={"pii_key": None}))
