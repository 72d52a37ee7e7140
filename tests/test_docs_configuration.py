"""docs/configuration.md documents exactly the keys the settings models accept, with their defaults.

The reference is a set of Markdown tables whose first cell is a key's dotted path in backticks and
whose third cell is its default. A ``<!-- variant: X -->`` line before a table says which kind of
source or channel it documents (kinds share keys such as ``timeout``); a heading ends it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic_core import PydanticUndefined

from retrain_sentinel.durations import parse_duration
from settings_keys import Key, config_keys, field_at

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|")
_VARIANT = re.compile(r"^<!--\s*variant:\s*(\S+)\s*-->$")


def documented_rows() -> dict[Key, list[str]]:
    """Each documented key with its table cells (key, type, default, meaning)."""
    rows: dict[Key, list[str]] = {}
    variant = ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            variant = ""
        elif match := _VARIANT.match(line.strip()):
            variant = match.group(1)
        elif match := _ROW.match(line):
            key = Key(variant, match.group(1))
            assert key not in rows, f"{key} is documented twice"
            rows[key] = [cell.strip() for cell in line.strip().strip("|").split("|")]
    return rows


def test_every_config_key_is_documented() -> None:
    missing = sorted(config_keys() - set(documented_rows()))

    assert missing == [], "add these keys to docs/configuration.md"


def test_every_documented_key_exists_in_the_settings_models() -> None:
    unknown = sorted(set(documented_rows()) - config_keys())

    assert unknown == [], "docs/configuration.md documents keys the config does not accept"


def test_every_documented_row_has_a_type_and_a_meaning() -> None:
    for key, cells in documented_rows().items():
        assert len(cells) == 4, key
        assert cells[1] and cells[3], key


def _default_text(value: object) -> str | None:
    """How the docs spell a default worth checking; ``None`` for defaults they describe in words."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str) and value != "":
        return str(value)
    return None


@pytest.mark.parametrize("key", sorted(config_keys()), ids=lambda k: f"{k.variant}:{k.path}")
def test_documented_default_matches_the_model(key: Key) -> None:
    cells = documented_rows().get(key)
    if cells is None:
        pytest.skip("not documented (reported by test_every_config_key_is_documented)")
    field = field_at(key)
    default_cell = cells[2]
    if field.is_required():
        assert default_cell == "required", key
        return
    default = field.default
    if default is PydanticUndefined or default is None:
        return
    shown = re.findall(r"`([^`]*)`", default_cell)
    if isinstance(default, timedelta):
        assert shown and parse_duration(shown[0]) == default, f"{key}: the model's default is {default}"
        return
    expected = _default_text(default)
    if expected is not None:
        assert shown and shown[0] in (expected, f"{default:g}" if isinstance(default, float) else expected), (
            f"{key}: the model's default is {default!r}"
        )
