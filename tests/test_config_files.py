"""The shipped config files: the annotated example validates and shows every key; the preset files
are exactly what the code generates, and each is a policy equivalent to its preset."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from deploy.configs import localise
from retrain_sentinel.cli import main
from retrain_sentinel.settings import load_settings
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.triggers.policy import build_policy
from retrain_sentinel.triggers.presets import PRESETS, preset_policy_yaml
from settings_keys import config_keys
from warehouse import build_warehouse

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "sentinel.example.yaml"
PRESET_DIR = ROOT / "config" / "presets"


def test_example_config_validates_with_its_variables_and_secret_files(tmp_path: Path) -> None:
    config, variables = localise(EXAMPLE.read_text(), tmp_path)

    settings = load_settings(config, variables)

    assert {w.name for w in settings.models} == {"churn-classifier", "fraud", "ranking"}
    assert set(settings.sources) == {"lab", "warehouse", "mlflow", "shop-data"}
    assert set(settings.channels) == {"ml-team", "oncall", "retrain", "stdout"}


def test_example_config_passes_the_validate_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, variables = localise(EXAMPLE.read_text(), tmp_path)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in variables.items():
            patch.setenv(name, value)

        code = main(["validate", "-c", str(config)])

    assert code == 0, capsys.readouterr().err
    assert "config OK: 3 models, 4 sources, 4 channels" in capsys.readouterr().out


def test_example_config_shows_every_key() -> None:
    text = EXAMPLE.read_text()
    written = set(re.findall(r"([A-Za-z_]+):", text))  # keys of block and flow mappings, commented or not

    missing = sorted({key.path.rsplit(".", 1)[-1].removesuffix("[]") for key in config_keys()} - written)

    assert missing == []


def test_example_config_comments_every_top_level_section() -> None:
    for line in EXAMPLE.read_text().splitlines():
        if re.match(r"^[a-z_]+:", line) and not line.startswith(("sources:", "channels:", "models:")):
            assert "#" in line or line.endswith(":"), line


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_file_is_what_the_code_generates(name: str) -> None:
    assert (PRESET_DIR / f"{name}.yaml").read_text() == preset_policy_yaml(name)  # type: ignore[arg-type]


def test_there_is_one_preset_file_per_preset() -> None:
    assert sorted(p.stem for p in PRESET_DIR.glob("*.yaml")) == sorted(PRESETS)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_file_is_a_policy_deciding_like_its_preset(name: str) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    explicit = build_policy(yaml.safe_load((PRESET_DIR / f"{name}.yaml").read_text()))
    preset = build_policy(name)
    snapshots = [
        Snapshot(
            current_metrics={"val_loss": current},
            baseline_metrics={"val_loss": 0.40},
            drift_metrics={"js_divergence": drift},
            last_trained_at=now - timedelta(hours=hours),
            baseline_count=10_000,
            new_count=new,
        )
        for current in (0.40, 0.413, 0.43, 0.5)
        for drift in (0.05, 0.12, 0.17, 0.25)
        for hours in (24, 60, 200, 400)
        for new in (500, 1_500, 2_500, 4_000)
    ]

    for snapshot in snapshots:
        a, b = explicit.evaluate(snapshot, now), preset.evaluate(snapshot, now)
        assert (a.triggered, a.severity, a.fired_triggers) == (b.triggered, b.severity, b.fired_triggers)
    assert explicit.expression == preset.expression


def test_presets_command_prints_the_preset_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets", "aggressive", "--format", "yaml"]) == 0

    assert capsys.readouterr().out == (PRESET_DIR / "aggressive.yaml").read_text()


def test_the_examples_warehouse_queries_feed_the_drift_trigger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12, item 1: the example's `drift_metrics` returned one row per feature, no
    `js_divergence`, so the drift trigger found no input and a model with JS 0.27 was not flagged
    (`check` said ok). Its queries, run by `check` against the tables they name, now flag it."""
    import json
    queries = yaml.safe_load(EXAMPLE.read_text())["sources"]["warehouse"]["queries"]
    database = build_warehouse(tmp_path / "warehouse.db")
    config = tmp_path / "sentinel.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{tmp_path / 'history.db'}",
                "sources": {"warehouse": {"kind": "sql", "url": f"sqlite:///{database}", "queries": queries}},
                "channels": {"stdout": {"kind": "console"}},
                "models": [{"name": "ranking", "source": "warehouse", "channels": ["stdout"]}],
            }
        )
    )

    code = main(["check", "-c", str(config), "--dry-run", "--format", "json", "--exit-code"])

    (report,) = json.loads(capsys.readouterr().out)
    drift = [d for d in report["trigger_details"] if d["kind"] == "drift"]
    assert code == 1 and report["outcome"] == "triggered"
    assert [(d["triggered"], d["actual_value"]) for d in drift] == [(True, 0.27)]
