#!/usr/bin/env bash
# Installs bpfman-rpc 0.6.0 (the crate bpfman-api) when it is missing. The first build takes about
# 10 minutes on 2 cores; cargo keeps the result in ~/.cargo/bin, so later runs return at once.
set -euo pipefail
want=0.6.0
bin="${CARGO_HOME:-$HOME/.cargo}/bin/bpfman-rpc"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$want"; then
  echo "bpfman-rpc $want present: $bin"
  exit 0
fi
command -v cargo >/dev/null || { echo "cargo is required to build bpfman-rpc (install rustup/cargo)" >&2; exit 1; }
# Native build dependencies named in bpfman's build docs.
need=()
for p in clang make pkg-config libbpf-dev libssl-dev zlib1g-dev cmake protobuf-compiler gcc-multilib; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
echo "building bpfman-rpc $want (first time only, ~10 minutes)"
cargo install bpfman-api --version "$want" --locked
"$bin" --version
