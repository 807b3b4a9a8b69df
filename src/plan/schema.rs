//! The JSON Schema (draft-07) of the plan file, for `bellows schema` and editors (taplo, Even
//! Better TOML).
//!
//! It is generated from the same code that loads plans: the plan's own keys and `[settings]`
//! from [`super::load::plan_keys`], every operation's keys from the registry [`crate::ops::OPS`]
//! (whose readers record each key they read), and the phases each operation is allowed in. So the
//! schema cannot drift from the loader. The loader stays the authority on what the schema cannot
//! say (e.g. a guard needs `null_count` or `query` + `expect`; `nullable = false` needs a
//! `default`).

use serde_json::{json, Map, Value};

use super::load::{default_op, plan_keys};
use crate::ops::{OpSpec, OPS};
use crate::vocab::duration::duration_pattern;
use crate::vocab::reader::{KeyInfo, KeyKind};
use crate::vocab::Phase;

/// A non-blank string.
const NON_BLANK: &str = r"\S";
/// `name` or `schema.name`, no part blank.
const QUALIFIED: &str = r"^[^.]*[^.\s][^.]*(\.[^.]*[^.\s][^.]*)?$";
/// `table.column` or `schema.table.column`, no part blank.
const COLUMN_REF: &str = r"^[^.]*[^.\s][^.]*(\.[^.]*[^.\s][^.]*){1,2}$";

/// The whole schema.
pub fn plan_schema() -> Value {
    let mut definitions = Map::new();
    for spec in OPS {
        definitions.insert(spec.name.to_string(), op_schema(spec));
    }
    let mut properties = Map::new();
    for key in plan_keys() {
        let schema = match Phase::parse(key.name) {
            Some(phase) => {
                let step = format!("{phase}_step");
                definitions.insert(step.clone(), phase_step_schema(phase));
                json!({
                    "description": key.doc,
                    "type": "array",
                    "items": { "$ref": format!("#/definitions/{step}") },
                })
            }
            None => key_schema(&key),
        };
        properties.insert(key.name.to_string(), schema);
    }
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "bellows plan",
        "description": "A zero-downtime schema change in four phases: expand, backfill, switch, contract. See `bellows check` for the full validation.",
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
        "definitions": definitions,
    })
}

/// A step of `phase`: exactly one of the operations allowed there, told apart by `op`.
fn phase_step_schema(phase: Phase) -> Value {
    let allowed: Vec<Value> = OPS
        .iter()
        .filter(|spec| spec.phases.contains(&phase))
        .map(|spec| json!({ "$ref": format!("#/definitions/{}", spec.name) }))
        .collect();
    json!({
        "description": format!("A step of {phase}."),
        "oneOf": allowed,
    })
}

/// One operation: `op` plus the keys its reader reads, nothing else.
fn op_schema(spec: &OpSpec) -> Value {
    let phases: Vec<&str> = spec.phases.iter().map(|p| p.as_str()).collect();
    let doc = format!("{} Allowed in: {}.", spec.doc, phases.join(", "));
    let op_optional = spec
        .phases
        .iter()
        .all(|p| default_op(*p) == Some(spec.name));
    let op = KeyInfo {
        name: "op",
        kind: KeyKind::OneOf(&[]),
        required: !op_optional,
        doc: "the operation",
    };
    let mut schema = object_schema(std::iter::once(op).chain((spec.keys)()).collect());
    schema["title"] = json!(spec.name);
    schema["description"] = json!(doc);
    schema["properties"]["op"] = json!({ "const": spec.name, "description": doc });
    schema
}

/// A table whose keys are `keys` and nothing else.
fn object_schema(keys: Vec<KeyInfo>) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for key in &keys {
        properties.insert(key.name.to_string(), key_schema(key));
        if key.required {
            required.push(json!(key.name));
        }
    }
    let mut schema = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
    });
    if !required.is_empty() {
        schema["required"] = Value::Array(required);
    }
    schema
}

fn key_schema(key: &KeyInfo) -> Value {
    let mut schema = kind_schema(&key.kind);
    schema["description"] = json!(key.doc);
    schema
}

fn kind_schema(kind: &KeyKind) -> Value {
    let non_blank = json!({ "type": "string", "pattern": NON_BLANK });
    match kind {
        KeyKind::String
        | KeyKind::Identifier
        | KeyKind::Expression
        | KeyKind::Query
        | KeyKind::Type => non_blank,
        KeyKind::Table | KeyKind::QualifiedName => {
            json!({ "type": "string", "pattern": QUALIFIED })
        }
        KeyKind::ColumnRef => json!({ "type": "string", "pattern": COLUMN_REF }),
        KeyKind::Bool => json!({ "type": "boolean" }),
        KeyKind::Integer => json!({ "type": "integer", "minimum": 1 }),
        KeyKind::Duration => json!({
            "type": "string",
            "pattern": duration_pattern(),
            "examples": ["250ms", "2s", "5m", "1m 30s"],
        }),
        KeyKind::MaxLag => json!({
            "type": "string",
            "pattern": crate::vocab::lag::max_lag_pattern(),
            "examples": ["2s", "500ms", "16MB", "1GB"],
        }),
        KeyKind::IdentList => json!({
            "anyOf": [
                non_blank.clone(),
                { "type": "array", "minItems": 1, "items": non_blank },
            ],
        }),
        KeyKind::ExpressionMap => json!({
            "type": "object",
            "minProperties": 1,
            "additionalProperties": non_blank,
        }),
        KeyKind::OneOf(allowed) => {
            // The loader accepts any letter case; the schema offers the lower and upper forms.
            let mut values: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
            values.extend(allowed.iter().map(|a| a.to_uppercase()));
            json!({ "type": "string", "enum": values })
        }
        KeyKind::IntegerOrBool => json!({ "type": ["integer", "boolean"] }),
        KeyKind::Text => json!({ "type": "string" }),
        KeyKind::OneOfOrTable(allowed, keys) => json!({
            "anyOf": [kind_schema(&KeyKind::OneOf(allowed)), object_schema(keys.clone())],
        }),
        KeyKind::Table_(keys) => object_schema(keys.clone()),
        KeyKind::TableArray(keys) => json!({
            "type": "array",
            "minItems": 1,
            "items": object_schema(keys.clone()),
        }),
        KeyKind::NamesOrTables(keys) => {
            let item = json!({ "anyOf": [non_blank.clone(), object_schema(keys.clone())] });
            json!({
                "anyOf": [
                    non_blank,
                    { "type": "array", "minItems": 1, "items": item },
                ],
            })
        }
        KeyKind::Parameters => json!({
            "type": "object",
            "additionalProperties": { "type": ["string", "number", "boolean"] },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_has_a_definition_and_is_offered_in_its_phases() {
        let schema = plan_schema();
        for spec in OPS {
            let definition = &schema["definitions"][spec.name];
            assert_eq!(definition["properties"]["op"]["const"], spec.name);
            assert_eq!(definition["additionalProperties"], false);
            for phase in Phase::ALL {
                let step = &schema["definitions"][format!("{phase}_step")]["oneOf"];
                let offered = step
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["$ref"] == format!("#/definitions/{}", spec.name));
                assert_eq!(
                    offered,
                    spec.phases.contains(&phase),
                    "{} in {phase}",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn only_backfill_may_leave_out_op() {
        let schema = plan_schema();
        for spec in OPS {
            let required = schema["definitions"][spec.name]["required"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert_eq!(
                required.contains(&json!("op")),
                spec.name != "backfill",
                "{}",
                spec.name
            );
        }
    }
}
