#!/usr/bin/env bash
# Build (or reuse) a virtualenv holding a recent `mlflow` for the MLflow source's tests, and print
# the path of its python. The tests start `mlflow server` (SQLite backend) and log runs with the
# official client from this venv, so the daemon itself never imports mlflow.
#
#   export RS_TEST_MLFLOW_PYTHON="$(.ci/mlflow-venv.sh)"        # default ~/.cache/retrain-sentinel/mlflow-venv
#   .ci/mlflow-venv.sh /tmp/mlflow-venv                          # or a venv directory of your choice
set -euo pipefail
venv="${1:-${HOME}/.cache/retrain-sentinel/mlflow-venv}"
python="${PYTHON:-python3}"

# Registered-model aliases need MLflow ≥ 2.3; the check below keeps a stale venv from being reused.
if ! "$venv/bin/python" -c 'import mlflow, sys; v = tuple(int(p) for p in mlflow.__version__.split(".")[:2]); sys.exit(v < (2, 3))' 2>/dev/null; then
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv" >&2
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q 'mlflow>=2.9' >&2
fi
"$venv/bin/python" -c 'import mlflow' >&2
echo "$venv/bin/python"
