#!/usr/bin/env bash
# Peak memory and time of deep runs on every path users take (issue 21), side by side in one
# run: the embedded server, and a separate `serve` on loopback as the --target, read-only and
# with writes, and README's nightly command with --max-time. Opt-in (minutes of CPU); prints a
# Markdown table for BENCHMARKS.md.
#
#   bash amp-conformance/benches/deep_runs.sh            # 100,000 and 1,000,000 cases
#   SIZES="10000 100000" bash amp-conformance/benches/deep_runs.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=${SIZES:-"100000 1000000"}
bin=${CARGO_TARGET_DIR:-target}/release/amp-conformance
cargo build --release -q -p amp-conformance
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time)"; exit 2; }

key=deep-runs-key-0123456789
port=$((20000 + RANDOM % 20000))
AMP_API_ID=$key "$bin" serve --listen "127.0.0.1:$port" --services fixtures/services.toml \
  >/dev/null 2>&1 &
serve=$!
trap 'kill $serve 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
target="http://127.0.0.1:$port/modules/addons/abusemanagerpro/includes/api.php"
observe="http://127.0.0.1:$port/_amp/reports/{report_id}"

# Each row's exit code is printed: a row is the figure of a passing run (0) unless it says why
# not (the nightly row ends by --max-time; its checks still pass).
measure() { # label, then the arguments of `run`
  local label=$1
  shift
  local stats
  stats=$(mktemp)
  local code=0
  AMP_API_ID=$key /usr/bin/time -o "$stats" -f '%M %e %U %S' "$bin" run --quiet --no-snapshots \
    --seed 5 "$@" >/dev/null 2>&1 || code=$?
  local out
  out=$(tail -1 "$stats")
  rm -f "$stats"
  read -r kb secs user sys <<<"$out"
  printf '| %s | %s MB | %s s | %s s | %s |\n' "$label" "$((kb / 1024))" "$secs" \
    "$(python3 -c "print(round($user + $sys, 1))")" "$code"
}

echo "| run | peak RSS | wall | CPU (user + sys) | exit |"
echo "|---|---|---|---|---|"
for n in $sizes; do
  measure "embedded, $n cases" --cases "$n"
  measure "--target, read-only, $n cases" --cases "$n" --target "$target" --missing-service-id 999
  measure "--target --allow-writes --max-writes $n, $n cases" --cases "$n" --target "$target" \
    --missing-service-id 999 --allow-writes --service 1=203.0.113.10 --max-writes "$n" --observe-url "$observe"
done
measure "--target --allow-writes --cases 1000000 --max-time 60 (README's nightly)" \
  --cases 1000000 --max-time 60 --target "$target" --missing-service-id 999 --allow-writes \
  --service 1=203.0.113.10 --max-writes 1000000 --observe-url "$observe"
