"""Make a shipped config runnable on this machine: secret files written, variables set.

The shipped configs point at secrets the deployment provides (``${VAR}`` from an env file,
``*_file`` keys at mounted files). To validate one here, each ``*_file`` path is replaced by a
local file holding the value the deployment would mount, and each ``${VAR}`` gets a value of the
right shape. Nothing else in the config is changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholder_secret(name: str) -> str:
    """A value of the right shape for a secret named ``name`` (URLs must parse as URLs)."""
    if "url" in name.lower():
        return "https://hooks.example.com/services/T000/B000/placeholder"
    return "placeholder-secret-0123456789abcdef"


def variables(text: str) -> dict[str, str]:
    """Every ``${VAR}`` the config uses (``$${`` escapes excluded), each with a placeholder value."""
    return {name: placeholder_secret(name) for name in _VARIABLE.findall(text)}


def secret_files(data: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """``(key path, file path)`` for every ``*_file`` key holding a path (a CA bundle is no secret)."""
    found: list[tuple[tuple[str, ...], str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = (*path, str(key))
            if str(key).endswith("_file") and key != "ca_file" and isinstance(value, str):
                found.append((here, value))
            else:
                found.extend(secret_files(value, here))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found.extend(secret_files(item, (*path, str(index))))
    return found


def _set(data: Any, path: tuple[str, ...], value: str) -> None:
    for key in path[:-1]:
        data = data[int(key)] if isinstance(data, list) else data[key]
    data[path[-1]] = value


def localise(
    text: str,
    directory: Path,
    content_for: Callable[[str, str], str] = lambda key, _path: placeholder_secret(key),
) -> tuple[Path, dict[str, str]]:
    """Write ``text`` to ``directory`` with every secret file made local; return it and its variables.

    ``content_for(key, original_path)`` gives what the file at ``original_path`` would contain.
    """
    data = yaml.safe_load(text)
    secrets = directory / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    for index, (key_path, original) in enumerate(secret_files(data)):
        local = secrets / f"{index}-{Path(original).name}"
        local.write_text(content_for(key_path[-1], original) + "\n")
        local.chmod(0o600)
        _set(data, key_path, str(local))
    config = directory / "sentinel.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return config, variables(text)


def environment(base: Mapping[str, str], **extra: str) -> dict[str, str]:
    """``base`` without any ``RETRAIN_SENTINEL_*`` of the caller's shell, plus ``extra``."""
    env = {k: v for k, v in base.items() if not k.startswith("RETRAIN_SENTINEL_")}
    env.update(extra)
    return env
