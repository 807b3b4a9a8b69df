//! A PostgreSQL database's schema as `pg_dump --schema-only` prints it, without bellows' own
//! ledger and without comment lines and `\restrict` markers, so that two dumps of the same
//! schema compare equal (a rollback must restore the dump taken before `apply`).

use std::process::Command;

use super::output_text;

pub fn schema_dump(url: &str) -> String {
    let out = Command::new("pg_dump")
        .args([
            "--schema-only",
            "--no-owner",
            "--exclude-schema=bellows",
            "-d",
            url,
        ])
        .output()
        .expect("pg_dump runs (is it on PATH?)");
    assert!(out.status.success(), "pg_dump: {}", output_text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            !l.starts_with("--") && !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
