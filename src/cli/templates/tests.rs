//! The templates' output loads clean, uses the steps each pattern needs, and is snapshotted.

use super::toml_writer::s;
use super::*;
use crate::plan::load::load_str;
use std::path::Path;

const ALL: [Template; 5] = [
    Template::AddColumn,
    Template::RenameColumn,
    Template::ChangeType,
    Template::AddNotNull,
    Template::AddIndex,
];

fn values(table: &str, column: &str, to: &str, type_: &str, from: Option<&str>) -> Values {
    Values {
        table: Some(table.into()),
        column: Some(column.into()),
        to: Some(to.into()),
        type_: Some(type_.into()),
        from: from.map(str::to_string),
        copy_and_sync: false,
        mysql: false,
    }
}

/// Loads `text` and asserts it has no diagnostic at all; returns the number of steps.
fn loads_clean(text: &str) -> usize {
    let loaded = load_str(Path::new("plans/0001_test.toml"), text);
    assert!(
        loaded.diagnostics.is_empty(),
        "diagnostics {:#?} in\n{text}",
        loaded.diagnostics
    );
    loaded.plan.expect("a plan without diagnostics").steps.len()
}

#[test]
fn every_template_loads_clean_with_plain_names() {
    for (template, copy_and_sync) in ALL.iter().flat_map(|t| [(*t, false), (*t, true)]) {
        // A column-derived `from`: a constant one draws the `sync-inexact` warning.
        for from in [None, Some("verified_at IS NOT NULL")] {
            let mut v = values("users", "email_verified", "verified", "boolean", from);
            v.copy_and_sync = copy_and_sync;
            let text = render(template, "test", "plans/0001_test.toml", &v).unwrap();
            assert!(loads_clean(&text) >= 1, "{}", template_name(template));
        }
    }
}

#[test]
fn every_template_loads_clean_with_names_that_need_quoting() {
    for (template, copy_and_sync) in ALL.iter().flat_map(|t| [(*t, false), (*t, true)]) {
        let mut v = values(
            "billing.Order Items",
            "weird\"name",
            "select",
            "numeric(12,2)",
            // Valid SQL (`check` parses it) that needs TOML escapes: quotes and a backslash.
            Some("'it''s' || \"quoted\" || ' \\ here'"),
        );
        v.copy_and_sync = copy_and_sync;
        let text = render(template, "odd-names_2", "plans/0001_test.toml", &v).unwrap();
        assert!(loads_clean(&text) >= 1, "{}", template_name(template));
    }
}

#[test]
fn templates_use_the_steps_the_pattern_needs() {
    let ops = |template: Template, v: &Values| -> Vec<String> {
        let text = render(template, "rename", "plans/0001_test.toml", v).unwrap();
        let loaded = load_str(Path::new("x.toml"), &text);
        loaded
            .plan
            .unwrap()
            .steps
            .iter()
            .map(|s| format!("{}:{}", s.phase, s.op.name()))
            .collect()
    };
    let mut v = values("users", "name", "full_name", "text", None);
    assert_eq!(
        ops(Template::RenameColumn, &v),
        ["expand:version", "contract:rename_column"]
    );
    assert_eq!(
        ops(Template::ChangeType, &v),
        [
            "expand:add_column",
            "expand:sync_column",
            "expand:version",
            "backfill:backfill",
            "contract:change_type"
        ]
    );
    v.from = None;
    assert_eq!(
        ops(Template::AddNotNull, &v),
        ["switch:guard", "contract:set_not_null"],
        "without --from, a guard only"
    );
    v.copy_and_sync = true;
    assert_eq!(
        ops(Template::RenameColumn, &v),
        [
            "expand:add_column",
            "expand:sync_column",
            "backfill:backfill",
            "switch:guard",
            "contract:drop_sync",
            "contract:set_not_null",
            "contract:drop_column"
        ]
    );
}

#[test]
fn add_column_without_from_only_adds_the_column() {
    let v = Values {
        table: Some("users".into()),
        column: Some("nickname".into()),
        type_: Some("text".into()),
        ..Values::default()
    };
    let text = render(Template::AddColumn, "nickname", "plans/0001_test.toml", &v).unwrap();
    assert_eq!(loads_clean(&text), 1);
}

#[test]
fn change_type_defaults_to_a_cast() {
    let mut v = values("orders", "total_amount", "total", "numeric(12,2)", None);
    let text = render(Template::ChangeType, "t", "plans/0001_test.toml", &v).unwrap();
    assert!(
        text.contains("using = \"CAST(total_amount AS numeric(12,2))\""),
        "{text}"
    );
    v.copy_and_sync = true;
    let text = render(Template::ChangeType, "t", "plans/0001_test.toml", &v).unwrap();
    assert!(
        text.contains("from = \"CAST(total_amount AS numeric(12,2))\""),
        "{text}"
    );
}

