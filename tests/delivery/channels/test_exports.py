"""The channels package's public surface is what other packages build on."""

from __future__ import annotations

from retrain_sentinel.delivery import channels


def test_public_names() -> None:
    assert sorted(channels.__all__) == [
        "Channel",
        "ChannelSettings",
        "ConsoleChannel",
        "EmailChannel",
        "SlackChannel",
        "WebhookChannel",
        "build_channel",
        "build_channels",
    ]


def test_every_channel_implements_the_protocol() -> None:
    console = channels.ConsoleChannel("stdout")

    assert isinstance(console, channels.Channel)
