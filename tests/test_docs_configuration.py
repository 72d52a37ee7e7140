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
import yaml
from pydantic import BaseModel

from retrain_sentinel.durations import parse_duration
from retrain_sentinel.settings import ScheduleSettings
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


def _shown(cell: str) -> str | None:
    """The default as the docs write it: the first code span of the cell, if any."""
    spans = re.findall(r"`([^`]*)`", cell)
    return spans[0] if spans else None


def _scalar_matches(shown: str, default: bool | float | str) -> bool:
    """Booleans in YAML's words, floats as written or in ``%g`` form, the empty string as ``""``."""
    if isinstance(default, bool):
        return shown == ("true" if default else "false")
    if isinstance(default, float):
        return shown in (str(default), f"{default:g}")
    return shown == (str(default) or '""')


def assert_documented_default(key: Key, cell: str, default: object) -> None:
    """The docs' default cell says the model's default, whatever its type.

    ``—`` is "unset unless given" (a default of ``None``); a section (a nested model) is either
    documented key by key (an empty cell) or written as YAML that builds the same section.
    """
    shown = _shown(cell)
    message = f"{key}: the model's default is {default!r}, the docs say {cell!r}"
    if default is None:
        assert cell == "—", message
    elif isinstance(default, timedelta):
        assert shown is not None and parse_duration(shown) == default, message
    elif isinstance(default, bool | int | float | str):
        assert shown is not None and _scalar_matches(shown, default), message
    elif isinstance(default, list | tuple | dict | set | frozenset):
        written = yaml.safe_load(shown) if shown is not None else None
        assert written is not None and type(default)(written) == default, message
    elif isinstance(default, BaseModel):
        if cell:
            assert shown is not None and type(default).model_validate(yaml.safe_load(shown)) == default, (
                message
            )
    else:
        pytest.fail(f"{key}: no rule to compare a {type(default).__name__} default with the docs")


@pytest.mark.parametrize("key", sorted(config_keys()), ids=lambda k: f"{k.variant}:{k.path}")
def test_documented_default_matches_the_model(key: Key) -> None:
    cells = documented_rows().get(key)
    if cells is None:
        pytest.skip("not documented (reported by test_every_config_key_is_documented)")
    field = field_at(key)
    if field.is_required():
        assert cells[2] == "required", key
        return
    assert_documented_default(key, cells[2], field.get_default(call_default_factory=True))


@pytest.mark.parametrize(
    ("cell", "default"),
    [
        ("`ops`", None),
        ("—", "ops"),
        ("`[]`", ["ops"]),
        ("`{}`", {"ops": 1}),
        ("`{every: 2h}`", ScheduleSettings(every=timedelta(hours=1))),
        ("`30s`", timedelta(seconds=20)),
        ("`0.1`", 0.15),
        ("`false`", True),
        ("`x`", ""),
        ("`1e+06`", 1_000_000),
    ],
)
def test_a_documented_default_that_differs_is_caught(cell: str, default: object) -> None:
    with pytest.raises(AssertionError):
        assert_documented_default(Key("", "example"), cell, default)
