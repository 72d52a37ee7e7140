"""Drift between a reference and current data: pure statistics, no I/O.

    result = compare(reference, current)            # tables: mapping, pandas or pyarrow
    profile = Profile.from_data(reference)           # or keep a small summary of the reference …
    result = compare(profile, current)               # … and compare later data with it
    snapshot_metrics = result.as_metrics()           # {"js_divergence": …, "share_drifted": …, …}

See ``docs/drift.md`` for the methods, their defaults and when to use which.
"""

from .columns import Kind
from .compare import compare
from .errors import DriftError, DriftInputError, ProfileError, ProfileFormatError, ProfileMismatchError
from .methods import METHODS
from .profile import FORMAT_VERSION, CategoricalProfile, NumericProfile, Profile
from .result import DriftResult, FeatureDrift

__all__ = [
    "FORMAT_VERSION",
    "METHODS",
    "CategoricalProfile",
    "DriftError",
    "DriftInputError",
    "DriftResult",
    "FeatureDrift",
    "Kind",
    "NumericProfile",
    "Profile",
    "ProfileError",
    "ProfileFormatError",
    "ProfileMismatchError",
    "compare",
]
