# Ops-Core's production image: gunicorn serving the REST API as a non-root user, state
# under the volume /data, configuration by OPSCORE_* variables only (docs/deployment.md).
# `make docker` builds it.

# Build stage: a wheel of the project, installed with its runtime dependencies and the
# PostgreSQL driver and OpenTelemetry (the `otel` extra) into a virtual environment of its
# own (no pip in it).
FROM python:3.11.14-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY . .
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv --without-pip /opt/venv \
    && for wheel in /wheels/opscore-*.whl; do \
         python -m pip --python /opt/venv/bin/python install "${wheel}[postgres,otel]"; \
       done

# Runtime stage: only the virtual environment and the shipped machine definitions.
FROM python:3.11.14-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="Ops-Core" \
      org.opencontainers.image.description="Run fleets of AI agents as explicit state machines." \
      org.opencontainers.image.licenses="MIT"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OPSCORE_HOST=0.0.0.0 \
    OPSCORE_PORT=8000 \
    OPSCORE_DATABASE_URL=sqlite:////data/opscore.db \
    OPSCORE_MACHINES_DIR=/app/machines \
    OPSCORE_MIGRATE_ON_START=true \
    OPSCORE_LOG_FORMAT=json
RUN groupadd --system --gid 10001 opscore \
    && useradd --system --uid 10001 --gid opscore --no-create-home \
         --home-dir /nonexistent --shell /usr/sbin/nologin opscore \
    && mkdir /data \
    && chown opscore:opscore /data
COPY --from=build /opt/venv /opt/venv
COPY machines/ /app/machines/
WORKDIR /app
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "opscore.healthcheck"]
ENTRYPOINT ["gunicorn", "--config", "python:opscore.gunicorn_conf", "opscore.wsgi:app"]
