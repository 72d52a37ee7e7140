"""The config loader (settings.py, and config_document.py for the YAML document): variables, overrides, defaults, and paths that name what is wrong;
and loading stays light — reading and validating a config, every command's first step, imports
neither SQLAlchemy nor numpy (the store, the sources and the statistics come in only when used)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

import retrain_sentinel.settings as settings_module
from deploy.configs import localise
from retrain_sentinel import config_document
from retrain_sentinel.config_document import YAML_LOADERS, parse_yaml
from retrain_sentinel.errors import ConfigError
from retrain_sentinel.settings import expand_variables, load_settings, parse_settings

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

    assert problems(raw) == [("defaults.polcy", "unknown key; did you mean `policy`?")]


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


# --- names (issue 11, item 5): what every supported database stores, and what prints as one line ----

MARK = "n4me-do-not-echo"


@pytest.mark.parametrize(
    "name",
    ["fraud", "fraud-v2.1", "team/churn", "Churn model (EU)", "a_b:c@d", "模型-α", "x" * 200, "[/x]", "ünïcødé"],
)
def test_real_world_names_are_accepted(name: str) -> None:
    settings = parse_settings(config(models=[{"name": name, "source": "lab"}], channels={name: {"kind": "console"}}), {})

    assert settings.models[0].name == name and name in settings.channels


@pytest.mark.parametrize(
    ("name", "word"),
    [
        (MARK + "x" * (201 - len(MARK)), "at most 200 characters"),
        (MARK + "\x00", "control"),
        (MARK + "\tb", "control"),
        (MARK + "\nb", "control"),
        (MARK + "\x1b[31m", "control"),
        (MARK + "\u202e", "control"),  # a bidi override: reverses what a log line shows
        (MARK + "\u2028", "control"),  # a line separator
        (MARK + "\ud800", "control"),  # a lone surrogate: not UTF-8
        (" " + MARK, "whitespace"),
        (MARK + " ", "whitespace"),
        ("", "empty"),
    ],
    ids=["201-chars", "nul", "tab", "newline", "escape", "bidi", "line-separator", "surrogate", "leading", "trailing", "empty"],
)
def test_a_name_the_history_cannot_store_is_refused_by_position_without_echo(name: str, word: str) -> None:
    raw = config(models=[{"name": "ok", "source": "lab"}, {"name": name, "source": "lab"}])

    found = problems(raw)

    assert [path for path, _ in found] == ["models[1].name"]
    assert word in found[0][1]
    assert MARK not in repr(found)


def test_a_channel_name_the_outbox_cannot_store_is_refused_without_echo() -> None:
    raw = config(channels={MARK + "x" * 200: {"kind": "console"}})

    assert problems(raw) == [("channels", "a name must be at most 200 characters (the history's name columns)")]


def test_a_model_named_by_a_variable_is_named_by_position() -> None:
    raw = config(models=[{"name": "${NAME}", "source": "nowhere"}, {"name": "${NAME}", "source": "lab"}])

    found = problems(raw, {"NAME": MARK})

    assert found == [
        ("models[0].source", "unknown source: the sources are lab"),
        ("models[1].name", "duplicate model name: models[0] has it too"),
    ]


def test_an_invalid_name_does_not_label_the_other_errors_of_its_model() -> None:
    raw = config(models=[{"name": MARK + "\n", "source": "lab", "for": 0}])

    assert problems(raw) == [
        ("models[0].name", "must not contain control or format characters (NUL, tab, line break, escape)"),
        ("models[0].for", "must be ≥ 1"),
    ]


# --- documents that crashed or hung `validate` (items 7 and 8) -----------------------------------


def test_a_key_that_is_not_text_is_refused_at_its_path() -> None:
    assert problems({1: 2}) == [("1", "a key must be text: quote it")]  # type: ignore[dict-item]
    assert problems(config(http={None: 1, True: 2})) == [("http.null", "a key must be text: quote it")]


def test_a_key_with_a_line_break_is_refused_at_its_parent() -> None:
    assert problems(config(http={"host\nerror: forged": 1})) == [
        ("http", "a key holds a control or format character")
    ]


def test_a_self_referencing_alias_is_refused() -> None:
    models: list[Any] = []
    models.append(models)

    assert problems({"models": models}) == [
        ("models[0]", "an alias refers to a mapping or list that contains it")
    ]


def test_an_alias_to_the_whole_document_is_refused() -> None:
    raw = parse_yaml("&top {http: *top}\n", where="c.yaml")

    assert problems(raw) == [("http", "an alias refers to a mapping or list that contains it")]


def test_nesting_is_bounded_with_the_path_where_it_crossed() -> None:
    node: dict[str, Any] = {"time": {}}
    for _ in range(30):
        node = {"all": [node]}
    raw = config(models=[{"name": "m", "source": "lab", "policy": node}])

    [(path, message)] = problems(raw)

    assert path.startswith("models[m].policy.all[0].all[0]") and len(path.split(".")) == 21
    assert message == "nested more than 40 levels deep"


def test_nesting_through_an_alias_counts_the_depth_below_it() -> None:
    deep: dict[str, Any] = {"time": {}}
    for _ in range(18):
        deep = {"all": [deep]}
    raw = config(
        shared=deep,  # 37 deep here: fine
        models=[{"name": "m", "source": "lab", "policy": {"all": [{"any": [deep]}]}}],  # 45 deep there
    )

    assert problems(raw) == [("models[m].policy.all[0].any[0]", "nested more than 40 levels deep")]


def test_aliases_are_counted_expanded_without_being_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    level: list[Any] = ["lol"] * 10
    for _ in range(30):  # 10**31 values, expanded
        level = [level] * 10

    [(path, message)] = problems({"lol": level})

    assert path.startswith("lol[0]") and message == "aliases expand the config to more than 4,000,000 values"


def test_the_values_of_a_document_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_document, "MAX_VALUES", 1000)

    assert problems({"defaults": {"metric_aliases": {f"m{i}": "x" for i in range(1000)}}}) == [
        ("the config", "holds more than 1,000 values (lists, mappings and scalars)")
    ]


def test_equal_policies_are_built_once_and_shared() -> None:
    raw = config(models=[{"name": f"m{i}", "source": "lab"} for i in range(3)] + [{"name": "own", "source": "lab", "policy": "aggressive"}])

    settings = parse_settings(raw, {})

    first, second, third, own = (w.built_policy() for w in settings.models)
    assert first is second is third and own is not first
    assert (first.preset, own.preset) == ("balanced", "aggressive")


# --- the YAML itself (items 7 and 8): both PyYAML loaders ----------------------------------------

LOADERS = sorted(YAML_LOADERS)


@pytest.mark.parametrize("loader", LOADERS)
def test_yaml_nesting_is_an_error_at_the_line_not_a_recursion_error(loader: str) -> None:
    text = "policy: " + "{all: [" * 1000 + "{time: {}}" + "]}" * 1000 + "\n"

    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, where="c.yaml", loader=loader)

    [(path, message)] = caught.value.problems
    assert path == "c.yaml" and message.startswith("invalid YAML at line 1, column ") and "nest" in message


@pytest.mark.parametrize("loader", LOADERS)
def test_merge_keys_are_bounded(loader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_document, "MAX_VALUES", 10_000)
    keys = ", ".join(f"k{i}: 1" for i in range(1000))
    text = f"base: &b {{{keys}}}\nmany:\n" + "  - <<: *b\n" * 1000  # 1,000,000 entries once merged

    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, where="c.yaml", loader=loader)

    assert caught.value.problems == [("c.yaml", "invalid YAML at line 13, column 5: merge keys (<<) add more than 10,000 entries")]


@pytest.mark.parametrize("loader", LOADERS)
def test_merge_keys_still_merge(loader: str) -> None:
    text = "base: &b {a: 1, b: 2}\none: {<<: *b, b: 3}\n"

    assert parse_yaml(text, where="c.yaml", loader=loader)["one"] == {"a": 1, "b": 3}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("days: " + "9" * 5000 + "\n", "Exceeds the limit (4300 digits) for integer string conversion"),
        ("when: 2024-02-30\n", "day is out of range for month"),
    ],
)
@pytest.mark.parametrize("loader", LOADERS)
def test_a_scalar_yaml_cannot_convert_is_a_config_error(loader: str, text: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, where="c.yaml", loader=loader)

    assert caught.value.problems == [("c.yaml", f"invalid YAML: a value cannot be read ({reason})")]


def test_the_config_file_is_bounded_and_must_be_regular(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings_module, "MAX_CONFIG_BYTES", 1024 * 1024)
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 1024 * 1024 + "\n")

    for path, reason in ((big, "larger than 1 MiB"), (tmp_path, "Is a directory"), (Path("/dev/zero"), "not a regular file")):
        with pytest.raises(ConfigError) as caught:
            load_settings(path, {})
        assert caught.value.problems == [(str(path), f"cannot read the config file: {reason}")]


def test_loading_leaves_the_garbage_collector_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("models: []\n")

    load_settings(path, {})
    assert gc.isenabled()
    gc.disable()
    try:
        load_settings(path, {})
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('a: !!int ""\n', "invalid YAML at line 1, column 4: not a valid !!int"),  # was IndexError
        ('a: !!float ""\n', "invalid YAML at line 1, column 4: not a valid !!float"),  # IndexError
        ("a: !!bool maybe\n", "invalid YAML at line 1, column 4: not a valid !!bool"),  # KeyError
        ("a: !!timestamp soon\n", "invalid YAML at line 1, column 4: not a valid !!timestamp"),  # AttributeError
        ("a: 1\nb: x\x1b[2J\n", "invalid YAML at line 2, column 5: character #x001b is not allowed"),  # two lines
    ],
)
@pytest.mark.parametrize("loader", LOADERS)
def test_a_bad_scalar_is_one_line_at_its_position(loader: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, where="c.yaml", loader=loader)

    assert caught.value.problems == [("c.yaml", message)]


@pytest.mark.parametrize("loader", LOADERS)
def test_explicit_tags_still_convert_as_pyyaml_does(loader: str) -> None:
    text = "a: !!int 0x1f\nb: !!float 3\nc: !!bool yes\nd: !!timestamp 2026-03-01\ne: !!str 12\n"

    assert parse_yaml(text, where="c.yaml", loader=loader) == {
        "a": 31,
        "b": 3.0,
        "c": True,
        "d": date(2026, 3, 1),
        "e": "12",
    }


def test_a_section_override_nested_too_deeply_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ended in RecursionError (exit 4): the JSON decoder's own, and a policy's, deeper down."""
    monkeypatch.setenv("RETRAIN_SENTINEL_HTTP", "[" * 50_000 + "]" * 50_000)
    assert problems(config()) == [("a RETRAIN_SENTINEL_* variable", "its JSON nests too deeply")]

    policy = '{"all": [' * 200 + '{"time": {}}' + "]}" * 200
    monkeypatch.setenv("RETRAIN_SENTINEL_HTTP", "{}")
    monkeypatch.setenv("RETRAIN_SENTINEL_MODELS", f'[{{"name": "m", "source": "lab", "policy": {policy}}}]')
    [(path, message)] = problems(config())
    assert path == "RETRAIN_SENTINEL_MODELS"
    assert message.startswith("models[0].policy.all[0]") and message.endswith(": nested more than 40 levels deep")


