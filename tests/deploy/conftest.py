"""Shared fixtures for the deployment tests: where the project is, and the external tools they need.

A missing tool (kubectl, systemd-analyze) skips a test on a developer's machine but fails it in CI
(``CI`` set), where ``.ci/deploy-checks`` installs them before the tests run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def require_tool(name: str) -> str:
    """The path of ``name`` on PATH; skip (locally) or fail (in CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not on PATH (.ci/deploy-checks installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def kubectl() -> str:
    return require_tool("kubectl")
