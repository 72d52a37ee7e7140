"""The drift package's public surface is deliberate: a name added or lost shows up here."""

from retrain_sentinel import drift


def test_public_names_are_exactly_the_documented_ones() -> None:
    assert sorted(drift.__all__) == sorted(
        [
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
    )
    assert all(hasattr(drift, name) for name in drift.__all__)


def test_every_drift_error_is_a_value_error() -> None:
    for error in (drift.DriftInputError, drift.ProfileFormatError, drift.ProfileMismatchError):
        assert issubclass(error, drift.DriftError) and issubclass(error, ValueError)