def test_models_from_the_environment_are_not_labelled_with_the_file_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRAIN_SENTINEL_MODELS", '[{"name": "x", "source": "nowhere"}]')

    assert problems(config(models=[{"name": "from-the-file", "source": "lab"}])) == [
        ("models[0].source", "unknown source: the sources are lab")
    ]


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "ftp://models.example.com/x", "https://x.example.com/{secret}"]
)
def test_a_watch_link_is_an_http_url_with_known_placeholders(link: str) -> None:
    """It becomes a Slack button and an email anchor: never a script, never an unknown brace."""
    raw = config(models=[{"name": "fraud", "source": "lab", "link": link}])
    ((path, _),) = problems(raw)
    assert path == "models[fraud].link"


def test_a_watch_link_with_placeholders_is_accepted() -> None:
    raw = config(models=[{"name": "fraud", "source": "lab", "link": "https://ml.example.com/m/{model}/v/{version}"}])
    assert parse_settings(raw, {}).models[0].link == "https://ml.example.com/m/{model}/v/{version}"


def test_a_channel_defined_by_an_override_is_known_to_the_models(monkeypatch: pytest.MonkeyPatch) -> None:
    # The cross-section checks run on the validated settings, overrides included, when validation
    # passes; when it fails they skip a section an override replaces (its value is not known yet).
    monkeypatch.setenv("RETRAIN_SENTINEL_CHANNELS", '{"ops": {"kind": "console"}}')
    raw = config(models=[{"name": "a", "source": "lab", "channels": ["ops"]}])

    assert [r.channel for r in parse_settings(raw, {}).models[0].channels] == ["ops"]
    assert problems({**raw, "timezone": "Mars/Base"}) == [
        ("timezone", "unknown timezone: use an IANA name like UTC or Europe/Berlin")
    ]


