//! `backfill`: bring existing rows to the new shape in keyset batches.

use serde::Serialize;

use super::{Expression, Operation};
use crate::vocab::lag::MaxLag;
use crate::vocab::reader::{KeyKind, TableReader};
use crate::vocab::{Phase, TableName};
use std::time::Duration;

use crate::vocab::diagnostic::{Code, Diagnostic};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backfill {
    pub table: TableName,
    /// `column = expression` pairs, in file order.
    pub set: Vec<(String, String)>,
    /// Extra filter, a SQL expression.
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// Key columns to walk; `None` means the primary key.
    pub key: Option<Vec<String>>,
    pub batch_size: Option<u64>,
    #[serde(with = "crate::vocab::duration::opt_duration")]
    pub pause: Option<Duration>,
    #[serde(with = "crate::vocab::duration::opt_duration")]
    pub target_batch_time: Option<Duration>,
    pub max_lag: Option<MaxLag>,
    pub throttle_query: Option<String>,
    /// Workers walking contiguous ranges of the key at once (PostgreSQL); `None`: one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel: Option<u64>,
}

impl Operation for Backfill {
    const NAME: &'static str = "backfill";
    const PHASES: &'static [Phase] = &[Phase::Backfill];
    const DOC: &'static str =
        "Update existing rows in small keyset-paginated batches, each its own transaction.";

    fn read(r: &mut TableReader<'_, '_>) -> Option<Self> {
        let table = r.req_table_name("table", "the table to backfill");
        let set =
            r.req_expression_map("set", "columns to write: `{ column = \"SQL expression\" }`");
        let filter = r.opt_str(
            "where",
            KeyKind::Expression,
            "extra filter, a SQL expression",
        );
        let key = r.opt_ident_list("key", "key columns to walk (default: the primary key)");
        let batch_size = r.opt_positive(
            "batch_size",
            "rows per batch and transaction (default 1000)",
        );
        let pause = r.opt_duration("pause", "sleep between batches (default \"0ms\")");
        let target_batch_time = r.opt_duration(
            "target_batch_time",
            "adapt the batch size so a batch takes about this long",
        );
        let max_lag = r.opt_max_lag(
            "max_lag",
            "PostgreSQL: pause while a replica lags more than this (a duration, or a size of WAL not yet replayed: \"16MB\")",
        );
        let throttle_query = r.opt_str(
            "throttle_query",
            KeyKind::Query,
            "SQL returning a boolean: pause while it returns true",
        );
        let parallel = r.opt_positive(
            "parallel",
            "PostgreSQL: workers walking contiguous ranges of the key at once (default 1)",
        );
        let set = set?;
        if set.get_ref().is_empty() {
            r.report(
                Diagnostic::error(
                    Code::EmptySet,
                    Some(set.span()),
                    "backfill `set` is empty: there is nothing to write",
                )
                .with_help("name at least one column: `set = { column = \"expression\" }`"),
            );
            return None;
        }
        Some(Backfill {
            table: table?,
            set: set.into_inner(),
            filter,
            key,
            batch_size,
            pause,
            target_batch_time,
            max_lag,
            throttle_query,
            parallel,
        })
    }

    fn target(&self) -> String {
        let columns: Vec<&str> = self.set.iter().map(|(c, _)| c.as_str()).collect();
        format!("{}.{}", self.table, columns.join(", "))
    }

    fn expressions(&self) -> Vec<Expression<'_>> {
        let mut found: Vec<_> = self
            .set
            .iter()
            .map(|(_, expression)| Expression::new("set", expression))
            .collect();
        found.extend(self.filter.as_deref().map(|f| Expression::new("where", f)));
        found.extend(
            self.throttle_query
                .as_deref()
                .map(|q| Expression::new("throttle_query", q)),
        );
        found
    }
}
