//! PostgreSQL backfill: the batches of a `backfill`, one statement each with its checkpoint.

use crate::dialect::common;
use crate::dialect::planned::PlannedOp;
use crate::dialect::{
    desc, key_select, quote_literal, range_row, row, row_literals, set_list, BatchCheckpoint,
    Dialect, KeySelect, Unsupported,
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
    Some(batch_statement(
        pg,
        op,
        key,
        after.map(row_literals),
        limit,
        checkpoint,
    ))
}

/// The batch statement after the key `after` (an SQL row: literals, or PL/pgSQL variables).
fn batch_statement(
    pg: &Postgres,
    op: &Backfill,
    key: &[String],
    after: Option<String>,
    limit: u64,
    checkpoint: &BatchCheckpoint,
) -> String {
    let table = pg.table(&op.table);
    let KeySelect {
        cols,
        aliases,
        select,
    } = key_select(pg, key);
    let after_condition = after.map(|after| format!("{} > {after}", row(&cols)));
    // A parallel backfill's range ends at its last key (inclusive): the next range starts
    // after it.
    let until_condition = checkpoint
        .range
        .as_ref()
        .and_then(|r| r.until.as_ref())
        .map(|until| format!("{} <= {}", row(&cols), row_literals(until)));
    let scan: Vec<&String> = after_condition.iter().chain(&until_condition).collect();
    let after_clause = match scan.is_empty() {
        true => String::new(),
        false => format!(
            "\n  WHERE {}",
            scan.iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(" AND ")
        ),
    };
    let range_row = range_row(checkpoint);
    let set = set_list(pg, op, ",\n      ");
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
    format!(
        "WITH batch AS (\n  SELECT {select} FROM {table}{after_clause}\n  ORDER BY {order}\n  LIMIT {limit}\n), last AS (\n  SELECT {aliases} FROM batch ORDER BY {desc} LIMIT 1\n), done AS (\n  UPDATE {table}\n  SET {set}\n  WHERE {conditions}\n  RETURNING 1\n), saved AS (\n  UPDATE {ledger}\n  SET checkpoint = (SELECT jsonb_build_array({last_text}) FROM last),\n      rows_done = {rows_done} + (SELECT count(*) FROM batch)\n  WHERE plan = {plan} AND phase = {phase} AND step_index = {index}{range_row}\n    AND EXISTS (SELECT 1 FROM last)\n)\nSELECT (SELECT count(*) FROM batch) AS scanned,\n       (SELECT count(*) FROM done) AS updated,\n       {outputs}",
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
    )
}

// NOTE: a server-side loop of batches, one round trip for many: a DO block may COMMIT between
// statements (when it is sent alone, outside a transaction block), so each batch is still its
// own transaction with its checkpoint, exactly as when the client sends them one by one; its
// statements are planned once for the block instead of once per batch. The loop stops after a
// short batch (the end of the table) or once `budget` has passed, so that the engine reports
// progress and looks at its throttles and at Ctrl-C between blocks.
pub(super) fn backfill_loop_sql(
    pg: &Postgres,
    op: &Backfill,
    key: &[String],
    after: &[String],
    limit: u64,
    checkpoint: &BatchCheckpoint,
    budget: std::time::Duration,
) -> Option<String> {
    if after.len() != key.len() || limit == 0 {
        return None;
    }
    let mut declare = Vec::new();
    for (i, (column, value)) in key.iter().zip(after).enumerate() {
        let column = format!("{}.{}", pg.table(&op.table), pg.ident(column));
        declare.push(format!(
            "bellows_after_{i} {column}%TYPE := {};",
            quote_literal(value)
        ));
        // Never NULL (a NOT NULL domain's variable may not be): a batch's search goes to the
        // record `bellows_found`, copied here only once found.
        declare.push(format!(
            "bellows_upto_{i} {column}%TYPE := {};",
            quote_literal(value)
        ));
        declare.push(format!("bellows_key_{i} text := {};", quote_literal(value)));
    }
    let keys: Vec<String> = (0..key.len()).map(|i| format!("bellows_key_{i}")).collect();
    Some(format!(
        "DO $bellows$\n#variable_conflict use_column\nDECLARE\n  {declare}\n  bellows_found record;\n  bellows_done bigint := {rows_done};\n  bellows_scanned bigint;\n  bellows_updated bigint;\n  bellows_all_updated bigint := 0;\n  bellows_batches bigint := 0;\n  bellows_until timestamptz := clock_timestamp() + interval '{budget} milliseconds';\nBEGIN\n  LOOP\n{batch}    bellows_batches := bellows_batches + 1;\n    COMMIT;\n    EXIT WHEN bellows_scanned < {limit} OR clock_timestamp() >= bellows_until;\n  END LOOP;\n  PERFORM set_config({state}, jsonb_build_array(bellows_batches, bellows_done, bellows_all_updated, jsonb_build_array({keys}))::text, false);\nEND\n$bellows$",
        declare = declare.join("\n  "),
        rows_done = checkpoint.rows_done,
        budget = budget.as_millis(),
        batch = loop_batch(pg, op, key, limit, checkpoint),
        state = quote_literal(super::BACKFILL_LOOP_STATE),
        keys = keys.join(", "),
    ))
}

