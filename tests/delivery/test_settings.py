"""The ``channels:`` settings: shapes, one of a secret and its file, and errors that never echo a secret."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from retrain_sentinel.delivery.channels import (
    ChannelSettings,
    ConsoleChannel,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
    build_channels,
)
from retrain_sentinel.delivery.settings import (
    ConsoleChannelSettings,
    DeliverySettings,
    EmailChannelSettings,
    SlackChannelSettings,
    WebhookChannelSettings,
)
from retrain_sentinel.errors import ConfigError

CHANNELS = TypeAdapter(dict[str, ChannelSettings])
SECRET_URL = "https://hooks.slack.com/services/T000/B000/SUPERSECRETPATH"


def parse(config: dict[str, Any]) -> dict[str, Any]:
    return CHANNELS.validate_python(config)


def email(**smtp: Any) -> dict[str, Any]:
    return {
        "kind": "email",
        "smtp": {"host": "smtp.example.com", **smtp},
        "from": "s@example.com",
        "to": ["o@example.com"],
    }


def test_the_design_example_parses() -> None:
    channels = parse(
        {
            "ml-team": {"kind": "slack", "webhook_url": SECRET_URL},
            "oncall": email(port=587, security="starttls", username="bot", password_file="/run/secrets/smtp"),
            "retrain": {
                "kind": "webhook",
                "url": "https://ci.example.com/hooks/retrain",
                "secret": ["s3cret"],
            },
            "stdout": {"kind": "console"},
        }
    )

    assert isinstance(channels["ml-team"], SlackChannelSettings)
    assert isinstance(channels["oncall"], EmailChannelSettings)
    assert channels["oncall"].from_ == "s@example.com"
    assert isinstance(channels["retrain"], WebhookChannelSettings)
    assert isinstance(channels["stdout"], ConsoleChannelSettings)


def test_unknown_kind_and_unknown_keys_are_errors() -> None:
    with pytest.raises(ValidationError):
        parse({"x": {"kind": "pager"}})
    with pytest.raises(ValidationError) as caught:
        parse({"x": {"kind": "console", "colour": True}})
    assert caught.value.errors()[0]["type"] == "extra_forbidden"


@pytest.mark.parametrize(
    "config",
    [
        {"kind": "slack"},
        {"kind": "slack", "webhook_url": SECRET_URL, "webhook_url_file": "/run/secrets/slack"},
        {"kind": "webhook"},
        {"kind": "webhook", "url": SECRET_URL, "secret": ["a"], "secret_file": "/x"},
    ],
)
def test_exactly_one_of_a_secret_and_its_file(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse({"x": config})


def test_smtp_login_needs_username_and_exactly_one_password() -> None:
    with pytest.raises(ValidationError, match="password needs a username"):
        parse({"x": email(password="pw")})
    with pytest.raises(ValidationError, match="password or password_file is required"):
        parse({"x": email(username="bot")})
    assert parse({"x": email()})["x"].smtp.username is None


def test_smtp_port_defaults_follow_security() -> None:
    assert parse({"x": email(security="starttls")})["x"].smtp.effective_port == 587
    assert parse({"x": email(security="tls")})["x"].smtp.effective_port == 465
    assert parse({"x": email(security="none")})["x"].smtp.effective_port == 25
    with pytest.raises(ValidationError):
        parse({"x": email(security="ssl")})


@pytest.mark.parametrize("address", ["a@b.c\r\nBcc: evil@x", "two@a.b, three@c.d", "no-at-sign", "<x@y.z>"])
def test_email_addresses_are_single_plain_addresses(address: str) -> None:
    with pytest.raises(ValidationError):
        parse({"x": {**email(), "to": [address]}})


def test_a_single_webhook_secret_may_be_a_string() -> None:
    settings = parse({"x": {"kind": "webhook", "url": SECRET_URL, "secret": "one"}})["x"]

    assert [s.get_secret_value() for s in settings.secret] == ["one"]


@pytest.mark.parametrize(
    "name", ["Content-Type", "idempotency-key", "X-Sentinel-Signature", "Bad Name", "a:b"]
)
def test_reserved_or_malformed_header_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        parse({"x": {"kind": "webhook", "url": SECRET_URL, "headers": {name: "v"}}})


@pytest.mark.parametrize(
    "config",
    [
        {"kind": "slack", "webhook_url": "ftp://SUPERSECRETPATH"},
        {"kind": "slack", "webhook_url": "https://SUPERSECRET PATH"},
        {"kind": "slack", "webhook_url": 12345, "extra": "SUPERSECRETPATH"},
        {
            "kind": "webhook",
            "url": "https://x.example/",
            "headers": {"Authorization": "SUPERSECRETPATH\r\nX: y"},
        },
        {"kind": "webhook", "url": "https://x.example/", "secret": [""], "unknown": "SUPERSECRETPATH"},
        {**email(username="u", password="SUPERSECRETPATH"), "to": []},
    ],
)
def test_validation_errors_never_echo_the_input(config: dict[str, Any]) -> None:
    models: dict[str, type[BaseModel]] = {
        "slack": SlackChannelSettings,
        "webhook": WebhookChannelSettings,
        "email": EmailChannelSettings,
    }
    model = models[config["kind"]]

    with pytest.raises(ValidationError) as caught:
        model.model_validate(config)

    assert "SUPERSECRET" not in str(caught.value)
    assert "SUPERSECRET" not in repr(caught.value)


def test_repr_of_settings_hides_secrets() -> None:
    channels = parse(
        {
            "a": {"kind": "slack", "webhook_url": SECRET_URL},
            "b": email(username="u", password="SUPERSECRETPW"),
            "c": {
                "kind": "webhook",
                "url": SECRET_URL,
                "secret": ["SUPERSECRETKEY"],
                "headers": {"Authorization": "SUPERSECRETHDR"},
            },
        }
    )

    assert "SUPERSECRET" not in repr(channels)
    assert "SUPERSECRET" not in str(channels)


def test_link_template_placeholders_are_checked() -> None:
    assert parse({"x": {"kind": "console", "link_template": "https://m.example/{model}/{version}"}})[
        "x"
    ].link_template
    with pytest.raises(ValidationError, match="unknown placeholder"):
        parse({"x": {"kind": "console", "link_template": "https://m.example/{nope}"}})


def test_build_channels_makes_one_channel_per_kind(tmp_path: Path) -> None:
    password = tmp_path / "smtp"
    password.write_text("pw-from-file\n")
    channels = build_channels(
        parse(
            {
                "a": {"kind": "slack", "webhook_url": SECRET_URL},
                "b": email(username="u", password_file=str(password)),
                "c": {"kind": "webhook", "url": SECRET_URL},
                "d": {"kind": "console"},
            }
        )
    )

    assert [type(c) for c in channels.values()] == [
        SlackChannel,
        EmailChannel,
        WebhookChannel,
        ConsoleChannel,
    ]
    assert [c.name for c in channels.values()] == ["a", "b", "c", "d"]
    assert {c.kind for c in channels.values()} == {"slack", "email", "webhook", "console"}


def test_secret_files_are_read_at_build_time(tmp_path: Path) -> None:
    url_file = tmp_path / "slack-url"
    settings = parse({"a": {"kind": "slack", "webhook_url_file": str(url_file)}})
    url_file.write_text(SECRET_URL + "\n")

    channel = build_channels(settings)["a"]

    assert isinstance(channel, SlackChannel)
    channel.check()
    assert "SUPERSECRETPATH" not in repr(channel)


def test_unreadable_or_bad_secret_files_name_the_file_not_the_content(tmp_path: Path) -> None:
    bad_url = tmp_path / "bad-url"
    bad_url.write_text("not a url SUPERSECRETPATH")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    settings = parse(
        {
            "a": {"kind": "slack", "webhook_url_file": str(tmp_path / "missing")},
            "b": {"kind": "webhook", "url_file": str(bad_url)},
            "c": {"kind": "webhook", "url": SECRET_URL, "secret_file": str(empty)},
        }
    )

    with pytest.raises(ConfigError) as caught:
        build_channels(settings)

    paths = [path for path, _ in caught.value.problems]
    assert paths == ["channels.a.webhook_url_file", "channels.b.url_file", "channels.c.secret_file"]
    assert str(tmp_path / "missing") in str(caught.value)
    assert "SUPERSECRETPATH" not in str(caught.value)


def test_a_missing_ca_file_is_a_config_error(tmp_path: Path) -> None:
    settings = parse({"b": email(ca_file=str(tmp_path / "nope.pem"))})

    with pytest.raises(ConfigError) as caught:
        build_channels(settings)

    assert [path for path, _ in caught.value.problems] == ["channels.b.smtp.ca_file"]


def test_a_secret_file_that_is_not_a_small_regular_file_is_refused(tmp_path: Path) -> None:
    """``url_file: /dev/zero`` read until ``MemoryError`` (exit 4); a FIFO blocked the build forever."""
    fifo, large = tmp_path / "fifo", tmp_path / "large"
    os.mkfifo(fifo)
    large.write_text(SECRET_URL + "/" + "x" * 70_000)
    settings = parse(
        {
            "a": {"kind": "webhook", "url_file": "/dev/zero"},
            "b": {"kind": "slack", "webhook_url_file": str(fifo)},
            "c": {"kind": "webhook", "url": SECRET_URL, "secret_file": str(large)},
            "d": email(username="u", password_file=str(tmp_path)),
        }
    )

    with pytest.raises(ConfigError) as caught:
        build_channels(settings)

    assert caught.value.problems == [
        ("channels.a.url_file", "cannot read /dev/zero: not a regular file"),
        ("channels.b.webhook_url_file", f"cannot read {fifo}: not a regular file"),
        ("channels.c.secret_file", f"cannot read {large}: larger than 64 KiB"),
        ("channels.d.smtp.password_file", f"cannot read {tmp_path}: Is a directory"),
    ]


def test_delivery_batch_size_is_bounded() -> None:
    """It is the SQL LIMIT of every claim: 10**19 made PostgreSQL refuse every dispatcher run."""
    assert DeliverySettings(batch_size=10_000).batch_size == 10_000
    with pytest.raises(ValidationError):
        DeliverySettings(batch_size=10**19)


def test_a_link_template_placeholder_is_refused_without_echo() -> None:
    with pytest.raises(ValidationError) as caught:
        parse({"a": {"kind": "console", "link_template": "https://x.example.com/{SUPERSECRETPATH}"}})
    [error] = caught.value.errors()
    assert "unknown placeholder" in error["msg"] and "SUPERSECRETPATH" not in error["msg"]
