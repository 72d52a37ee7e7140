"""The drift engine's exceptions, one tree so callers can catch as broadly as they need.

    DriftError
    ├── DriftInputError          the inputs cannot be compared as asked (unknown column or method,
    │                            a column's values of the wrong type for the method chosen)
    └── ProfileError
        ├── ProfileFormatError   a stored profile is malformed or written by a newer version
        └── ProfileMismatchError two profiles cannot be merged (different edges or column kinds)

Every one is also a ``ValueError``: each is a bad value handed to a pure function.
"""

from __future__ import annotations


class DriftError(ValueError):
    """Base of every error the drift engine raises on purpose."""


class DriftInputError(DriftError):
    """The reference, the current data or the options cannot be compared as asked."""


class ProfileError(DriftError):
    """A profile cannot be used as asked."""


class ProfileFormatError(ProfileError):
    """A stored profile is malformed, or was written by a newer version of this library."""


class ProfileMismatchError(ProfileError):
    """Two profiles describe their columns differently, so their counts cannot be added."""