// NOTE: one batch of the loop as separate statements in its transaction. Its last key is the
// `limit`-th key after the checkpoint, read by skipping along the key index (`OFFSET`): no
// batch of keys is kept, counted or sorted, which the one-statement batch must do to name its
// last key and count it in one snapshot. Only a short batch (the end of the table or of the
// range) reads its last key by a backward scan and then counts the rows up to it: when the rows
// are gone by then (deleted meanwhile), the batch is empty and the checkpoint stays. A search
// reads into a record, copied to the key-typed variables only when found: a search that finds
// nothing sets its targets to NULL, which a variable of a NOT NULL domain may not hold. The UPDATE
// takes the range (checkpoint, last key], as every batch does, and the checkpoint is written in
// the same transaction.
fn loop_batch(
    pg: &Postgres,
    op: &Backfill,
    key: &[String],
    limit: u64,
    checkpoint: &BatchCheckpoint,
) -> String {
    let table = pg.table(&op.table);
    let KeySelect { cols, .. } = key_select(pg, key);
    let found: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} AS bellows_{i}"))
        .collect();
    let take = |indent: usize| -> String {
        (0..key.len())
            .map(|i| {
                format!(
                    "{:indent$}bellows_upto_{i} := bellows_found.bellows_{i};\n",
                    ""
                )
            })
            .collect()
    };
    let vars = |prefix: &str| -> Vec<String> {
        (0..key.len())
            .map(|i| format!("bellows_{prefix}_{i}"))
            .collect()
    };
    let (after, upto, keys) = (vars("after"), vars("upto"), vars("key"));
    let mut scan = vec![format!("{} > {}", row(&cols), row(&after))];
    if let Some(until) = checkpoint.range.as_ref().and_then(|r| r.until.as_ref()) {
        scan.push(format!("{} <= {}", row(&cols), row_literals(until)));
    }
    let scan = scan.join(" AND ");
    let mut conditions = vec![
        format!("{} > {}", row(&cols), row(&after)),
        format!("{} <= {}", row(&cols), row(&upto)),
    ];
    conditions.extend(op.filter.iter().map(|filter| format!("({filter})")));
    let set = set_list(pg, op, ",\n          ");
    let range_row = range_row(checkpoint);
    let upto_text: Vec<String> = upto.iter().map(|v| format!("CAST({v} AS TEXT)")).collect();
    let advance: String = (0..key.len())
        .map(|i| {
            format!(
                "      {} := {};\n      {} := {};\n",
                after[i], upto[i], keys[i], upto_text[i]
            )
        })
        .collect();
    format!(
        "    SELECT {found} INTO bellows_found FROM {table}\n      WHERE {scan}\n      ORDER BY {cols} OFFSET {skip} LIMIT 1;\n    IF FOUND THEN\n{take6}      bellows_scanned := {limit};\n    ELSE\n      SELECT {found} INTO bellows_found FROM {table}\n        WHERE {scan}\n        ORDER BY {desc} LIMIT 1;\n      IF FOUND THEN\n{take8}        SELECT count(*) INTO bellows_scanned FROM {table}\n          WHERE {scan} AND {cols_row} <= {upto_row};\n      ELSE\n        bellows_scanned := 0;\n      END IF;\n    END IF;\n    IF bellows_scanned > 0 THEN\n      UPDATE {table}\n      SET {set}\n      WHERE {conditions};\n      GET DIAGNOSTICS bellows_updated = ROW_COUNT;\n      bellows_done := bellows_done + bellows_scanned;\n      bellows_all_updated := bellows_all_updated + bellows_updated;\n      UPDATE {ledger}\n      SET checkpoint = jsonb_build_array({upto_text}),\n          rows_done = bellows_done\n      WHERE plan = {plan} AND phase = {phase} AND step_index = {index}{range_row};\n{advance}    END IF;\n",
        cols = cols.join(", "),
        found = found.join(", "),
        take6 = take(6),
        take8 = take(8),
        skip = limit - 1,
        desc = desc(&cols),
        cols_row = row(&cols),
        upto_row = row(&upto),
        conditions = conditions.join("\n        AND "),
        upto_text = upto_text.join(", "),
        ledger = checkpoint.ledger,
        plan = checkpoint.plan,
        phase = checkpoint.phase,
        index = checkpoint.step_index,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::TableName;

    #[test]
    fn a_loop_of_batches_walks_after_its_variables_and_commits_each_batch() {
        let op = Backfill {
            table: TableName::parse("billing.Order Items"),
            set: vec![("email_verified".into(), "verified_at IS NOT NULL".into())],
            filter: Some("email_verified IS NULL".into()),
            key: None,
            batch_size: None,
            pause: None,
            target_batch_time: None,
            max_lag: None,
            throttle_query: None,
            parallel: None,
        };
        let checkpoint = BatchCheckpoint {
            ledger: "bellows.steps".into(),
            plan: "'p'".into(),
            phase: "'backfill'".into(),
            step_index: "0".into(),
            rows_done: "2000".into(),
            range: None,
        };
        let key = vec!["tenant".to_string(), "Placed At".to_string()];
        let after = vec!["7".to_string(), "2024-01-01 00:00:00.5+00".to_string()];
        let sql = backfill_loop_sql(
            &Postgres,
            &op,
            &key,
            &after,
            1000,
            &checkpoint,
            std::time::Duration::from_millis(250),
        )
        .unwrap();
        insta::assert_snapshot!(sql);
        // A checkpoint that does not fit the key is not looped over.
        let short = &after[..1];
        let none = backfill_loop_sql(
            &Postgres,
            &op,
            &key,
            short,
            10,
            &checkpoint,
            Default::default(),
        );
        assert_eq!(none, None);
    }
}
