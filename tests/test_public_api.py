"""The public surface: exactly these names, and the one-liner the issue promises."""

from __future__ import annotations

import subprocess
import sys

import retrain_sentinel

DESIGN_SECTION_5 = {
    "RetrainingTriggerManager",
    "RetrainingReport",
    "TriggerDetail",
    "RetrainingTrigger",
    "DriftTrigger",
    "PerformanceTrigger",
    "TimeTrigger",
    "DataVolumeTrigger",
    "CompositeTrigger",
    "TriggerConfig",
    "DriftTriggerConfig",
    "PerformanceTriggerConfig",
    "TimeTriggerConfig",
    "DataVolumeTriggerConfig",
    "get_conservative_config",
    "get_balanced_config",
    "get_aggressive_config",
    "Snapshot",
}
ALSO_EXPORTED = {"Provenance", "Policy", "build_policy", "__version__"}


def test_all_is_exactly_the_public_surface() -> None:
    assert set(retrain_sentinel.__all__) == DESIGN_SECTION_5 | ALSO_EXPORTED
    assert len(retrain_sentinel.__all__) == len(set(retrain_sentinel.__all__))


def test_every_exported_name_exists() -> None:
    for name in retrain_sentinel.__all__:
        assert getattr(retrain_sentinel, name) is not None


def test_version_is_a_string() -> None:
    assert isinstance(retrain_sentinel.__version__, str) and retrain_sentinel.__version__


def test_balanced_drift_threshold_from_a_fresh_interpreter() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import retrain_sentinel as r; print(r.get_balanced_config()['drift'].threshold)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == "0.15\n"
