#!/usr/bin/env bash
# The application's write cost of a `sync_column` trigger: pgbench's TPC-B and a
# single-row UPDATE script on pgbench_accounts, in one database per variant, rounds interleaved
# so that every variant sees the same machine:
#
#   none     the column added, no sync
#   sync     add_column + sync_column applied by BELLOWS_BIN (default target/release/bellows)
#   before   the same applied by BELLOWS_BEFORE_BIN, when set (an earlier bellows, to compare)
#
# and, least disturbed by other load on the machine, a server-side loop of LOOP_UPDATES (50000)
# single-row updates in one DO block per variant and round: no network, no commit, so the
# trigger's CPU cost is as large a share as it can be.
#
# Environment: DATABASE_URL (a server where the user may create databases), SCALE (10),
# CLIENTS (4), RUN_SECONDS (10), ROUNDS (3), SYNCHRONOUS_COMMIT (off: pgbench's commits do not
# wait for the WAL flush, so that the trigger's own CPU cost is not hidden behind fsync; `on` to
# measure as the server is configured). Each variant's figure is its median over the rounds. Scratch databases bellows_sync_cost_* are dropped
# at the end, also on failure.
set -euo pipefail

run_seconds_default=10
source "$(dirname "$0")/pgbench_common.sh"
export PGOPTIONS="${PGOPTIONS:-} -c synchronous_commit=${SYNCHRONOUS_COMMIT:-off}"
variants=(none sync)
if [[ -n "${BELLOWS_BEFORE_BIN:-}" ]]; then variants+=(before); fi

db_url() { echo "${url%/*}/bellows_sync_cost_$1"; }
cleanup() {
  for v in "${variants[@]}"; do
    psql -X -q "$url" -c "DROP DATABASE IF EXISTS bellows_sync_cost_$v WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

write_plans
write_update_script

for v in "${variants[@]}"; do
  psql -X -q "$url" -c "DROP DATABASE IF EXISTS bellows_sync_cost_$v WITH (FORCE)" -c "CREATE DATABASE bellows_sync_cost_$v" >/dev/null
  pgbench -i -q -s "$scale" "$(db_url "$v")" >/dev/null 2>&1
  case $v in
    none) plan=none.toml; runner=$bin ;;
    sync) plan=sync.toml; runner=$bin ;;
    before) plan=sync.toml; runner=$BELLOWS_BEFORE_BIN ;;
  esac
  "$runner" apply "$work/$plan" --database "$(db_url "$v")" --yes --format json >"$work/$v.apply.log" 2>&1 \
    || { echo "bellows apply failed for $v:"; cat "$work/$v.apply.log"; exit 1; }
  psql -X -q "$(db_url "$v")" -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
done


tps() { # variant, extra pgbench arguments…
  local v=$1; shift
  pgbench -n -T "$run_seconds" -c "$clients" -j 2 "$@" "$(db_url "$v")" 2>/dev/null \
    | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'
}

declare -A seen
for ((r = 1; r <= rounds; r++)); do
  # Each round starts with another variant, so none always follows the same one.
  order=("${variants[@]:$(((r - 1) % ${#variants[@]}))}" "${variants[@]:0:$(((r - 1) % ${#variants[@]}))}")
  for v in "${order[@]}"; do
    t=$(tps "$v"); seen[tpcb_$v]+="$t "
    u=$(tps "$v" -f "$work/update.sql"); seen[update_$v]+="$u "
    l=$(loop_rate "$(db_url "$v")"); seen[loop_$v]+="$l "
    printf 'round %d  %-7s TPC-B %8.0f tps   single-row UPDATE %8.0f tps   server loop %8.0f updates/s\n' "$r" "$v" "$t" "$u" "$l"
  done
done

echo
printf '%-8s %10s %8s %18s %8s %18s %8s\n' variant "TPC-B tps" "vs none" "single UPDATE tps" "vs none" "server loop /s" "vs none"
tn=$(median "${seen[tpcb_none]}"); un=$(median "${seen[update_none]}"); ln=$(median "${seen[loop_none]}")
for v in "${variants[@]}"; do
  t=$(median "${seen[tpcb_$v]}"); u=$(median "${seen[update_$v]}"); l=$(median "${seen[loop_$v]}")
  printf '%-8s %10.0f %8.3f %18.0f %8.3f %18.0f %8.3f\n' "$v" "$t" "$(echo "$t / $tn" | bc -l)" \
    "$u" "$(echo "$u / $un" | bc -l)" "$l" "$(echo "$l / $ln" | bc -l)"
done

# The synced column is right on every row the benchmark touched.
for v in "${variants[@]}"; do
  [[ $v == none ]] && continue
  wrong=$(psql -X -At "$(db_url "$v")" -c "SELECT count(*) FROM pgbench_accounts WHERE abalance_cents IS NOT NULL AND abalance_cents <> abalance * 100")
  touched=$(psql -X -At "$(db_url "$v")" -c "SELECT count(*) FROM pgbench_accounts WHERE abalance_cents IS NOT NULL")
  echo "verified: $v: $touched rows synced, $wrong wrong"
  [[ $wrong == 0 ]] || exit 1
done
