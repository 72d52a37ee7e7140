"""`retrain-sentinel validate`: a good config passes; each broken one exits 2 with one clear line per
problem that names the problem's own path (models by name), never a traceback, never a secret."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import DEGRADED, DRIFTING, Run

Mutation = Callable[[dict[str, Any]], None]
SECRET = "s3cr3t-t0ken-do-not-print"


def model(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(m for m in data["models"] if m["name"] == name)
    return found


def set_model(name: str, **values: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        model(data, name).update({k.rstrip("_"): v for k, v in values.items()})

    return mutate


def set_top(**values: Any) -> Mutation:
    return lambda data: data.update(values)


def set_source(name: str, **values: Any) -> Mutation:
    return lambda data: data["sources"][name].update(values)


def add(section: str, name: str, value: dict[str, Any]) -> Mutation:
    return lambda data: data.setdefault(section, {}).update({name: value})


def chain(*mutations: Mutation) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(data)

    return mutate


def duplicate_model(data: dict[str, Any]) -> None:
    data["models"].append(dict(model(data, DRIFTING)))


def model_without_name(data: dict[str, Any]) -> None:
    data["models"].append({"source": "lab"})


FILES_SOURCE = {"kind": "files", "reference": "ref.parquet", "current": "cur/*.parquet"}
NESTED = {
    "all": [{"any": [{"drift": {"threshold": 0.2}}, {"performance": {"threshold": -0.5}}]}, {"time": {}}]
}

BROKEN: list[tuple[str, Mutation, str, str]] = [
    # (case, how the demo config is broken, the path the error must name, a word of the message)
    ("wrong-type-top", set_top(http={"port": f"nine {SECRET}"}), "http.port", "integer"),
    (
        "wrong-type-model",
        set_model(DEGRADED, min_samples=f"many {SECRET}"),
        f"models[{DEGRADED}].min_samples",
        "integer",
    ),
    ("wrong-type-section", set_top(retention=[90, SECRET]), "retention", ""),
    (
        "unknown-preset",
        set_model(DRIFTING, policy=f"reckless {SECRET}"),
        f"models[{DRIFTING}].policy",
        "balanced",
    ),
    (
        "unknown-preset-in-override",
        set_model(DRIFTING, policy={"preset": f"reckless {SECRET}"}),
        f"models[{DRIFTING}].policy.preset",
        "balanced",
    ),
    (
        "unknown-channel",
        set_model(DEGRADED, channels=["nowhere"]),
        f"models[{DEGRADED}].channels[0]",
        "nowhere",
    ),
    ("unknown-source", set_model(DEGRADED, source="nowhere"), f"models[{DEGRADED}].source", "nowhere"),
    (
        "unknown-drift-source",
        set_model(DEGRADED, drift_source="nowhere"),
        f"models[{DEGRADED}].drift_source",
        "nowhere",
    ),
    (
        "drift-source-not-files",
        set_model(DEGRADED, drift_source="lab"),
        f"models[{DEGRADED}].drift_source",
        "files",
    ),
    (
        "missing-env-var-in-channel",
        add(
            "channels",
            "hook",
            {"kind": "webhook", "url": f"https://ci.example.com/{SECRET}/${{RS_TEST_UNSET_HOOK_URL}}"},
        ),
        "channels.hook.url",
        "RS_TEST_UNSET_HOOK_URL",
    ),
    (
        "missing-env-var-in-model",
        set_model(DRIFTING, model="${RS_TEST_UNSET_MODEL}"),
        f"models[{DRIFTING}].model",
        "RS_TEST_UNSET_MODEL",
    ),
    (
        "negative-threshold-nested",
        set_model(DEGRADED, policy=NESTED),
        f"models[{DEGRADED}].policy.all[0].any[1].performance.threshold",
        "≥ 0",
    ),
    (
        "negative-threshold-in-override",
        set_model(DRIFTING, policy={"preset": "balanced", "override": {"drift": {"threshold": -0.1}}}),
        f"models[{DRIFTING}].policy.override.drift.threshold",
        "≥ 0",
    ),
    (
        "negative-count",
        set_model(DEGRADED, policy={"data_volume": {"threshold_samples": -5}}),
        f"models[{DEGRADED}].policy.data_volume.threshold_samples",
        "≥ 0",
    ),
    (
        "bad-cron",
        set_model(DEGRADED, schedule={"cron": "every monday"}),
        f"models[{DEGRADED}].schedule",
        "cron",
    ),
    (
        "every-and-cron",
        set_model(DEGRADED, schedule={"every": "1h", "cron": "* * * * *"}),
        f"models[{DEGRADED}].schedule",
        "exactly one",
    ),
    (
        "bad-duration",
        set_model(DEGRADED, stale_after="two days"),
        f"models[{DEGRADED}].stale_after",
        "duration",
    ),
    ("bad-duration-service", set_top(service={"lease_ttl": "soon"}), "service.lease_ttl", "duration"),
    ("zero-lease", set_top(service={"lease_ttl": "0s"}), "service.lease_ttl", "> 0"),
    ("duplicate-model-names", duplicate_model, f"models[{DRIFTING}].name", "duplicate"),
    (
        "duplicate-trigger-names",
        set_model(DRIFTING, policy={"any": [{"drift": {}}, {"drift": {"threshold": 0.3}}]}),
        f"models[{DRIFTING}].policy.any[1]",
        "already used",
    ),
    (
        "duplicate-trigger-name-in-override",
        set_model(DRIFTING, policy={"preset": "balanced", "override": {"time": {"name": "drift"}}}),
        f"models[{DRIFTING}].policy.override.time.name",
        "already used",
    ),
    (
        "unknown-key-top",
        set_top(databse=f"postgresql+psycopg://bot:{SECRET}@db/history"),
        "databse",
        "unknown key",
    ),
    ("unknown-key-section", set_top(http={"hots": "localhost"}), "http.hots", "unknown key"),
    (
        "unknown-key-source",
        set_source("lab", experiment_url=f"postgresql+psycopg://bot:{SECRET}@db/lab"),
        "sources.lab.experiment_url",
        "unknown key",
    ),
    ("unknown-key-model", set_model(DEGRADED, polcy="balanced"), f"models[{DEGRADED}].polcy", "unknown key"),
    (
        "unknown-key-selector",
        set_model(DEGRADED, current_run={"name": "eval-*", "nmae": "x"}),
        f"models[{DEGRADED}].current_run.nmae",
        "unknown key",
    ),
    (
        "unknown-key-leaf",
        set_model(DRIFTING, policy={"drift": {"treshold": 0.1}}),
        f"models[{DRIFTING}].policy.drift.treshold",
        "unknown key",
    ),
    (
        "unknown-key-deep-leaf",
        set_model(DEGRADED, policy={"all": [{"any": [{"time": {"intervall": "1d"}}]}]}),
        f"models[{DEGRADED}].policy.all[0].any[0].time.intervall",
        "unknown key",
    ),
    (
        "unknown-key-defaults",
        lambda d: d["defaults"].update(schedul={"every": "1h"}),
        "defaults.schedul",
        "unknown key",
    ),
    ("empty-any", set_model(DRIFTING, policy={"any": []}), f"models[{DRIFTING}].policy.any", "empty"),
    (
        "empty-nested-all",
        set_model(DRIFTING, policy={"any": [{"all": []}]}),
        f"models[{DRIFTING}].policy.any[0].all",
        "empty",
    ),
    (
        "bad-policy-shape",
        set_model(DRIFTING, policy={"some": [SECRET]}),
        f"models[{DRIFTING}].policy",
        "expected",
    ),
    ("bad-timezone", set_top(timezone="Mars/Olympus_Mons"), "timezone", "timezone"),
    ("bad-source-timezone", set_source("lab", timezone="Nowhere/City"), "sources.lab.timezone", "timezone"),
    ("bad-database-url", set_top(database=f"mysql://bot:{SECRET}@db/history"), "database", "unsupported"),
    (
        "bad-severity",
        set_model(DRIFTING, policy={"drift": {"severity": f"urgent {SECRET}"}}),
        f"models[{DRIFTING}].policy.drift.severity",
        "critical",
    ),
    (
        "bad-route-severity",
        set_model(DEGRADED, channels=[{"channel": "stdout", "min_severity": f"loud {SECRET}"}]),
        f"models[{DEGRADED}].channels[0].min_severity",
        "warning",
    ),
    (
        "unknown-source-kind",
        set_source("lab", kind="oracle", url=f"oracle://bot:{SECRET}@db/lab"),
        "sources.lab",
        "kind",
    ),
    (
        "unknown-channel-kind",
        add("channels", "pager", {"kind": "pager", "url": f"https://pager.example.com/{SECRET}"}),
        "channels.pager",
        "kind",
    ),
    (
        "unknown-dead-letter-channel",
        set_top(delivery={"dead_letter_channel": "nowhere"}),
        "delivery.dead_letter_channel",
        "nowhere",
    ),
    ("for-zero", set_model(DEGRADED, for_=0), f"models[{DEGRADED}].for", "≥ 1"),
    ("model-without-name", model_without_name, "models[3].name", "required"),
    (
        "write-query",
        add(
            "sources",
            "dw",
            {
                "kind": "sql",
                "url": f"postgresql+psycopg://bot:{SECRET}@dw/warehouse",
                "queries": {"snapshot": "DELETE FROM t"},
            },
        ),
        "sources.dw.queries.snapshot",
        "SELECT",
    ),
    (
        "slack-url-not-a-url",
        add("channels", "team", {"kind": "slack", "webhook_url": f"hooks.slack.com/{SECRET}"}),
        "channels.team.webhook_url",
        "URL",
    ),
    (
        "webhook-both-url-and-file",
        add(
            "channels",
            "hook",
            {"kind": "webhook", "url": f"https://ci.example.com/{SECRET}", "url_file": "/run/u"},
        ),
        "channels.hook",
        "not both",
    ),
    (
        "mlflow-token-and-password",
        add(
            "sources", "ml", {"kind": "mlflow", "tracking_uri": "http://ml", "token": SECRET, "username": "u"}
        ),
        "sources.ml",
        "not both",
    ),
    (
        "files-source-bad-window",
        add("sources", "data", {**FILES_SOURCE, "window": "a while"}),
        "sources.data.window",
        "duration",
    ),
]


# Every case's config also keeps secrets where a valid config holds them, so a message that dumps a
# section or the whole config leaks one whichever problem it reports; many cases hold one in the very
# value that is wrong, too.
SECRET_HOLDERS: dict[str, dict[str, Any]] = {
    "channels": {
        "vault": {"kind": "webhook", "url": f"https://hooks.example.com/{SECRET}", "secret": SECRET}
    },
    "sources": {"tracking": {"kind": "mlflow", "tracking_uri": "http://mlflow.example.com", "token": SECRET}},
}


@pytest.mark.parametrize("case", BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_config_exits_2_naming_the_path(
    case: tuple[str, Mutation, str, str],
    config_data: dict[str, Any],
    write_config: Callable[[Any], Path],
    cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, mutate, path, word = case
    monkeypatch.delenv("RS_TEST_UNSET_HOOK_URL", raising=False)
    monkeypatch.delenv("RS_TEST_UNSET_MODEL", raising=False)
    for section, holders in copy.deepcopy(SECRET_HOLDERS).items():
        config_data.setdefault(section, {}).update(holders)
    mutate(config_data)

    result = cli("validate", "-c", write_config(config_data))

    assert result.code == 2
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert lines, result.err
    assert all(line.startswith(f"error: {path}: ") and word in line for line in lines), result.err
    assert "Traceback" not in result.err
    assert SECRET not in result.err


def test_at_least_twenty_broken_configs_are_covered() -> None:
    assert len(BROKEN) >= 20


def test_every_problem_is_reported_at_once(
    config_data: dict[str, Any], write_config: Callable[[Any], Path], cli: Callable[..., Run]
) -> None:
    set_model(DRIFTING, source="nowhere")(config_data)
    set_model(DEGRADED, channels=["nobody"])(config_data)

    result = cli("validate", "-c", write_config(config_data))

    assert result.code == 2
    assert f"error: models[{DRIFTING}].source: unknown source 'nowhere'" in result.err
    assert f"error: models[{DEGRADED}].channels[0]: unknown channel 'nobody'" in result.err


def test_every_missing_variable_is_named(
    config_data: dict[str, Any],
    write_config: Callable[[Any], Path],
    cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RS_TEST_UNSET_A", raising=False)
    monkeypatch.delenv("RS_TEST_UNSET_B", raising=False)
    config_data["channels"]["hook"] = {
        "kind": "webhook",
        "url": "${RS_TEST_UNSET_A}",
        "secret": "${RS_TEST_UNSET_B}",
    }

    result = cli("validate", "-c", write_config(config_data))

    assert result.code == 2
    assert "channels.hook.url: environment variable RS_TEST_UNSET_A is not set" in result.err
    assert "channels.hook.secret: environment variable RS_TEST_UNSET_B is not set" in result.err


def test_valid_config_passes_and_says_what_it_holds(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("validate", "-c", config)

    assert result.code == 0, result.err
    assert result.out.strip() == "config OK: 3 models, 1 sources, 1 channels"


def test_variables_are_expanded_and_dollar_dollar_escapes(
    config_data: dict[str, Any],
    write_config: Callable[[Any], Path],
    cli: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RS_TEST_HOOK_URL", "https://ci.example.com/hooks/retrain")
    config_data["channels"]["hook"] = {"kind": "webhook", "url": "${RS_TEST_HOOK_URL}"}
    set_model(DRIFTING, current_run={"name": "eval-$${literal}-*"})(config_data)

    assert cli("validate", "-c", write_config(config_data)).code == 0


def test_config_from_the_environment_variable(
    config: Path, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RETRAIN_SENTINEL_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)

    assert cli("validate").code == 0


def test_environment_overrides_a_top_level_key(
    config: Path, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETRAIN_SENTINEL_TIMEZONE", "Atlantis/Capital")

    result = cli("validate", "-c", config)

    assert result.code == 2
    assert "error: timezone: " in result.err


def test_a_section_override_that_is_not_json_exits_2_naming_the_variable(
    config: Path, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETRAIN_SENTINEL_HTTP", '{"port": 9800')

    result = cli("validate", "-c", config)

    assert result.code == 2
    assert result.err.startswith("error: RETRAIN_SENTINEL_HTTP: ")
    assert "internal error" not in result.err


def test_missing_config_file_exits_2(cli: Callable[..., Run], tmp_path: Path) -> None:
    result = cli("validate", "-c", tmp_path / "absent.yaml")

    assert result.code == 2
    assert "absent.yaml: cannot read the config file" in result.err


def test_invalid_yaml_exits_2_with_the_line(
    write_config: Callable[[Any], Path], cli: Callable[..., Run]
) -> None:
    result = cli("validate", "-c", write_config("models:\n  - name: a\n   source: [\n"))

    assert result.code == 2
    assert "invalid YAML at line" in result.err
    assert "Traceback" not in result.err


def test_a_config_that_is_not_a_mapping_exits_2(
    write_config: Callable[[Any], Path], cli: Callable[..., Run]
) -> None:
    result = cli("validate", "-c", write_config("- just\n- a list\n"))

    assert result.code == 2
    assert "must be a mapping" in result.err


def test_a_bad_default_is_reported_once_where_it_was_written(
    config_data: dict[str, Any], write_config: Callable[[Any], Path], cli: Callable[..., Run]
) -> None:
    config_data["defaults"]["baseline"] = {"tag": ""}
    config_data["defaults"]["error_after"] = 0

    result = cli("validate", "-c", write_config(config_data))

    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "error: defaults.baseline.tag: must not be empty",
        "error: defaults.error_after: must be ≥ 1",
    ]


def test_a_model_overriding_a_bad_default_is_not_blamed_for_it(
    config_data: dict[str, Any], write_config: Callable[[Any], Path], cli: Callable[..., Run]
) -> None:
    config_data["defaults"]["error_after"] = 0
    for item in config_data["models"]:
        item["error_after"] = 5

    assert cli("validate", "-c", write_config(config_data)).code == 0


def test_connect_reaches_the_source_channel_and_database_without_creating_the_history(
    config_data: dict[str, Any], tmp_path: Path, write_config: Callable[[Any], Path], cli: Callable[..., Run]
) -> None:
    result = cli("validate", "--connect", "-c", write_config(config_data))

    assert result.code == 0, result.err
    assert "reached sources.lab" in result.out and "reached channels.stdout" in result.out
    assert not (tmp_path / "history.db").exists()


def test_connect_exits_3_when_a_source_cannot_be_reached(
    config_data: dict[str, Any], lab: Path, write_config: Callable[[Any], Path], cli: Callable[..., Run]
) -> None:
    (lab / "experiments.db").unlink()

    result = cli("validate", "--connect", "-c", write_config(config_data))

    assert result.code == 3
    assert "sources.lab" in result.err and "Traceback" not in result.err
