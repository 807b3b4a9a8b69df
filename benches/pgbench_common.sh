# Shared by sync_cost.sh and trigger_floor.sh (sourced, not run): their settings from the
# environment, the plans, the single-row UPDATE script, the server-side loop of updates and
# the median.
# The sourcing script sets `run_seconds_default` first.

url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
bin=${BELLOWS_BIN:-target/release/bellows}
scale=${SCALE:-10}
clients=${CLIENTS:-4}
run_seconds=${RUN_SECONDS:-$run_seconds_default}
rounds=${ROUNDS:-3}
loop_updates=${LOOP_UPDATES:-50000}
work=$(mktemp -d)

# The plans: $work/none.toml adds pgbench_accounts.abalance_cents; $work/sync.toml also syncs
# it from abalance * 100.
write_plans() {
  cat >"$work/none.toml" <<'PLAN'
[[expand]]
op = "add_column"
table = "pgbench_accounts"
column = "abalance_cents"
type = "bigint"
PLAN
  cp "$work/none.toml" "$work/sync.toml"
  cat >>"$work/sync.toml" <<'PLAN'

[[expand]]
op = "sync_column"
table = "pgbench_accounts"
column = "abalance_cents"
from = "abalance * 100"
PLAN
}

# pgbench's single-row UPDATE of pgbench_accounts, in $work/update.sql.
write_update_script() {
  cat >"$work/update.sql" <<SCRIPT
\set aid random(1, 100000 * $scale)
\set delta random(-5000, 5000)
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SCRIPT
}

# Single-row updates per second in one DO block of $loop_updates updates on database URL $1:
# no network, no commit, so a trigger's CPU cost is as large a share as it can be.
loop_rate() {
  local started ended
  started=$(date +%s.%N)
  psql -X -q "$1" -c "DO \$\$ BEGIN FOR i IN 1..$loop_updates LOOP
    UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = (i * 7919) % (100000 * $scale) + 1;
    END LOOP; END \$\$" >/dev/null
  ended=$(date +%s.%N)
  echo "$loop_updates / ($ended - $started)" | bc -l
}

# The median of the numbers in $1 (separated by spaces).
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
