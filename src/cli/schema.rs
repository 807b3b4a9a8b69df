//! `bellows schema`: print the JSON Schema of the plan file (for taplo / Even Better TOML).

use super::Exit;

pub fn run() -> anyhow::Result<Exit> {
    let schema = crate::plan::schema::plan_schema();
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(Exit::Success)
}
