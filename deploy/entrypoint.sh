#!/bin/sh
# The image's roles (docs/deploy.md). Anything else runs as given: the Helm chart and the
# Kubernetes run launcher pass their own `dagster ...` commands.
set -eu
role=${1:-code-server}
[ $# -gt 0 ] && shift
case "$role" in
  code-server)
    exec dagster code-server start -h 0.0.0.0 -p "$DAGSTER_CODE_SERVER_PORT" \
      -m backroom_reporting.definitions --location-name backroom_reporting "$@" ;;
  webserver)
    exec dagster-webserver -h 0.0.0.0 -p 3000 -w /opt/backroom/deploy/workspace.yaml "$@" ;;
  daemon)
    exec dagster-daemon run -w /opt/backroom/deploy/workspace.yaml "$@" ;;
  portal)
    exec backroom portal --host 0.0.0.0 --port 8000 "$@" ;;
  migrate)
    exec backroom db upgrade "$@" ;;
  *)
    exec "$role" "$@" ;;
esac
