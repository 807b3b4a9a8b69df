#!/usr/bin/env bash
# What any BEFORE UPDATE row trigger costs an application's single-row updates on PostgreSQL,
# against which the `sync_column` trigger's cost (sync_cost.sh) is to be read. One pgbench
# database (scale SCALE) with a nullable `abalance_cents` column; in each round, each variant's
# trigger is put in place alone and measured with pgbench's single-row UPDATE script
# (RUN_SECONDS, CLIENTS) and a server-side loop of LOOP_UPDATES single-row updates:
#
#   none        no trigger
#   when-false  a trigger whose WHEN is always false: its function never runs, but the server
#               still locks each row the UPDATE writes before it evaluates the WHEN (one more
#               WAL record per row)
#   trivial     a PL/pgSQL function that only returns NEW
#   assign      a PL/pgSQL function that only assigns NEW.abalance_cents := NEW.abalance * 100
#               (with bellows' WHEN): the least a sync can do
#   bellows     the function bellows' sync_column writes for the same sync (with its WHEN)
#
# Commits do not wait for the WAL flush (synchronous_commit = off) so that the trigger's CPU
# cost is not hidden behind fsync. Prints each round and the median per variant with its ratio
# to `none`. Environment: DATABASE_URL (a server where the user may create databases), SCALE
# (10), CLIENTS (4), RUN_SECONDS (5), ROUNDS (3), LOOP_UPDATES (50000), BELLOWS_BIN
# (target/release/bellows, whose sync function is measured). The scratch database
# bellows_trigger_floor is dropped at the end, also on failure.
set -euo pipefail

run_seconds_default=5
source "$(dirname "$0")/pgbench_common.sh"
db="${url%/*}/bellows_trigger_floor"
export PGOPTIONS="${PGOPTIONS:-} -c synchronous_commit=off"
cleanup() {
  psql -X -q "$url" -c "DROP DATABASE IF EXISTS bellows_trigger_floor WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql -X -q "$url" -c "DROP DATABASE IF EXISTS bellows_trigger_floor WITH (FORCE)" \
  -c "CREATE DATABASE bellows_trigger_floor" >/dev/null
pgbench -i -q -s "$scale" "$db" >/dev/null 2>&1
# bellows writes its sync (function and triggers); the function is kept, its triggers are put
# back per round like the others'.
write_plans
"$bin" apply "$work/sync.toml" --database "$db" --yes --format json >"$work/apply.log" 2>&1 \
  || { echo "bellows apply failed:"; cat "$work/apply.log"; exit 1; }
psql -X -q "$db" >/dev/null <<'EOF'
DROP TRIGGER "bellows_sync_pgbench_accounts_abalance_cents" ON pgbench_accounts;
DROP TRIGGER "bellows_sync_pgbench_accounts_abalance_cents$insert" ON pgbench_accounts;
CREATE FUNCTION floor_trivial() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE FUNCTION floor_assign() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN NEW.abalance_cents := (NEW.abalance * 100); RETURN NEW; END $$;
VACUUM ANALYZE;
EOF
write_update_script

when="WHEN (NOT (NEW.abalance_cents IS DISTINCT FROM OLD.abalance_cents))"
trigger() { # variant: puts its trigger alone on pgbench_accounts
  local create
  case $1 in
    none) create="" ;;
    when-false) create="FOR EACH ROW WHEN (false) EXECUTE FUNCTION floor_trivial()" ;;
    trivial) create="FOR EACH ROW EXECUTE FUNCTION floor_trivial()" ;;
    assign) create="FOR EACH ROW $when EXECUTE FUNCTION floor_assign()" ;;
    bellows) create="FOR EACH ROW $when EXECUTE FUNCTION bellows_sync_pgbench_accounts_abalance_cents()" ;;
  esac
  psql -X -q "$db" -c "DROP TRIGGER IF EXISTS floor ON pgbench_accounts" >/dev/null
  if [[ -n $create ]]; then
    psql -X -q "$db" -c "CREATE TRIGGER floor BEFORE UPDATE ON pgbench_accounts $create" >/dev/null
  fi
}


variants=(none when-false trivial assign bellows)
declare -A seen
for ((r = 1; r <= rounds; r++)); do
  order=("${variants[@]:$(((r - 1) % ${#variants[@]}))}" "${variants[@]:0:$(((r - 1) % ${#variants[@]}))}")
  for v in "${order[@]}"; do
    trigger "$v"
    u=$(pgbench -n -T "$run_seconds" -c "$clients" -j 2 -f "$work/update.sql" "$db" 2>/dev/null \
      | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p')
    l=$(loop_rate "$db")
    seen[update_$v]+="$u "
    seen[loop_$v]+="$l "
    printf 'round %d  %-10s single-row UPDATE %8.0f tps   server loop %8.0f updates/s\n' "$r" "$v" "$u" "$l"
  done
done

echo
printf '%-10s %18s %8s %18s %8s\n' variant "single UPDATE tps" "vs none" "server loop /s" "vs none"
un=$(median "${seen[update_none]}"); ln=$(median "${seen[loop_none]}")
for v in "${variants[@]}"; do
  u=$(median "${seen[update_$v]}"); l=$(median "${seen[loop_$v]}")
  printf '%-10s %18.0f %8.3f %18.0f %8.3f\n' "$v" "$u" "$(echo "$u / $un" | bc -l)" "$l" "$(echo "$l / $ln" | bc -l)"
done
