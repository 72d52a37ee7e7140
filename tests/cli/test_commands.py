"""The small commands: the schema, alerts to test a channel, presets, the version, usage errors."""

from __future__ import annotations

import hashlib
import hmac
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_httpserver import HTTPServer

from retrain_sentinel.store import head
from retrain_sentinel.triggers.policy import build_policy
from retrain_sentinel.triggers.presets import PRESETS

from .conftest import Run

ROOT = Path(__file__).resolve().parents[2]


def test_db_upgrade_then_current_is_up_to_date(
    config: Path, config_data: dict[str, Any], cli: Callable[..., Run]
) -> None:
    before = cli("db", "current", "-c", config)
    upgraded = cli("db", "upgrade", "-c", config)
    after = cli("db", "current", "-c", config)

    assert before.code == upgraded.code == after.code == 0
    assert ": empty (behind" in before.out
    assert upgraded.out.strip().endswith(f"is at revision {head()}")
    assert after.out.strip().endswith(f": {head()} (up to date)")
    assert Path(config_data["database"].removeprefix("sqlite:///")).exists()


def test_db_commands_mask_the_database_password(
    config_data: dict[str, Any], write_config: Callable[[Any], Path], cli: Callable[..., Run]
) -> None:
    config_data["database"] = "postgresql+psycopg://sentinel:hunter2-secret@127.0.0.1:1/history"

    result = cli("db", "current", "-c", write_config(config_data))

    assert result.code == 3
    assert "hunter2-secret" not in result.out + result.err


def test_test_alert_to_the_console_channel(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("test-alert", "-c", config, "--channel", "stdout")

    assert result.code == 0
    assert result.out.strip() == "sent a test alert to stdout"
    assert "retrain-sentinel-test" in result.err


def test_test_alert_to_a_webhook_is_signed(
    config_data: dict[str, Any],
    write_config: Callable[[Any], Path],
    cli: Callable[..., Run],
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config_data["channels"]["hook"] = {"kind": "webhook", "url": httpserver.url_for("/hook"), "secret": "k1"}

    result = cli("test-alert", "-c", write_config(config_data), "--channel", "hook")

    assert result.code == 0, result.err
    ((request, _),) = httpserver.log
    body = request.get_data()
    assert json.loads(body)["notifications"][0]["model"] == "retrain-sentinel-test"
    stamp, signature = (part.split("=", 1)[1] for part in request.headers["X-Sentinel-Signature"].split(","))
    expected = hmac.new(b"k1", f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)


def test_test_alert_that_fails_exits_3_without_the_url(
    config_data: dict[str, Any],
    write_config: Callable[[Any], Path],
    cli: Callable[..., Run],
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/hook-token-abc", method="POST").respond_with_data("no", status=500)
    config_data["channels"]["hook"] = {"kind": "webhook", "url": httpserver.url_for("/hook-token-abc")}

    result = cli("test-alert", "-c", write_config(config_data), "--channel", "hook")

    assert result.code == 3
    assert "hook-token-abc" not in result.err
    assert "Traceback" not in result.err


def test_test_alert_to_an_unknown_channel_exits_2(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("test-alert", "-c", config, "--channel", "pager")

    assert result.code == 2
    assert result.err.strip() == "error: --channel: unknown channel 'pager'"


def test_presets_table_names_each_preset(cli: Callable[..., Run]) -> None:
    result = cli("presets")

    assert result.code == 0
    assert "(default)" in result.out
    assert all(name in result.out for name in PRESETS)


def test_presets_json_holds_the_thresholds(cli: Callable[..., Run]) -> None:
    data = json.loads(cli("presets", "--format", "json").out)

    assert data["balanced"]["drift"] == {"threshold": 0.15, "severity": "warning"}
    assert data["conservative"]["time"]["interval_hours"] == 336


def test_presets_yaml_is_a_valid_policy_per_preset(cli: Callable[..., Run]) -> None:
    documents = list(yaml.safe_load_all(cli("presets", "--format", "yaml").out))

    assert [d["name"] for d in documents] == list(PRESETS)
    for document in documents:
        assert build_policy(document).expression == build_policy(document["name"]).expression


def test_unknown_preset_exits_2(cli: Callable[..., Run]) -> None:
    assert cli("presets", "reckless").code == 2


def test_config_schema_is_json_schema_of_the_config(cli: Callable[..., Run]) -> None:
    schema = json.loads(cli("config", "schema").out)

    assert schema["type"] == "object"
    assert {"database", "sources", "channels", "models", "defaults", "delivery"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_version_prints_the_project_version(cli: Callable[..., Run]) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

    result = cli("--version")

    assert result.code == 0
    assert result.out.strip() == f"retrain-sentinel {version}"


@pytest.mark.parametrize(
    "args",
    [["no-such-command"], ["check", "--no-such-option"], ["report"], ["history", "--limit", "0"]],
    ids=["command", "option", "missing-option", "bad-value"],
)
def test_usage_errors_exit_2(args: list[str], cli: Callable[..., Run]) -> None:
    result = cli(*args)

    assert result.code == 2
    assert "Traceback" not in result.err
