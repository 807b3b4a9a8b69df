//! PostgreSQL backfill: the batches of a `backfill`, one statement each with its checkpoint.

use crate::dialect::common;
use crate::dialect::planned::PlannedOp;
use crate::dialect::{
    desc, key_select, row, row_literals, BatchCheckpoint, Dialect, KeySelect, Unsupported,
};
use crate::ops::*;

use super::Postgres;

pub(super) fn backfill(pg: &Postgres, op: &Backfill) -> Result<PlannedOp, Unsupported> {
    Ok(common::backfill(pg, op))
}

// NOTE: one statement (data-modifying CTEs) instead of bounds query + UPDATE + checkpoint:
// one round trip per batch, and the checkpoint still commits with the rows it covers.
// Every CTE runs exactly once, on the same snapshot; `last` is ONE row, so the update's
// range and the checkpoint name the same key.
pub(super) fn backfill_batch_sql(
    pg: &Postgres,
    op: &Backfill,
    key: &[String],
    after: Option<&[String]>,
    limit: u64,
    checkpoint: &BatchCheckpoint,
) -> Option<String> {
    let table = pg.table(&op.table);
    let KeySelect {
        cols,
        aliases,
        select,
    } = key_select(pg, key);
    let after_condition = after.map(|values| format!("{} > {}", row(&cols), row_literals(values)));
    let after_clause = after_condition
        .as_ref()
        .map(|c| format!("\n  WHERE {c}"))
        .unwrap_or_default();
    let set = op
        .set
        .iter()
        .map(|(column, expr)| format!("{} = ({expr})", pg.ident(column)))
        .collect::<Vec<_>>()
        .join(",\n      ");
    let mut conditions = Vec::new();
    conditions.extend(after_condition);
    conditions.push(format!(
        "{} <= (SELECT {} FROM last)",
        row(&cols),
        aliases.join(", ")
    ));
    if let Some(filter) = &op.filter {
        conditions.push(format!("({filter})"));
    }
    let last_text = aliases
        .iter()
        .map(|a| format!("CAST({a} AS TEXT)"))
        .collect::<Vec<_>>();
    let outputs = aliases
        .iter()
        .enumerate()
        .map(|(i, a)| format!("(SELECT CAST({a} AS TEXT) FROM last) AS last_{i}"))
        .collect::<Vec<_>>()
        .join(",\n       ");
    Some(format!(
        "WITH batch AS (\n  SELECT {select} FROM {table}{after_clause}\n  ORDER BY {order}\n  LIMIT {limit}\n), last AS (\n  SELECT {aliases} FROM batch ORDER BY {desc} LIMIT 1\n), done AS (\n  UPDATE {table}\n  SET {set}\n  WHERE {conditions}\n  RETURNING 1\n), saved AS (\n  UPDATE {ledger}\n  SET checkpoint = (SELECT jsonb_build_array({last_text}) FROM last),\n      rows_done = {rows_done} + (SELECT count(*) FROM batch)\n  WHERE plan = {plan} AND phase = {phase} AND step_index = {index}\n    AND EXISTS (SELECT 1 FROM last)\n)\nSELECT (SELECT count(*) FROM batch) AS scanned,\n       (SELECT count(*) FROM done) AS updated,\n       {outputs}",
        order = cols.join(", "),
        aliases = aliases.join(", "),
        desc = desc(&aliases),
        conditions = conditions.join("\n    AND "),
        last_text = last_text.join(", "),
        ledger = checkpoint.ledger,
        rows_done = checkpoint.rows_done,
        plan = checkpoint.plan,
        phase = checkpoint.phase,
        index = checkpoint.step_index,
    ))
}
