"""docs/asyncapi.yaml is what the topic registry and the event models generate, covers
every topic and event, and is a valid AsyncAPI 3.0 document by the AsyncAPI CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

from hub_shared.messaging.catalog import EVENT_DATA
from hub_shared.messaging.topics import ALL_TOPICS, event_type
from hubtools.asyncapi import DOCUMENT, render

INSTALL = "npm install -g @asyncapi/cli (.ci/run does)"


def test_the_committed_document_is_a_fresh_generation() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(), "run make asyncapi and commit"


def test_every_registered_event_has_a_payload_model() -> None:
    registered = {name for topic in ALL_TOPICS for name in topic.events}
    assert set(EVENT_DATA) == registered


def test_every_topic_is_a_channel_and_every_event_a_message_with_its_ce_type() -> None:
    doc = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    assert doc["asyncapi"] == "3.0.0"
    assert {c["address"] for c in doc["channels"].values()} == {t.name for t in ALL_TOPICS}
    messages = doc["components"]["messages"]
    for name in EVENT_DATA:
        message = messages[name.replace(".", "_")]
        ce_type = message["headers"]["properties"]["ce_type"]["const"]
        assert ce_type == event_type(name)
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
        assert message["payload"]["$ref"].startswith("#/components/schemas/")


def test_the_asyncapi_cli_validates_the_document(tmp_path: Path) -> None:
    cli = shutil.which("asyncapi")
    assert cli is not None, f"the AsyncAPI CLI is missing: {INSTALL}"
    env = {**os.environ, "ASYNCAPI_METRICS": "false"}
    # Run outside the repository: the CLI's `config` package would read ./config/local.toml
    # (the hub's own configuration) as its settings and fail on it.
    done = subprocess.run(
        [cli, "validate", str(DOCUMENT.resolve()), "--fail-severity", "error"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
