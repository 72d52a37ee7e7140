"""`retrain-sentinel check`: evaluate now, record, alert; exit codes and output formats (DESIGN §11).

The data is the demo's experiment DB and registry: sentiment is healthy, churn drifts, fraud is
degraded and trained long ago.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from retrain_sentinel.store import HistoryStore, upgrade
from retrain_sentinel.store.testing import evaluation, routes

from .conftest import DEGRADED, DRIFTING, HEALTHY, Run

REPORT_KEYS = {"triggered", "severity", "trigger_details", "recommendations", "timestamp", "metadata"}
DETAIL_KEYS = {
    "trigger_name",
    "triggered",
    "undecided",
    "severity",
    "reason",
    "threshold",
    "actual_value",
    "metrics",
}


def recorded(config_data: dict[str, Any]) -> list[tuple[str, str]]:
    """``(model, outcome)`` of every evaluation in the history database, oldest first."""
    store = HistoryStore(config_data["database"])
    try:
        return sorted((e.watch, e.outcome) for e in store.history(None, None, 1000))
    finally:
        store.close()


def test_exit_code_1_when_a_model_needs_retraining(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("check", "-c", config, "--exit-code")

    assert result.code == 1, result.err


def test_exit_code_0_when_nothing_fires(config: Path, cli: Callable[..., Run]) -> None:
    assert cli("check", "-c", config, "--exit-code", "--model", HEALTHY).code == 0


def test_without_exit_code_a_firing_model_still_exits_0(config: Path, cli: Callable[..., Run]) -> None:
    assert cli("check", "-c", config).code == 0


def test_json_output_parses_with_the_documented_keys(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("check", "-c", config, "--format", "json")

    items = json.loads(result.out)
    assert [i["model"] for i in items] == [HEALTHY, DRIFTING, DEGRADED]
    assert {i["model"]: i["outcome"] for i in items} == {
        HEALTHY: "ok",
        DRIFTING: "triggered",
        DEGRADED: "triggered",
    }
    for item in items:
        assert {"model", "outcome", "error"} | REPORT_KEYS <= set(item)
        assert item["error"] is None
        assert item["trigger_details"]
        for detail in item["trigger_details"]:
            assert set(detail) >= DETAIL_KEYS
    churn = next(i for i in items if i["model"] == DRIFTING)
    assert [d["trigger_name"] for d in churn["trigger_details"] if d["triggered"]] == ["drift"]
    assert churn["metadata"]["decision"] == "fired"


def test_logs_go_to_stderr_while_stdout_stays_json(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("check", "-c", config, "--format", "json")

    json.loads(result.out)
    events = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
    assert {e["model"] for e in events if e.get("event") == "evaluation"} == {HEALTHY, DRIFTING, DEGRADED}
    assert "FIRING" in result.err  # the console channel writes to stderr too


def test_markdown_output_has_one_report_per_model(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("check", "-c", config, "--format", "markdown")

    assert result.out.count("# Retraining Trigger Report") == 3
    assert result.out.count("**Status:** 🔴 TRIGGERED") == 2
    assert result.out.count("**Status:** 🟢 OK") == 1


def test_text_output_is_a_table_with_the_reasons(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("check", "-c", config)

    assert "Evaluated 3 model(s)" in result.out
    assert all(name in result.out for name in (HEALTHY, DRIFTING, DEGRADED))
    assert f"• {DRIFTING}: Data drift detected (js_divergence 0.31 > 0.15)" in result.out
    assert f"• {DEGRADED}: Performance degraded" in result.out
    assert f"• {HEALTHY}" not in result.out


def test_text_table_shows_a_long_model_name_whole_in_a_narrow_terminal(
    config_data: dict[str, Any],
    write_config: Callable[[Any], Path],
    cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    long_name = "customer-lifetime-value-regressor-eu-west-production"
    config_data["models"] = [{**config_data["models"][0], "name": long_name, "model": HEALTHY}]

    result = cli("check", "-c", write_config(config_data), "--dry-run")

    assert "…" not in result.out
    first_column = "".join(
        line.split("│")[1].strip() for line in result.out.splitlines() if line.startswith("│")
    )
    assert first_column == long_name


def test_unknown_format_is_a_usage_error(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("check", "-c", config, "--format", "yaml")

    assert result.code == 2
    assert "--format: must be one of text, json, markdown" in result.err


def test_check_records_each_evaluation(
    config: Path, config_data: dict[str, Any], cli: Callable[..., Run]
) -> None:
    cli("check", "-c", config)

    assert recorded(config_data) == [(DRIFTING, "triggered"), (DEGRADED, "triggered"), (HEALTHY, "ok")]


def test_dry_run_records_and_sends_nothing(
    config: Path, config_data: dict[str, Any], cli: Callable[..., Run]
) -> None:
    result = cli("check", "-c", config, "--dry-run", "--format", "json", "--exit-code")

    assert result.code == 1
    assert len(json.loads(result.out)) == 3
    assert "FIRING" not in result.err
    assert not Path(config_data["database"].removeprefix("sqlite:///")).exists()


def test_model_option_filters_and_repeats(
    config: Path, config_data: dict[str, Any], cli: Callable[..., Run]
) -> None:
    result = cli("check", "-c", config, "--model", HEALTHY, "--model", DEGRADED, "--format", "json")

    assert [i["model"] for i in json.loads(result.out)] == [HEALTHY, DEGRADED]
    assert recorded(config_data) == [(DEGRADED, "triggered"), (HEALTHY, "ok")]


def test_unknown_model_exits_2(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("check", "-c", config, "--model", "nonexistent", "--exit-code")

    assert result.code == 2
    assert result.err.strip() == "error: --model: unknown model 'nonexistent'"
    assert result.out == ""


def test_source_down_exits_3_and_is_recorded_as_error(
    config: Path, config_data: dict[str, Any], lab: Path, cli: Callable[..., Run]
) -> None:
    (lab / "experiments.db").unlink()

    result = cli("check", "-c", config, "--format", "json", "--exit-code")

    assert result.code == 3
    items = json.loads(result.out)
    assert {i["outcome"] for i in items} == {"error"}
    assert all("experiment database" in i["error"] and "source 'lab'" in i["error"] for i in items)
    assert recorded(config_data) == [(DRIFTING, "error"), (DEGRADED, "error"), (HEALTHY, "error")]
    assert "Traceback" not in result.err


def test_postgres_source_on_a_closed_port_exits_3(
    config_data: dict[str, Any], write_config: Callable[[Any], Path], cli: Callable[..., Run]
) -> None:
    source = config_data["sources"]["lab"]
    source.update(
        experiments_url="postgresql+psycopg://sentinel@127.0.0.1:1/experiments", retries=0, timeout="3s"
    )

    result = cli("check", "-c", write_config(config_data), "--format", "json")

    assert result.code == 3
    assert {i["outcome"] for i in json.loads(result.out)} == {"error"}
    assert recorded(config_data) == [(DRIFTING, "error"), (DEGRADED, "error"), (HEALTHY, "error")]


def test_one_failing_source_does_not_stop_the_others(
    config_data: dict[str, Any], write_config: Callable[[Any], Path], lab: Path, cli: Callable[..., Run]
) -> None:
    broken = dict(config_data["sources"]["lab"], experiments_url=f"sqlite:///{lab / 'gone.db'}")
    config_data["sources"]["broken"] = broken
    config_data["models"][0]["source"] = "broken"

    result = cli("check", "-c", write_config(config_data), "--format", "json", "--exit-code")

    assert result.code == 3  # an error outranks a recommendation (DESIGN §11)
    assert {i["model"]: i["outcome"] for i in json.loads(result.out)} == {
        HEALTHY: "error",
        DRIFTING: "triggered",
        DEGRADED: "triggered",
    }


def test_history_database_down_exits_3(
    config_data: dict[str, Any], write_config: Callable[[Any], Path], cli: Callable[..., Run]
) -> None:
    config_data["database"] = "postgresql+psycopg://sentinel@127.0.0.1:1/history"

    result = cli("check", "-c", write_config(config_data))

    assert result.code == 3
    assert result.err.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in result.err


def test_undelivered_alert_exits_3_and_stays_queued(
    config_data: dict[str, Any],
    write_config: Callable[[Any], Path],
    cli: Callable[..., Run],
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("busy", status=503)
    config_data["channels"]["hook"] = {"kind": "webhook", "url": httpserver.url_for("/hook")}
    config_data["defaults"]["channels"] = ["hook"]

    result = cli("check", "-c", write_config(config_data), "--exit-code")

    assert result.code == 3
    assert "could not be delivered" in result.err
    # one attempt: a receiver that failed is not tried again within the run; the rest is left for
    # the daemon, untried and uncounted
    assert len(httpserver.log) == 1
    store = HistoryStore(config_data["database"])
    try:
        queued = store.outbox()
    finally:
        store.close()
    assert len(queued) == 2
    assert all(row.status == "pending" and row.claimed_by is None for row in queued)
    assert sorted(row.attempts for row in queued) == [0, 1]


def test_delivered_webhook_alert_carries_the_report(
    config_data: dict[str, Any],
    write_config: Callable[[Any], Path],
    cli: Callable[..., Run],
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config_data["channels"]["hook"] = {"kind": "webhook", "url": httpserver.url_for("/hook"), "secret": "k1"}
    config_data["defaults"]["channels"] = ["hook"]

    result = cli("check", "-c", write_config(config_data), "--exit-code")

    assert result.code == 1
    bodies = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert sorted(json.dumps(b).count(DRIFTING) > 0 for b in bodies) == [False, True]
    assert all(request.headers["X-Sentinel-Signature"].startswith("t=") for request, _ in httpserver.log)


def test_check_sends_only_the_notifications_it_queued(
    config_data: dict[str, Any],
    write_config: Callable[[Any], Path],
    cli: Callable[..., Run],
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config_data["channels"]["hook"] = {"kind": "webhook", "url": httpserver.url_for("/hook")}
    config_data["defaults"]["channels"] = ["hook"]
    upgrade(config_data["database"])
    with HistoryStore(config_data["database"]) as store:  # the daemon's queue: due now, not check's
        daemons = store.record(
            [evaluation("triggered", datetime.now(UTC), model=DRIFTING)],
            now=datetime.now(UTC),
            routes={DRIFTING: routes("hook", kinds={"hook": "webhook"})},
        )

    result = cli("check", "-c", write_config(config_data), "--model", DEGRADED)

    assert result.code == 0, result.err
    keys = [request.headers["Idempotency-Key"] for request, _ in httpserver.log]
    assert len(keys) == 1 and keys[0] != daemons.notifications[0].id
    with HistoryStore(config_data["database"]) as store:
        (left,) = store.outbox(model=DRIFTING)
    assert left.id == daemons.notifications[0].id and left.status == "pending" and left.attempts == 0


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_a_second_check_does_not_alert_again(config: Path, cli: Callable[..., Run], fmt: str) -> None:
    cli("check", "-c", config)

    again = cli("check", "-c", config, "--format", fmt)

    assert again.code == 0
    assert "FIRING" not in again.err


@pytest.mark.parametrize("name", ["[/x]", "[bold]loud[/bold]", ":smile:"])
def test_text_table_prints_a_model_name_that_looks_like_markup_as_written(
    config_data: dict[str, Any], write_config: Callable[[Any], Path], cli: Callable[..., Run], name: str
) -> None:
    config_data["models"] = [{**config_data["models"][1], "name": name, "model": DRIFTING}]

    result = cli("check", "-c", write_config(config_data))

    assert result.code == 0, result.err
    cells = [line.split("│")[1].strip() for line in result.out.splitlines() if line.startswith("│ ")]
    assert [cell for cell in cells if cell] == [name]  # the other cells of a wrapped row are empty
    assert f"• {name}: Data drift detected" in result.out


def _cells(out: str) -> dict[str, tuple[str, str]]:
    """The text table's ``model → (outcome, why)``, each cell's wrapped lines joined by spaces."""
    rows: dict[str, tuple[str, str]] = {}
    current = ""
    for line in out.splitlines():
        if not line.startswith("│"):
            continue
        model, outcome, _, why = (cell.strip() for cell in line.strip("│").split("│"))
        if model:
            current = model
            rows[current] = (outcome, why)
        else:
            rows[current] = (rows[current][0], f"{rows[current][1]} {why}".strip())
    return rows


def test_text_prints_skipped_and_undecided_triggers_beside_the_verdict(
    config_data: dict[str, Any],
    write_config: Callable[[Any], Path],
    cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 12 items 1 and 2: a preset that judged only some of its triggers said a bare "ok", and
    an undecided watch printed no reason."""
    monkeypatch.setenv("COLUMNS", "250")
    healthy, drifting = config_data["models"][0], config_data["models"][1]
    config_data["models"] = [
        {key: value for key, value in healthy.items() if key != "counts"},  # no sample counts
        {**drifting, "policy": {"drift": {"metric": "psi_total"}}},  # a score the source never logs
    ]

    result = cli("check", "-c", write_config(config_data), "--dry-run")

    rows = _cells(result.out)
    assert rows[HEALTHY] == (
        "ok",
        "data_volume skipped (no input: no new_count, nor current_count and baseline_count)",
    )
    assert rows[DRIFTING] == (
        "undecided",
        "drift could not decide: Drift metric 'psi_total' not found in drift metrics",
    )
    assert (
        f"• {DRIFTING}: Undecided, no verdict: drift could not decide: "
        "Drift metric 'psi_total' not found in drift metrics." in result.out
    )


