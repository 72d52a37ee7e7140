"""The config loader (settings.py): variables, overrides, defaults, and paths that name what is wrong;
and loading stays light — reading and validating a config, every command's first step, imports
neither SQLAlchemy nor numpy (the store, the sources and the statistics come in only when used)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from deploy.configs import localise
from retrain_sentinel.errors import ConfigError
from retrain_sentinel.settings import expand_variables, parse_settings

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "sentinel.example.yaml"

LAB = {
    "kind": "sql",
    "layout": "experiment_db",
    "experiments_url": "sqlite:///e.db",
    "registry_url": "sqlite:///r.db",
}


def config(**extra: Any) -> dict[str, Any]:
    return {"sources": {"lab": dict(LAB)}, "channels": {"stdout": {"kind": "console"}}, **extra}


def problems(raw: dict[str, Any], environ: dict[str, str] | None = None) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, environ or {})
    return caught.value.problems


def test_variables_are_expanded_and_dollar_dollar_is_a_literal() -> None:
    assert expand_variables({"a": ["x-${A}-$${B}"]}, {"A": "1"}) == {"a": ["x-1-${B}"]}


def test_a_missing_variable_in_a_model_names_the_model() -> None:
    raw = config(models=[{"name": "fraud", "source": "lab", "model": "${RS_NOPE}"}])

    assert problems(raw) == [("models[fraud].model", "environment variable RS_NOPE is not set")]


def test_a_model_without_a_name_is_named_by_position() -> None:
    raw = config(models=[{"source": "${RS_NOPE}"}])

    assert problems(raw) == [("models[0].source", "environment variable RS_NOPE is not set")]


def test_defaults_are_replaced_wholesale_not_merged() -> None:
    raw = config(
        defaults={"schedule": {"every": "1h"}, "performance": {"metric": "auc", "mode": "max"}},
        models=[
            {"name": "a", "source": "lab", "performance": {"metric": "f1"}},
            {"name": "b", "source": "lab"},
        ],
    )

    settings = parse_settings(raw, {})

    a, b = settings.models
    assert (a.performance.metric, a.performance.mode) == ("f1", "min")  # not max from the defaults
    assert (b.performance.metric, b.performance.mode) == ("auc", "max")
    assert a.schedule.every == timedelta(hours=1)


def test_unknown_default_key_is_reported_under_defaults() -> None:
    raw = config(defaults={"polcy": "balanced"}, models=[{"name": "a", "source": "lab"}])

    assert problems(raw) == [("defaults.polcy", "unknown key")]


def test_a_bad_default_is_reported_once_under_defaults() -> None:
    raw = config(defaults={"for": 0}, models=[{"name": "a", "source": "lab"}, {"name": "b", "source": "lab"}])

    assert problems(raw) == [("defaults.for", "must be ≥ 1")]


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (config(sources={"lab": {**LAB, "timeot": "1s"}}), "sources.lab.timeot"),
        (
            config(sources={"ml": {"kind": "mlflow", "tracking_uri": "http://m", "bogus": 1}}),
            "sources.ml.bogus",
        ),
        (
            config(sources={"mlflow": {"kind": "mlflow", "tracking_uri": "ftp://m"}}),
            "sources.mlflow.tracking_uri",
        ),
        (
            config(
                channels={
                    "email": {
                        "kind": "email",
                        "smtp": {"host": "h", "port": 0},
                        "from": "a@b.c",
                        "to": ["d@e.f"],
                    }
                }
            ),
            "channels.email.smtp.port",
        ),
        (config(models=[{"name": "m", "source": "lab", "baseline": {"tag": ""}}]), "models[m].baseline.tag"),
        (
            config(models=[{"name": "m", "source": "lab", "current_run": {"task": "t", "x": 1}}]),
            "models[m].current_run.x",
        ),
        (
            config(models=[{"name": "m", "source": "lab", "counts": {"new": {"metric": ""}}}]),
            "models[m].counts.new.metric",
        ),
    ],
    ids=["sql", "mlflow", "source-named-like-its-kind", "email", "baseline", "current-run", "counts"],
)
def test_error_paths_leave_out_the_union_tags(raw: dict[str, Any], path: str) -> None:
    assert [p for p, _ in problems(raw)] == [path]


def test_environment_overrides_a_top_level_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRAIN_SENTINEL_HTTP__PORT", "9800")
    monkeypatch.setenv("RETRAIN_SENTINEL_DATABASE", "sqlite:////var/lib/x.db")

    settings = parse_settings(config(http={"host": "0.0.0.0", "port": 1}), {})  # noqa: S104 - a config value

    assert (settings.http.host, settings.http.port) == ("0.0.0.0", 9800)  # noqa: S104
    assert settings.database == "sqlite:////var/lib/x.db"


def test_an_empty_file_is_a_valid_config_with_every_default() -> None:
    settings = parse_settings(None, {})

    assert settings.database == "sqlite:///sentinel.db"
    assert settings.models == []


_PROBE = """
import json, sys
from retrain_sentinel.settings import load_settings
settings = load_settings(sys.argv[1])
print(json.dumps({"models": len(settings.models), "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def test_loading_the_example_config_imports_neither_sqlalchemy_nor_numpy(tmp_path: Path) -> None:
    config, variables = localise(EXAMPLE.read_text(), tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETRAIN_SENTINEL_")} | variables

    result = subprocess.run(  # a fresh interpreter: this one has imported everything already
        [sys.executable, "-c", _PROBE, str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["models"] == 3  # the whole example was loaded
    assert {"sqlalchemy", "numpy"} & set(found["loaded"]) == set()
