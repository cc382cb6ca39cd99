#!/usr/bin/env bash
# The README's main command: installs what is missing on Debian 12, builds, and runs the bundled
# demo (BIND 9 with zones-example/ and the XDP answer cache in network namespaces, a short load,
# then what happened). Run as root. Everything it starts is removed when it ends.
#
#   deploy/demo.sh [--seconds N] [--rate QPS] [--entries N] [--mode native|generic]
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (XDP and network namespaces need it)" >&2; exit 1; }
bash deploy/install-deps.sh --check-or-install
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
make -s -C xdp
exec npx tsx deploy/demo.ts "$@"
