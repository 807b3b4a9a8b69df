//! What must hold after a trial's fault and reruns: the catalog in the intended shape (no
//! INVALID index, every constraint validated, no leftover bellows trigger, function or helper
//! check), each pre-existing row written exactly once, the schema equal to a run without
//! faults, and `status` agreeing. Each check returns the problems it found, as sentences.

use super::db::{diff, Db};
use super::scenario::ROWS;

/// Leftovers of an interrupted run, read from the catalog by the test itself: INVALID indexes,
/// constraints not validated, bellows triggers, functions and helper checks.
const LEFTOVERS: &str = "SELECT 'index ' || i.indexrelid::regclass::text || ' INVALID'
  FROM pg_index i WHERE NOT i.indisvalid
UNION ALL
SELECT 'constraint ' || c.conname || ' validated=' || c.convalidated
  FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
 WHERE n.nspname = 'public' AND (NOT c.convalidated OR c.conname LIKE 'bellows%')
UNION ALL
SELECT 'trigger ' || t.tgname FROM pg_trigger t
 WHERE NOT t.tgisinternal AND t.tgname LIKE 'bellows%'
UNION ALL
SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.proname LIKE 'bellows%'";

/// Leftovers of an interrupted run in the catalog.
pub fn leftovers(db: &Db) -> Vec<String> {
    db.rows(LEFTOVERS)
        .into_iter()
        .map(|row| format!("leftover {row}"))
        .collect()
}

/// `bellows doctor` finds no drift between the ledger and the catalog.
pub fn doctor_is_clean(db: &Db, plan: &std::path::Path) -> Vec<String> {
    let output = crate::harness::cli::bellows_std()
        .args(["doctor", "--format", "json", "-d"])
        .arg(db.url())
        .arg(plan)
        .output()
        .expect("run bellows doctor");
    if output.status.code() == Some(0) {
        return Vec::new();
    }
    vec![format!(
        "`bellows doctor` found drift (exit {:?}): {}{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )]
}

/// Every pre-existing row of `orders` has its `total` written exactly once, to the right value.
pub fn written_once(db: &Db) -> Vec<String> {
    let mut problems = Vec::new();
    let wrong = db.rows(
        "SELECT o.tenant_id::text || '/' || o.id::text || ' x' || coalesce(w.n, 0)::text
           FROM orders o
           LEFT JOIN (SELECT tenant_id, id, count(*) AS n FROM writes GROUP BY 1, 2) w
                  USING (tenant_id, id)
          WHERE o.tenant_id < 7 AND coalesce(w.n, 0) <> 1
          ORDER BY 1 LIMIT 5",
    );
    if !wrong.is_empty() {
        let count = db.i64(
            "SELECT count(*) FROM orders o
              LEFT JOIN (SELECT tenant_id, id, count(*) AS n FROM writes GROUP BY 1, 2) w
                     USING (tenant_id, id)
              WHERE o.tenant_id < 7 AND coalesce(w.n, 0) <> 1",
        );
        problems.push(format!(
            "{count} pre-existing rows not written exactly once (row xwrites): {wrong:?}"
        ));
    }
    let rows = db.i64("SELECT count(*) FROM orders WHERE tenant_id < 7");
    if rows != ROWS {
        problems.push(format!("{rows} pre-existing rows, expected {ROWS}"));
    }
    let bad =
        db.i64("SELECT count(*) FROM orders WHERE total IS DISTINCT FROM total_amount / 100.0");
    if bad != 0 {
        problems.push(format!("{bad} rows whose total is not total_amount / 100"));
    }
    problems
}

/// The schema is the expected one (`pg_dump --schema-only`).
pub fn schema_is(db: &Db, expected: &str, what: &str) -> Vec<String> {
    let found = db.schema_dump();
    if found == expected {
        return Vec::new();
    }
    let lines = diff(expected, &found);
    let lines = if lines.is_empty() {
        "(the same lines in another order)".to_string()
    } else {
        lines
    };
    vec![format!("the schema differs from {what}:\n{lines}")]
}

/// `bellows status` names the plan with `state` (`applied`, `rolled_back`).
pub fn status_is(db: &Db, plan: &std::path::Path, state: &str) -> Vec<String> {
    let problems = status_of(&db.url(), plan, state);
    if problems.is_empty() {
        return problems;
    }
    vec![format!(
        "{}; ledger: {:?}",
        problems.join("; "),
        db.rows(
            "SELECT phase || '/' || step_index || '=' || state || coalesce(' (' || error || ')', '')
               FROM bellows.steps WHERE plan = 'faults'
              ORDER BY array_position(ARRAY['expand','backfill','switch','contract'], phase), step_index"
        )
    )]
}

/// `bellows status` of the database at `url` names plan `faults` with `state`.
pub fn status_of(url: &str, plan: &std::path::Path, state: &str) -> Vec<String> {
    let output = crate::harness::cli::bellows_std()
        .args(["status", "--format", "json", "-d"])
        .arg(url)
        .arg(plan)
        .output()
        .expect("run bellows status");
    let text = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = match serde_json::from_str(&text) {
        Ok(report) => report,
        Err(e) => {
            return vec![format!(
                "`bellows status` gave no JSON ({e}): {text}{}",
                String::from_utf8_lossy(&output.stderr)
            )]
        }
    };
    let found = report["plans"]
        .as_array()
        .and_then(|plans| plans.iter().find(|p| p["name"] == "faults"))
        .map(|p| p["state"].as_str().unwrap_or("?").to_string());
    match found {
        Some(found) if found == state => Vec::new(),
        found => vec![format!(
            "`bellows status` says {found:?}, expected {state:?}"
        )],
    }
}
