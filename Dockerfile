# syntax=docker/dockerfile:1
# Retrain Sentinel: the daemon (`retrain-sentinel run`) and its CLI in one small image.
#
#   docker build -t retrain-sentinel:0.1.0 .
#   docker run -v ./sentinel.yaml:/etc/retrain-sentinel/sentinel.yaml:ro \
#              -v sentinel-state:/var/lib/retrain-sentinel -p 9733:9733 retrain-sentinel:0.1.0
#
# Two stages: the builder turns the project and every dependency into wheels (it is the only stage
# that may need a compiler); the final stage installs those wheels offline, so it carries no build
# tools, no wheel cache and no source tree.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- builder: wheels for the project and its dependencies (with the postgres and files extras) ----
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY daemon ./daemon
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres,files]"

# ---- final: the runtime, non-root, no compilers ----
FROM ${PYTHON_IMAGE}
ARG SENTINEL_UID=10001
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RETRAIN_SENTINEL_CONFIG=/etc/retrain-sentinel/sentinel.yaml \
    RETRAIN_SENTINEL_DATABASE=sqlite:////var/lib/retrain-sentinel/sentinel.db \
    RETRAIN_SENTINEL_HTTP='{"host": "0.0.0.0", "port": 9733}'

# A fixed numeric UID/GID, so Kubernetes' runAsNonRoot can check it and volumes can be chowned ahead.
RUN groupadd --system --gid "${SENTINEL_UID}" sentinel \
 && useradd --system --uid "${SENTINEL_UID}" --gid sentinel --no-create-home \
            --home-dir /var/lib/retrain-sentinel --shell /usr/sbin/nologin sentinel \
 && install -d -o sentinel -g sentinel -m 0750 /var/lib/retrain-sentinel \
 && install -d -m 0755 /etc/retrain-sentinel

# The wheels are bind-mounted from the builder, never copied into a layer. The project's wheel is
# the one built from this very tree, so its version is pinned by construction.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels "retrain-sentinel[postgres,files]" \
 && retrain-sentinel --version

USER ${SENTINEL_UID}:${SENTINEL_UID}
WORKDIR /var/lib/retrain-sentinel
EXPOSE 9733
STOPSIGNAL SIGTERM
# No curl in the slim image: the interpreter that runs the daemon checks its /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9733/healthz', timeout=3)"]
ENTRYPOINT ["retrain-sentinel"]
CMD ["run"]
