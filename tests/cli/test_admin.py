"""Operating the service: `db upgrade|current` and `test-alert` through a channel's real delivery path."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer

from retrain_sentinel.store import head

from .conftest import Run


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
