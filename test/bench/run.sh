#!/usr/bin/env bash
# `npm run bench`: the paper's figures (BIND alone vs BIND + Santa, one run) and the sidecar's
# own figures, into bench-results/<timestamp>/.
#
#   npm run bench                 full mode: 3 runs per figure, 10 s latency / 5 s throughput runs
#   npm run bench -- --quick      CI mode: 1 run, 1-2 s per figure; speed is printed, never asserted
#   npm run bench -- --publish    also copy the results to docs/bench/ (what README.md shows)
#   npm run bench -- --runs 5     more runs per figure (full mode)
#   npm run bench -- --quick-sidecar   full paper figures, quick sidecar benchmarks (their full
#                                 sizes, e.g. 10M distinct names, take many minutes)
#
# Needs root, 2 CPUs, named, dnsperf and kxdpgun. Every process and namespace it creates is
# removed on exit, also on failure and Ctrl-C (each TypeScript step cleans up after itself).
set -euo pipefail
cd "$(dirname "$0")/../.."

quick=0
sidecar_quick=0
publish=0
paper_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; paper_args+=(--quick) ;;
    --publish) publish=1 ;;
    --quick-sidecar) sidecar_quick=1 ;;
    --runs) paper_args+=(--runs "$2"); shift ;;
    *) echo "run.sh: unknown option $1 (known: --quick, --quick-sidecar, --publish, --runs N)" >&2; exit 2 ;;
  esac
  shift
done

stamp=$(date -u +%Y-%m-%dT%H-%M-%SZ)
out="bench-results/$stamp"
mkdir -p "$out"

# Objects and the native binding are built by make (incremental); a fresh clone needs them.
make -s -C xdp >/dev/null

child=0
on_signal() {
  echo "run.sh: interrupted, stopping the running step" >&2
  if [ "$child" -ne 0 ]; then kill -INT "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; fi
  exit 130
}
trap on_signal INT TERM

# Runs one step in the background (so the trap can forward Ctrl-C to it) with a time bound.
step() {
  local limit=$1 log=$2
  shift 2
  timeout --signal=INT --kill-after=30 "$limit" "$@" > >(tee "$log") 2> >(tee "$log.err" >&2) &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=0
  return "$rc"
}

echo "== paper figures (latency, throughput vs hit ratio, cost, ceiling) -> $out" >&2
step 1800 "$out/paper.txt" npx tsx test/bench/paper/main.ts "${paper_args[@]}" --out "$out"

# Sidecar figures: the other benchmarks, called as their owners wrote them.
if [ "$quick" -eq 1 ] || [ "$sidecar_quick" -eq 1 ]; then
  zone_args=(200000 50000)
  hotset_args=(--lines 200000 --frames 100000 --distinct 300000)
  xdp_args=(--runs 2000 --rounds 3 --seconds 1)
  stages_args=(--rounds 5)
else
  zone_args=()
  hotset_args=()
  xdp_args=()
  stages_args=()
fi
sidecar_md="$out/sidecar.md"
{
  echo "## Sidecar figures"
  echo
} > "$sidecar_md"
failed=()
run_sidecar() {
  local name=$1 limit=$2
  shift 2
  echo "== $name" >&2
  if step "$limit" "$out/$name.txt" "$@"; then
    { echo "### $name (\`${*}\`)"; echo; echo '```'; cat "$out/$name.txt"; echo '```'; echo; } >> "$sidecar_md"
  else
    failed+=("$name")
    { echo "### $name: FAILED (see $name.txt.err)"; echo; } >> "$sidecar_md"
  fi
}
run_sidecar zone-bench 900 npx tsx test/bench/zone-bench.ts "${zone_args[@]}"
run_sidecar hotset-bench 900 npx tsx --expose-gc test/bench/hotset-bench.ts "${hotset_args[@]}"
run_sidecar xdp-cost 900 npx tsx test/bench/xdp-cost.ts "${xdp_args[@]}"
run_sidecar xdp-stages 600 npx tsx test/bench/xdp-stages.ts "${stages_args[@]}"
# What those nanoseconds execute: instructions, map lookups and helper calls per case and stage.
run_sidecar xdp-path 300 npx tsx test/bench/xdp-path.ts
# Entries installed per second into the real program's maps (100k entries, batch syscalls).
run_sidecar install-bench 900 npx tsx test/bpf/bench-install.ts
# Zone file edit -> BIND serves the new serial -> XDP serves the new answer, through santa run.
run_sidecar zone-change 900 npx tsx test/bench/zone-change.ts

cat "$sidecar_md" >> "$out/results.md"
echo >&2
echo "results: $out/results.md, results.json, latency-cdf.svg, throughput.svg" >&2

if [ "$publish" -eq 1 ]; then
  mkdir -p docs/bench
  cp "$out/results.json" "$out/results.md" "$out/latency-cdf.svg" "$out/throughput.svg" docs/bench/
  echo "copied to docs/bench/" >&2
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "run.sh: failed steps: ${failed[*]}" >&2
  exit 1
fi
