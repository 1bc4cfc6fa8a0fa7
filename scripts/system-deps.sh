#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages a profile needs, with apt-get when root;
# otherwise prints the exact command to run and stops.
#   scripts/system-deps.sh runtime   what `make demo` needs
#   scripts/system-deps.sh test      runtime + the PostgreSQL server the tests use
set -euo pipefail

profile=${1:-runtime}
packages=()

# A Python 3.11+ that can make virtual environments (Debian splits venv out).
if ! python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  packages+=(python3 python3-venv python3-pip)
fi
# Reports: WeasyPrint needs Pango and fonts (DejaVu for most scripts, Noto for emoji);
# kaleido draws charts in a headless Chromium.
packages+=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-noto-color-emoji chromium)
if [ "$profile" = test ] && ! command -v pg_ctlcluster >/dev/null 2>&1; then
  packages+=(postgresql)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "These system packages are needed: ${missing[*]}"
  echo "Run:  sudo apt-get install -y ${missing[*]}"
  echo "then run make again."
  exit 1
fi