def test_markdown_of_an_undecided_watch_is_never_ok(
    config_data: dict[str, Any], write_config: Callable[[Any], Path], cli: Callable[..., Run]
) -> None:
    """Issue 12 item 2: ``--format markdown`` showed "🟢 OK" for a watch that decided nothing."""
    config_data["models"] = [{**config_data["models"][1], "policy": {"drift": {"metric": "psi_total"}}}]

    result = cli("check", "-c", write_config(config_data), "--dry-run", "--format", "markdown")

    assert "🟢 OK" not in result.out and "No action needed" not in result.out
    assert "**Status:** ⚪ UNDECIDED\n" in result.out
    assert (
        "**Not judged:** drift could not decide: Drift metric 'psi_total' not found in drift metrics\n"
        in result.out
    )


def test_an_undecided_watch_with_no_input_at_all_says_why_in_every_format(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12 item 2: a watch whose snapshot had none of the preset's inputs printed an empty
    reason ("—") in the table and "🟢 OK" in Markdown."""
    from retrain_sentinel.cli.check import print_results
    from retrain_sentinel.evaluation import Evaluation, outcome_of
    from retrain_sentinel.snapshot import Snapshot
    from retrain_sentinel.triggers.policy import build_policy

    monkeypatch.setenv("COLUMNS", "250")
    now = datetime(2026, 3, 1, tzinfo=UTC)
    report = build_policy("balanced").evaluate(Snapshot(), now, model="empty")
    results = [Evaluation(watch="empty", outcome=outcome_of(report), evaluated_at=now, report=report)]

    print_results(results, "text")
    outcome, why = _cells(capsys.readouterr().out)["empty"]
    print_results(results, "markdown")
    markdown = capsys.readouterr().out

    assert outcome == "undecided"
    assert why == (
        "drift skipped (no input: no drift score in drift_metrics) "
        "performance skipped (no input: no current and baseline value of the performance metric) "
        "time skipped (no input: no last training time) "
        "data_volume skipped (no input: no new_count, nor current_count and baseline_count)"
    )
    assert "**Status:** ⚪ UNDECIDED" in markdown and "🟢 OK" not in markdown
    assert "1. Undecided, no verdict: drift skipped (no input: no drift score in drift_metrics);" in markdown
