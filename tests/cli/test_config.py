"""Commands about the config file besides `validate` (test_validate.py): `presets` and `config schema`."""

from __future__ import annotations

import json
from collections.abc import Callable

import yaml

from retrain_sentinel.triggers.policy import build_policy
from retrain_sentinel.triggers.presets import PRESETS

from .conftest import Run


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
