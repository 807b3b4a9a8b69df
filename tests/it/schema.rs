//! The JSON Schema of the plan file (`bellows schema`) and the reference plan, which together
//! keep the documentation, the editor support and the loader saying the same thing.
//!
//! Validation uses the `boon` crate (a pure-Rust JSON Schema validator, draft-07 here).

use std::collections::BTreeSet;

use bellows::ops::OPS;
use bellows::plan::load::{default_op, plan_keys};
use bellows::plan::schema::plan_schema;
use bellows::vocab::duration::parse_duration;
use bellows::vocab::reader::{KeyInfo, KeyKind};
use bellows::vocab::Phase;
use serde_json::{json, Value};

use crate::harness::{check_ok, fixtures, rendered, Cli};

const REFERENCE: &str = "tests/plans/reference.toml";

/// The plan schema compiled by boon (which also checks it against the draft-07 meta-schema).
struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new(schema: Value) -> Validator {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V7);
        compiler
            .add_resource("urn:bellows:plan", schema)
            .expect("the schema is a resource");
        let index = compiler
            .compile("urn:bellows:plan", &mut schemas)
            .unwrap_or_else(|e| panic!("the schema does not compile: {e:#}"));
        Validator { schemas, index }
    }

    fn errors(&self, plan: &Value) -> Option<String> {
        self.schemas
            .validate(plan, self.index)
            .err()
            .map(|e| format!("{e:#}"))
    }
}

