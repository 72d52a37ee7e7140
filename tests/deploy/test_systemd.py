"""The systemd unit agrees with the daemon's own timings and keeps its state where systemd gives it.

``.ci/deploy-checks`` runs ``systemd-analyze verify`` on the unit; these tests tie its numbers to the
daemon's defaults, so changing one without the other fails here.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from retrain_sentinel.durations import parse_duration
from retrain_sentinel.settings import ServiceSettings

from .conftest import ROOT

UNIT = ROOT / "deploy" / "systemd" / "retrain-sentinel.service"


def directives(path: Path) -> dict[str, list[str]]:
    """``Key=value`` lines of the ``[Service]`` section; repeated keys keep every value in order."""
    found: dict[str, list[str]] = defaultdict(list)
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found[key].append(value)
    return found


def seconds(value: str) -> float:
    duration = parse_duration(value)
    assert duration is not None
    return duration.total_seconds()


def environment(service: dict[str, list[str]]) -> dict[str, str]:
    return dict(item.partition("=")[::2] for item in service["Environment"])


def test_stop_timeout_exceeds_the_daemons_shutdown_grace() -> None:
    (timeout,) = directives(UNIT)["TimeoutStopSec"]
    assert seconds(timeout) > ServiceSettings().shutdown_grace.total_seconds()


def test_watchdog_outlasts_the_three_lease_periods_healthz_allows() -> None:
    service = directives(UNIT)
    (watchdog,) = service["WatchdogSec"]
    assert service["Type"] == ["notify"] and service["NotifyAccess"] == ["main"]
    assert seconds(watchdog) > ServiceSettings().lease_ttl.total_seconds()


def test_history_database_lives_in_the_state_directory() -> None:
    service = directives(UNIT)
    (state,) = service["StateDirectory"]
    database = environment(service)["RETRAIN_SENTINEL_DATABASE"]
    assert database == f"sqlite:////var/lib/{state}/sentinel.db"


def test_daemon_reads_its_config_from_the_configuration_directory_and_secrets_from_the_env_file() -> None:
    service = directives(UNIT)
    (config_dir,) = service["ConfigurationDirectory"]
    assert environment(service)["RETRAIN_SENTINEL_CONFIG"] == f"/etc/{config_dir}/sentinel.yaml"
    assert service["EnvironmentFile"] == [f"-/etc/{config_dir}/env"]
    assert service["ExecStart"][0].endswith("/retrain-sentinel run")
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]


def test_runs_as_a_dynamic_unprivileged_user() -> None:
    service = directives(UNIT)
    assert service["DynamicUser"] == ["yes"]
    assert service["CapabilityBoundingSet"] == [""]
    assert service["NoNewPrivileges"] == ["yes"]
    assert service["ProtectSystem"] == ["strict"]