def test_cross_section_problems_come_with_validation_problems() -> None:
    raw = config(
        defaults={"chanels": ["stdout"]},
        models=[{"name": "a", "source": "lba", "min_samples": -1}, {"name": "a", "source": "lab"}],
    )

    assert problems(raw) == [
        ("models[a].min_samples", "must be ≥ 0"),
        ("models[a].source", "unknown source: the sources are lab"),
        ("models[a].name", "duplicate model name: models[a] has it too"),
        ("defaults.chanels", "unknown key; did you mean `channels`?"),
    ]


def test_relative_paths_in_the_file_are_read_from_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "c.yaml").write_text(
        "database: sqlite:///history.db?timeout=5\n"
        "sources:\n"
        "  lab: {kind: sql, layout: experiment_db, experiments_url: 'sqlite:///e.db', registry_url: 'sqlite:////abs/r.db'}\n"
        "  data: {kind: files, reference: ref.csv, current: 'cur/*.csv'}\n"
        "  mem: {kind: sql, url: 'sqlite://', queries: {current_metrics: 'SELECT 1'}}\n"
        "channels:\n"
        "  hook: {kind: webhook, url_file: secrets/url, secret_file: /run/secret}\n"
    )
    monkeypatch.chdir(tmp_path)

    settings = load_settings("conf/c.yaml", {})

    assert settings.database == f"sqlite:///{folder}/history.db?timeout=5"
    lab, data, mem = (settings.sources[name].model_dump() for name in ("lab", "data", "mem"))
    assert lab["experiments_url"] == f"sqlite:///{folder}/e.db" and lab["registry_url"] == "sqlite:////abs/r.db"
    assert data["base_dir"] == str(folder) and mem["url"] == "sqlite://"
    hook = settings.channels["hook"].model_dump()
    assert (hook["url_file"], hook["secret_file"]) == (folder / "secrets/url", Path("/run/secret"))


def test_an_override_stays_relative_to_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "c.yaml").write_text("database: sqlite:///file.db\n")
    monkeypatch.setenv("RETRAIN_SENTINEL_DATABASE", "sqlite:///env.db")

    assert load_settings(tmp_path / "c.yaml", {}).database == "sqlite:///env.db"
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "file.db").write_bytes(b"")  # the old place of the file's database:
    monkeypatch.chdir(tmp_path / "elsewhere")  # not refused, the override decides

    assert load_settings(tmp_path / "c.yaml", {}).database == "sqlite:///env.db"
