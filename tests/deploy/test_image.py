"""The package as the image ships it: a wheel built from the Docker build context alone, installed
with the ``postgres`` and ``files`` extras into a fresh virtualenv, run with the image's environment.

No Docker engine runs here, so the image itself is never built; these tests run the same steps
(wheel from the context the ``.dockerignore`` lets through, install with the extras, the ``ENV``
and ``HEALTHCHECK`` of the Dockerfile) on this machine's Python.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from . import dockerfile
from .configs import environment, localise
from .conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
EXAMPLE_CONFIG = ROOT / "config" / "sentinel.example.yaml"
KUBERNETES_CONFIG = ROOT / "deploy" / "kubernetes" / "base" / "sentinel.yaml"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def run(
    argv: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, check=False
    )


def ignored_by_dockerignore(name: str) -> bool:
    """The patterns `.dockerignore` drops inside the copied folders (it re-includes only the sources)."""
    return name == "__pycache__" or name.endswith((".egg-info", ".pyc", ".pyo", ".db"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding the wheel built from the build context, with the image's extras."""
    base = tmp_path_factory.mktemp("image")
    context = base / "context"
    context.mkdir()
    for source in dockerfile.context_sources(DOCKERFILE):
        origin = ROOT / source
        if origin.is_dir():
            shutil.copytree(
                origin,
                context / source,
                ignore=lambda _d, names: [n for n in names if ignored_by_dockerignore(n)],
            )
        else:
            shutil.copy2(origin, context / source)
    wheels = base / "wheels"
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", wheels, context])
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("retrain_sentinel-*.whl")

    venv = base / "venv"
    created = run([sys.executable, "-m", "venv", venv])
    assert created.returncode == 0, created.stderr
    pip = run(
        [
            venv / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            f"{wheel}[postgres,files]",
        ]
    )
    assert pip.returncode == 0, pip.stderr
    return venv / "bin"


def image_environment(**overrides: str) -> dict[str, str]:
    """This machine's environment with the Dockerfile's ``ENV`` on top, then ``overrides``."""
    return environment(os.environ, **{**dockerfile.environment(DOCKERFILE), **overrides})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_build_context_keeps_every_file_the_dockerfile_copies() -> None:
    rules = [r.strip() for r in (ROOT / ".dockerignore").read_text().splitlines()]
    for source in dockerfile.context_sources(DOCKERFILE):
        assert (ROOT / source).exists(), source
        assert f"!{source}" in rules or f"!{source}/" in rules, f".dockerignore drops {source}"


def test_image_runs_the_daemon_as_a_fixed_non_root_user() -> None:
    assert dockerfile.single(DOCKERFILE, "ENTRYPOINT") == '["retrain-sentinel"]'
    assert dockerfile.single(DOCKERFILE, "CMD") == '["run"]'
    assert dockerfile.single(DOCKERFILE, "STOPSIGNAL") == "SIGTERM"
    assert dockerfile.single(DOCKERFILE, "EXPOSE") == "9733"
    user = dockerfile.single(DOCKERFILE, "USER")
    uid = [i.arguments for i in dockerfile.final_stage(DOCKERFILE) if i.keyword == "ARG"]
    assert uid == ["SENTINEL_UID=10001"] and user == "${SENTINEL_UID}:${SENTINEL_UID}"
    env = dockerfile.environment(DOCKERFILE)
    assert env["RETRAIN_SENTINEL_CONFIG"] == "/etc/retrain-sentinel/sentinel.yaml"
    assert env["RETRAIN_SENTINEL_DATABASE"] == "sqlite:////var/lib/retrain-sentinel/sentinel.db"


@pytest.mark.slow
def test_installed_wheel_reports_the_project_version(installed: Path) -> None:
    result = run([installed / "retrain-sentinel", "--version"], env=image_environment())

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"retrain-sentinel {VERSION}"


@pytest.mark.slow
def test_installed_wheel_carries_the_optional_drivers(installed: Path) -> None:
    result = run([installed / "python", "-c", "import psycopg, pyarrow"])

    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_example_config_validates_in_the_image_environment(installed: Path, tmp_path: Path) -> None:
    config, variables = localise(EXAMPLE_CONFIG.read_text(), tmp_path)
    env = image_environment(RETRAIN_SENTINEL_CONFIG=str(config), **variables)

    result = run([installed / "retrain-sentinel", "validate"], env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_db_upgrade_creates_the_history_schema_from_the_installed_wheel(
    installed: Path, tmp_path: Path
) -> None:
    config, variables = localise(KUBERNETES_CONFIG.read_text(), tmp_path)
    database = tmp_path / "state" / "sentinel.db"
    database.parent.mkdir()
    env = image_environment(
        RETRAIN_SENTINEL_CONFIG=str(config), RETRAIN_SENTINEL_DATABASE=f"sqlite:///{database}", **variables
    )

    result = run([installed / "retrain-sentinel", "db", "upgrade"], env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"evaluations", "alert_states", "notifications", "silences", "leases"} <= tables


@pytest.mark.slow
def test_healthcheck_passes_against_the_running_daemon_which_stops_cleanly(
    installed: Path, tmp_path: Path
) -> None:
    config, variables = localise(KUBERNETES_CONFIG.read_text(), tmp_path)
    port = free_port()
    env = image_environment(
        RETRAIN_SENTINEL_CONFIG=str(config),
        RETRAIN_SENTINEL_DATABASE=f"sqlite:///{tmp_path / 'sentinel.db'}",
        RETRAIN_SENTINEL_HTTP=f'{{"host": "127.0.0.1", "port": {port}}}',
        **variables,
    )
    check = [
        str(installed / a) if a == "python" else a.replace(":9733/", f":{port}/")
        for a in dockerfile.healthcheck(DOCKERFILE)
    ]
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(installed / "retrain-sentinel"), "run"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, "not ready within 60 s"
            time.sleep(0.5)

        assert run(check, timeout=10).returncode == 0

        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=25) == 0
        assert run(check, timeout=10).returncode != 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        log.close()
