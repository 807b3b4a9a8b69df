//! `bellows schema`: print the JSON Schema of the plan file, for editors.
//!
//! Save it next to the plans and point the editor at it, e.g. with a first line
//! `#:schema ./bellows.schema.json` in a plan (taplo / Even Better TOML).

use super::{out, Exit};

pub fn run() -> anyhow::Result<Exit> {
    let schema = crate::plan::schema::plan_schema();
    out::print(&format!("{}\n", serde_json::to_string_pretty(&schema)?))?;
    Ok(Exit::Success)
}