#[test]
fn add_index_splits_columns() {
    let v = values("orders", "user_id, created_at", "", "", None);
    let text = render(Template::AddIndex, "idx", "plans/0001_test.toml", &v).unwrap();
    assert!(
        text.contains("columns = [\"user_id\", \"created_at\"]"),
        "{text}"
    );
    assert_eq!(loads_clean(&text), 1);
}

#[test]
fn a_missing_value_is_named() {
    let v = Values {
        table: Some("users".into()),
        column: Some("name".into()),
        ..Values::default()
    };
    assert_eq!(
        render(Template::RenameColumn, "r", "plans/0001_test.toml", &v),
        Err(Field::To)
    );
    assert!(render(Template::AddNotNull, "r", "plans/0001_test.toml", &v).is_ok());
    assert_eq!(
        render(
            Template::AddColumn,
            "r",
            "plans/0001_test.toml",
            &Values::default()
        ),
        Err(Field::Table)
    );
    assert!(render(Template::AddIndex, "r", "plans/0001_test.toml", &v).is_ok());
}

#[test]
fn required_fields_match_what_render_needs() {
    for (template, copy_and_sync) in ALL.iter().flat_map(|t| [(*t, false), (*t, true)]) {
        let mut v = Values {
            copy_and_sync,
            ..Values::default()
        };
        for (field, need) in fields(template, copy_and_sync) {
            if *need == Need::Required {
                v.set(*field, Some("x".into()));
            }
        }
        assert!(
            render(template, "r", "plans/0001_test.toml", &v).is_ok(),
            "{}",
            template_name(template)
        );
    }
}

#[test]
fn values_are_checked() {
    assert!(check_value(Field::Table, "billing.invoices").is_ok());
    assert!(check_value(Field::Table, "a.b.c").is_err());
    assert!(check_value(Field::Table, ".b").is_err());
    assert!(check_value(Field::Column, "a.b").is_err());
    assert!(check_value(Field::Column, "a, b").is_ok());
    assert!(check_value(Field::Column, "a,,b").is_err());
    assert!(check_value(Field::To, "x.y").is_err());
    assert!(check_value(Field::Type, "  ").is_err());
    assert!(check_value(Field::From, "a\nb").is_err());
    assert!(check_value(Field::From, "coalesce(a, b)").is_ok());
}

#[test]
fn identifiers_are_quoted_only_when_needed() {
    assert_eq!(ident("email_verified"), "email_verified");
    assert_eq!(ident("Email"), "\"Email\"");
    assert_eq!(ident("order"), "\"order\"");
    assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
    assert_eq!(ident("1st"), "\"1st\"");
    assert_eq!(table_ident("billing.Invoices"), "billing.\"Invoices\"");
}

#[test]
fn toml_strings_round_trip() {
    for text in [
        "plain",
        "with \"quotes\"",
        "it's",
        "it's \"both\" \\",
        "tab\there",
    ] {
        let doc = format!("v = {}", s(text));
        let parsed: toml::Table = toml::from_str(&doc).unwrap();
        assert_eq!(parsed["v"].as_str(), Some(text), "{doc}");
    }
}

#[test]
fn templates_snapshot() {
    let cases = [
        (
            Template::AddColumn,
            values(
                "users",
                "email_verified",
                "",
                "boolean",
                Some("verified_at IS NOT NULL"),
            ),
        ),
        (
            Template::RenameColumn,
            values("users", "name", "full_name", "text", None),
        ),
        (
            Template::ChangeType,
            values(
                "orders",
                "total_amount",
                "total",
                "numeric(12,2)",
                Some("total_amount / 100.0"),
            ),
        ),
        (
            Template::AddNotNull,
            values("users", "email", "", "", Some("''")),
        ),
        (
            Template::AddIndex,
            values("orders", "user_id", "", "", None),
        ),
    ];
    for (template, mut v) in cases {
        // The copy-and-sync forms (SQLite, MySQL) under the template's name.
        v.copy_and_sync = true;
        let text = render(template, "example", "plans/0001_test.toml", &v).unwrap();
        insta::assert_snapshot!(template_name(template), text);
        if matches!(template, Template::RenameColumn | Template::ChangeType) {
            v.copy_and_sync = false;
            let text = render(template, "example", "plans/0001_test.toml", &v).unwrap();
            insta::assert_snapshot!(format!("{}-postgres", template_name(template)), text);
        }
    }
    let guard_only = values("users", "email", "", "", None);
    let text = render(
        Template::AddNotNull,
        "example",
        "plans/0001_test.toml",
        &guard_only,
    )
    .unwrap();
    insta::assert_snapshot!("add-not-null-guard-only", text);
}

#[test]
fn mysql_templates_compare_with_the_null_safe_equal() {
    let mut v = values("orders", "total_amount", "total", "decimal(12,2)", None);
    v.copy_and_sync = true;
    v.mysql = true;
    for template in [Template::RenameColumn, Template::ChangeType] {
        let text = render(template, "t", "plans/0001_test.toml", &v).unwrap();
        assert!(text.contains("NOT (total <=> "), "{text}");
        assert!(!text.contains("IS DISTINCT FROM"), "{text}");
        loads_clean(&text);
    }
}
