"""Reading the history back: `history` (recorded evaluations, newest first) and `report`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import DEGRADED, DRIFTING, HEALTHY, Run


@pytest.fixture
def checked(config: Path, cli: Callable[..., Run]) -> Path:
    """The demo config after two checks (six evaluations recorded)."""
    assert cli("check", "-c", config).code == 0
    assert cli("check", "-c", config, "--model", HEALTHY).code == 0
    return config


def test_history_json_lists_newest_first(checked: Path, cli: Callable[..., Run]) -> None:
    result = cli("history", "-c", checked, "--format", "json")

    rows = json.loads(result.out)
    assert result.code == 0
    assert len(rows) == 4
    assert rows[0]["model"] == HEALTHY
    assert rows[0]["evaluated_at"] >= rows[-1]["evaluated_at"]
    churn = next(r for r in rows if r["model"] == DRIFTING)
    assert churn == churn | {
        "outcome": "triggered",
        "severity": "warning",
        "fired": ["drift"],
        "slot_at": None,
    }
    assert churn["baseline_version"] == "v1"


def test_history_filters_by_model_and_limits(checked: Path, cli: Callable[..., Run]) -> None:
    only = json.loads(cli("history", "-c", checked, "--format", "json", "--model", HEALTHY).out)
    limited = json.loads(cli("history", "-c", checked, "--format", "json", "--limit", "1").out)

    assert [r["model"] for r in only] == [HEALTHY, HEALTHY]
    assert len(limited) == 1


def test_history_since_excludes_older_evaluations(checked: Path, cli: Callable[..., Run]) -> None:
    recent = json.loads(cli("history", "-c", checked, "--format", "json", "--since", "1h").out)
    none = json.loads(cli("history", "-c", checked, "--format", "json", "--since", "1ms").out)

    assert len(recent) == 4
    assert none == []


def test_history_table_keeps_whole_timestamps_in_a_narrow_terminal(
    checked: Path, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    newest = json.loads(cli("history", "-c", checked, "--format", "json", "--limit", "1").out)[0]

    table = cli("history", "-c", checked).out

    assert "…" not in table
    first_column = "".join(line.split("│")[1].strip() for line in table.splitlines() if line.startswith("│"))
    assert first_column.startswith(newest["evaluated_at"])


def test_history_csv_has_a_header_and_one_row_per_evaluation(checked: Path, cli: Callable[..., Run]) -> None:
    result = cli("history", "-c", checked, "--format", "csv")

    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert len(rows) == 4
    assert {r["model"] for r in rows} == {HEALTHY, DRIFTING, DEGRADED}
    assert next(r for r in rows if r["model"] == DEGRADED)["fired"] == "performance time data_volume"


def test_history_table_names_every_model(checked: Path, cli: Callable[..., Run]) -> None:
    result = cli("history", "-c", checked)

    assert result.code == 0
    assert all(name in result.out for name in (HEALTHY, DRIFTING, DEGRADED))


def test_history_rejects_a_bad_since(checked: Path, cli: Callable[..., Run]) -> None:
    result = cli("history", "-c", checked, "--since", "lately")

    assert result.code == 2
    assert result.err.startswith("error: --since: ")


def test_history_of_an_empty_database_is_empty(config: Path, cli: Callable[..., Run]) -> None:
    assert cli("db", "upgrade", "-c", config).code == 0  # created, nothing evaluated yet
    assert json.loads(cli("history", "-c", config, "--format", "json").out) == []


def test_report_markdown_is_the_latest_report(checked: Path, cli: Callable[..., Run]) -> None:
    result = cli("report", "-c", checked, "--model", DRIFTING)

    assert result.code == 0
    assert result.out.startswith("# Retraining Trigger Report")
    assert f"**Model:** {DRIFTING}" in result.out
    assert "TRIGGERED" in result.out


def test_report_json_round_trips(checked: Path, cli: Callable[..., Run]) -> None:
    report = json.loads(cli("report", "-c", checked, "--model", DEGRADED, "--format", "json").out)

    assert report["triggered"] is True
    assert report["metadata"]["model"] == DEGRADED
    assert {d["trigger_name"] for d in report["trigger_details"] if d["triggered"]} == {
        "performance",
        "time",
        "data_volume",
    }


def test_report_of_a_model_never_evaluated_exits_2(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("report", "-c", config, "--model", HEALTHY)

    assert result.code == 2
    assert "no evaluation of 'sentiment' is recorded" in result.err


def test_report_of_an_error_says_why(config: Path, lab: Path, cli: Callable[..., Run]) -> None:
    (lab / "experiments.db").unlink()
    cli("check", "-c", config, "--model", HEALTHY)

    result = cli("report", "-c", config, "--model", HEALTHY, "--format", "json")

    assert json.loads(result.out)["outcome"] == "error"


@pytest.mark.parametrize("name", ["[/x]", "[bold]loud[/bold]", ":smile:"])
def test_history_table_prints_a_model_name_that_looks_like_markup_as_written(
    config_data: dict[str, Any], write_config: Callable[[Any], Path], cli: Callable[..., Run], name: str
) -> None:
    config_data["models"] = [{**config_data["models"][0], "name": name, "model": HEALTHY}]
    config = write_config(config_data)
    assert cli("check", "-c", config).code == 0

    result = cli("history", "-c", config)

    assert result.code == 0, result.err
    models = [line.split("│")[2].strip() for line in result.out.splitlines() if line.startswith("│ 2")]
    assert models == [name]
