"""The README's first command, run as a newcomer would: in a fresh copy of the repository, with a
fresh virtualenv (pip may use its cache and the package index, nothing else).

It must install the project and run the demo, which prints at least one report that recommends
retraining and one that does not.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def first_command(markdown: str) -> str:
    """The first command of the first ```sh block (backslash continuations joined)."""
    block = re.search(r"^```(?:sh|bash|shell)\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL)
    assert block is not None, "README.md has no ```sh block"
    lines = [
        line for line in block.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    command = ""
    for line in lines:
        command += line.rstrip()
        if not command.endswith("\\"):
            return command
        command = command[:-1] + " "
    return command


def fresh_copy(destination: Path) -> Path:
    """The repository as a clone would have it: the committed tree, else the files git tracks."""
    destination.mkdir()
    if shutil.which("git") and (ROOT / ".git").exists():
        archive = destination.parent / "head.tar"
        subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), "HEAD"], check=True
        )
        with tarfile.open(archive) as tar:
            tar.extractall(destination, filter="data")
        return destination
    ignored = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info", "*.db", "sentinel-demo")
    shutil.copytree(ROOT, destination, ignore=ignored, dirs_exist_ok=True)
    return destination


def test_first_command_is_the_demo() -> None:
    command = first_command(README.read_text(encoding="utf-8"))

    assert "retrain-sentinel demo" in command


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_readme_first_command_runs_the_demo_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    command = first_command(README.read_text(encoding="utf-8"))
    repository = fresh_copy(tmp_path / "retrain-sentinel")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETRAIN_SENTINEL_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT / ".venv"))
    )

    result = subprocess.run(  # the README's line is shell, run as a user would paste it
        ["/bin/sh", "-c", command],
        cwd=repository,
        env=env,
        capture_output=True,
        text=True,
        timeout=1100,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-4000:]
    assert "**Status:** 🔴 TRIGGERED" in result.stdout
    assert "**Status:** 🟢 OK" in result.stdout
    assert (repository / "sentinel-demo" / "sentinel.yaml").exists()