/// A plan file as JSON, the way an editor sees it.
fn plan_json(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_command_prints_the_schema() {
    let printed = Cli::new(["schema"]).run().json();
    assert_eq!(printed, plan_schema());
    assert_eq!(
        printed["$schema"],
        "http://json-schema.org/draft-07/schema#"
    );
}

#[test]
fn the_schema_describes_every_op_in_its_phases() {
    let schema = plan_schema();
    let validator = Validator::new(schema.clone());
    for spec in OPS {
        let definition = &schema["definitions"][spec.name];
        assert!(definition.is_object(), "no definition for {}", spec.name);
        assert!(definition["description"]
            .as_str()
            .unwrap()
            .contains(spec.doc));
        for key in (spec.keys)() {
            let property = &definition["properties"][key.name];
            assert_eq!(
                property["description"], key.doc,
                "{}.{}",
                spec.name, key.name
            );
        }
        // A step with an op in a phase it is not allowed in does not validate.
        for phase in Phase::ALL {
            let step = json!({ "op": spec.name });
            let plan = json!({ phase.as_str(): [step] });
            let errors = validator.errors(&plan).unwrap_or_default();
            if !spec.phases.contains(&phase) {
                assert!(!errors.is_empty(), "{} accepted in {phase}", spec.name);
            }
        }
    }
}

#[test]
fn the_reference_plan_and_every_good_plan_validate() {
    let validator = Validator::new(plan_schema());
    let mut paths = vec![REFERENCE.to_string()];
    for dir in ["tests/plans/ok", "tests/plans/warn"] {
        for path in fixtures(dir) {
            paths.push(
                path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                    .unwrap()
                    .display()
                    .to_string(),
            );
        }
    }
    for path in paths {
        if let Some(errors) = validator.errors(&plan_json(&path)) {
            panic!("{path} does not validate against the schema:\n{errors}");
        }
    }
}

#[test]
fn plans_with_mistakes_an_editor_can_see_do_not_validate() {
    let validator = Validator::new(plan_schema());
    // Mistakes that the schema can express (the loader alone knows about contradictions
    // between steps, and a few rules across keys).
    for name in [
        "bad_duration",
        "bad_names",
        "bad_values",
        "empty_set",
        "missing_key",
        "missing_op",
        "no_steps",
        "not_null_without_default",
        "op_not_string",
        "table_instead_of_array",
        "unknown_key",
        "unknown_op",
        "unknown_top_level_key",
        "wrong_phase",
        "wrong_type",
    ] {
        let path = format!("tests/plans/err/{name}.toml");
        // The schema leaves out a few whole-plan rules; say which this test relies on.
        let expected_by_schema = !matches!(name, "no_steps" | "not_null_without_default");
        let errors = validator.errors(&plan_json(&path));
        assert_eq!(
            errors.is_some(),
            expected_by_schema,
            "{path}: schema verdict {errors:?}"
        );
    }
}

#[test]
fn durations_mean_the_same_to_the_schema_and_the_loader() {
    let validator = Validator::new(plan_schema());
    let samples = [
        "250ms",
        "2s",
        "5m",
        "1h",
        "1d",
        "0ms",
        "1.5s",
        "1m 30s",
        "1m30s",
        " 2 s ",
        "10 seconds",
        "3 minutes",
        "1hr",
        "2hrs",
        "100us",
        "100µs",
        "5ns",
        "500",
        "",
        " ",
        "ms",
        "1.s",
        ".5s",
        "5 parsecs",
        "-1s",
        "1s -",
        "1w",
        "1e3ms",
        "1_000ms",
        "1,5s",
        "1s1",
        "fast",
        "1 s 2",
    ];
    for text in samples {
        let plan = json!({ "settings": { "pause": text }, "expand": [] });
        let by_schema = validator.errors(&plan).is_none();
        let by_loader = parse_duration(text).is_ok();
        assert_eq!(
            by_schema, by_loader,
            "duration {text:?}: schema {by_schema}, loader {by_loader}"
        );
    }
}

/// Every key path a list of keys describes: `columns[].name`, `references.table`, ….
fn registry_paths(prefix: &str, keys: &[KeyInfo], out: &mut BTreeSet<String>) {
    for key in keys {
        let path = format!("{prefix}{}", key.name);
        match &key.kind {
            KeyKind::Table_(nested) => registry_paths(&format!("{path}."), nested, out),
            KeyKind::TableArray(nested) | KeyKind::NamesOrTables(nested) if !nested.is_empty() => {
                registry_paths(&format!("{path}[]."), nested, out)
            }
            _ => {}
        }
        out.insert(path);
    }
}

/// The key paths a TOML table uses, following the registry's nesting.
fn used_paths(prefix: &str, table: &toml::Table, keys: &[KeyInfo], out: &mut BTreeSet<String>) {
    for (name, value) in table {
        let path = format!("{prefix}{name}");
        let kind = keys.iter().find(|k| k.name == name).map(|k| &k.kind);
        match (kind, value) {
            (Some(KeyKind::Table_(nested)), toml::Value::Table(inner)) => {
                used_paths(&format!("{path}."), inner, nested, out)
            }
            (
                Some(KeyKind::TableArray(nested) | KeyKind::NamesOrTables(nested)),
                toml::Value::Array(items),
            ) if !nested.is_empty() => {
                for item in items {
                    if let toml::Value::Table(inner) = item {
                        used_paths(&format!("{path}[]."), inner, nested, out);
                    }
                }
            }
            _ => {}
        }
        out.insert(path);
    }
}

#[test]
fn the_reference_plan_uses_every_key_of_every_op_and_loads_cleanly() {
    let loaded = check_ok(std::path::Path::new(REFERENCE));
    assert!(loaded.diagnostics.is_empty(), "{}", rendered(&loaded));

    let text = std::fs::read_to_string(REFERENCE).unwrap();
    let document: toml::Table = toml::from_str(&text).unwrap();

    // The plan's own keys and [settings].
    let top = plan_keys();
    let mut expected = BTreeSet::new();
    registry_paths("", &top, &mut expected);
    let mut used = BTreeSet::new();
    used_paths("", &document, &top, &mut used);
    assert_eq!(used, expected, "top-level keys of {REFERENCE}");

    // Every op's keys, gathered over all its steps.
    for spec in OPS {
        let mut keys = vec![KeyInfo {
            name: "op",
            kind: KeyKind::String,
            required: true,
            doc: "",
        }];
        keys.extend((spec.keys)());
        let mut expected = BTreeSet::new();
        registry_paths("", &keys, &mut expected);
        let mut used = BTreeSet::new();
        for phase in Phase::ALL {
            let Some(toml::Value::Array(steps)) = document.get(phase.as_str()) else {
                continue;
            };
            for step in steps {
                let toml::Value::Table(step) = step else {
                    continue;
                };
                let op = step
                    .get("op")
                    .and_then(toml::Value::as_str)
                    .or(default_op(phase));
                if op == Some(spec.name) {
                    used_paths("", step, &keys, &mut used);
                }
            }
        }
        assert!(!used.is_empty(), "{REFERENCE} has no `{}` step", spec.name);
        let missing: Vec<_> = expected.difference(&used).collect();
        assert!(
            missing.is_empty(),
            "{REFERENCE}: `{}` never uses {missing:?}",
            spec.name
        );
    }
}
