"""The trigger tests' fixed moment and their fake of a user's trigger, shared with the tests of the
original API rather than written again."""

from __future__ import annotations

from triggers.conftest import KeywordTrigger, now

__all__ = ["KeywordTrigger", "now"]
