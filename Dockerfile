# syntax=docker/dockerfile:1
# The production image (docs/deploy.md): the code location with the Dagster webserver and
# daemon, the Kubernetes run launcher, and the web app. What a container does is its
# command: code-server, webserver, daemon, portal or migrate (deploy/entrypoint.sh); any
# other command runs as given, as the Helm chart and the Kubernetes run launcher pass theirs.

# --- build: the project and its Python dependencies in a virtual environment --------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY backroom_reporting ./backroom_reporting
RUN pip install ".[k8s]"

# --- runtime: the environment, the system packages reports need, no build tools ----------
FROM python:3.11-slim-bookworm AS runtime
# WeasyPrint needs Pango (with HarfBuzz) and fonts; kaleido draws charts in a headless Chromium.
COPY scripts/system-deps.sh /tmp/system-deps.sh
RUN bash /tmp/system-deps.sh runtime \
    && rm -rf /var/lib/apt/lists/* /tmp/system-deps.sh \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin backroom
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    BROWSER_PATH=/usr/bin/chromium \
    DAGSTER_HOME=/opt/dagster/home \
    DAGSTER_EVENT_BATCH_SIZE=500 \
    DAGSTER_CODE_SERVER_PORT=4000
WORKDIR /opt/backroom
# The layouts, alert rules and retention are read from the working directory (settings.py).
COPY report_layouts ./report_layouts
COPY deploy/workspace.yaml deploy/entrypoint.sh ./deploy/
COPY deploy/dagster.yaml /opt/dagster/home/dagster.yaml
# Reports and the outbox (var/), and Dagster's compute logs: mount volumes here.
RUN mkdir -p var /opt/dagster/home/storage \
    && chown -R backroom:backroom var /opt/dagster/home
USER backroom
EXPOSE 3000 4000 8000
ENTRYPOINT ["/opt/backroom/deploy/entrypoint.sh"]
CMD ["code-server"]
