//! `bellows init`: a `plans/` folder with a first commented plan, the plan format's JSON Schema
//! next to it, and a `.taplo.toml` that points editors at that schema. Never overwrites a file.

use std::path::Path;

use super::args::InitArgs;
use super::{out, Exit, ExitError};

/// The schema file written next to the plans (the `#:schema` line of each plan names it).
const SCHEMA_FILE: &str = "bellows.schema.json";

const FIRST_PLAN: &str = r#"#:schema ./bellows.schema.json
# A first plan: add a column without downtime. `bellows check` validates it, `bellows plan`
# shows the SQL each step runs, `bellows apply -d URL` runs it. Every key is documented in
# docs/plan-format.md (and completed by editors through the #:schema line above).
#
# Phases run in this order, each only after the one before it succeeded:
#   expand    add what the new application version needs; the old one must not notice
#   backfill  fill existing rows in small batches
#   switch    after deploying the new version: defaults, guards
#   contract  once no old version runs: drop what is no longer used

description = "Add users.nickname"

[[expand]]
op = "add_column"
table = "users"
column = "nickname"
type = "text"
"#;

const TAPLO: &str = r#"# Editors with taplo (Even Better TOML) complete and check bellows plans with this schema.
[[rule]]
include = ["PLANS/*.toml"]

[rule.schema]
path = "PLANS/bellows.schema.json"
"#;

pub fn run(args: &InitArgs) -> anyhow::Result<Exit> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir).map_err(|e| {
        ExitError::new(
            Exit::Invalid,
            format!("cannot create {}: {e}", dir.display()),
        )
    })?;
    let schema = serde_json::to_string_pretty(&crate::plan::schema::plan_schema())? + "\n";
    let plans = dir.display().to_string();
    let files = [
        (dir.join("0001_first.toml"), FIRST_PLAN.to_string()),
        (dir.join(SCHEMA_FILE), schema),
        (
            Path::new(".taplo.toml").to_path_buf(),
            TAPLO.replace("PLANS", plans.trim_end_matches('/')),
        ),
    ];
    for (path, text) in files {
        write_new(&path, &text)?;
    }
    Ok(Exit::Success)
}

/// Writes `text` to `path` unless it exists; says which.
fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    if path.exists() {
        out::line(&format!("kept {} (it exists)", path.display()));
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| {
        ExitError::new(
            Exit::Invalid,
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    out::line(&format!("created {}", path.display()));
    Ok(())
}
