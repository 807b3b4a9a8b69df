//! A parallel backfill's SQL on MySQL/MariaDB: the key at an offset (a range's split point),
//! and a range's batch bounds, which stop at the range's last key.

use super::Mysql;
use crate::dialect::{key_select, row, row_literals, Dialect, KeySelect};
use crate::vocab::TableName;

/// The key `offset` rows after `after` (from the start when `None`) in key order, one column
/// per key column, each as text (`CAST(… AS CHAR)`, as a batch's bounds give its last key); no
/// row when the table is shorter.
///
/// NOTE: `LIMIT 1 OFFSET n` over the key's index reads n index entries, never the rows (InnoDB
/// clusters them by the primary key); the offsets come from the row estimate, never
/// `count(*)`.
pub fn key_split_sql(
    table: &TableName,
    key: &[String],
    after: Option<&[String]>,
    offset: u64,
) -> String {
    let KeySelect { cols, .. } = key_select(&Mysql, key);
    let text = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("CAST({c} AS CHAR) AS key_{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let after = after
        .map(|a| format!("\nWHERE {} > {}", row(&cols), row_literals(a)))
        .unwrap_or_default();
    format!(
        "SELECT {text}\nFROM {}{after}\nORDER BY {}\nLIMIT 1 OFFSET {offset}",
        Mysql.table(table),
        cols.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Backfill;

    fn key() -> Vec<String> {
        vec!["tenant".to_string(), "Order No".to_string()]
    }

    #[test]
    fn split_points_read_the_key_at_an_offset_after_the_walks_start() {
        let table = TableName::parse("app.order_lines");
        let after = vec!["3".to_string(), "o'1".to_string()];
        let sql = format!(
            "{};\n\n{};",
            key_split_sql(&table, &key(), None, 4000),
            key_split_sql(&table, &key(), Some(&after), 8000)
        );
        insta::assert_snapshot!(sql);
    }

    #[test]
    fn a_ranges_batch_bounds_stop_at_its_last_key() {
        let op = Backfill {
            table: TableName::parse("order_lines"),
            set: vec![("n".into(), "n + 1".into())],
            filter: None,
            key: Some(key()),
            batch_size: None,
            pause: None,
            target_batch_time: None,
            max_lag: None,
            throttle_query: None,
            parallel: Some(3),
        };
        let after = vec!["3".to_string(), "a".to_string()];
        let until = vec!["5".to_string(), "m".to_string()];
        let first = Mysql.backfill_bounds_sql(&op, &key(), None, Some(&until), 500);
        let middle = Mysql.backfill_bounds_sql(&op, &key(), Some(&after), Some(&until), 500);
        insta::assert_snapshot!(format!("{first};\n\n{middle};"));
    }
}
