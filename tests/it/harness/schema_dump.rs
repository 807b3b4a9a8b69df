//! The schema of a PostgreSQL test database as `pg_dump --schema-only` prints it, without
//! bellows' own ledger and pg_dump's comments: what a rollback must restore exactly.

use std::process::Command;

use super::{output_text, PostgresDb};

/// The schema, without the `bellows` schema, owners, `--` comment lines and pg_dump's
/// `\restrict` lines (their key changes on every run).
pub fn schema_dump(db: &PostgresDb) -> String {
    let out = Command::new("pg_dump")
        .args([
            "--schema-only",
            "--no-owner",
            "--exclude-schema=bellows",
            "-d",
            &db.url,
        ])
        .output()
        .expect("pg_dump runs (it comes with the PostgreSQL client)");
    assert!(out.status.success(), "{}", output_text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            !l.starts_with("--") && !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
