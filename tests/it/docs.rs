//! The documentation cannot fall behind the code: every operation and every key bellows accepts
//! is documented in `docs/plan-format.md`, and every operation is in README's table.

use std::path::Path;

use bellows::ops::OPS;
use bellows::vocab::reader::{KeyInfo, KeyKind};

fn read(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The text of the section under `heading`, up to the next heading of level 2 or 3.
fn section<'a>(text: &'a str, heading: &str) -> Option<&'a str> {
    let start = text.find(&format!("\n{heading}\n"))? + heading.len() + 2;
    let rest = &text[start..];
    let end = rest
        .find("\n## ")
        .into_iter()
        .chain(rest.find("\n### "))
        .min()
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Every key name, nested keys included, as `parent.child`-free names.
fn key_names(keys: &[KeyInfo]) -> Vec<&'static str> {
    let mut names = Vec::new();
    for key in keys {
        names.push(key.name);
        if let KeyKind::Table_(nested)
        | KeyKind::TableArray(nested)
        | KeyKind::NamesOrTables(nested) = &key.kind
        {
            names.extend(key_names(nested));
        }
    }
    names
}

#[test]
fn every_operation_and_key_is_in_the_plan_format_page() {
    let page = read("docs/plan-format.md");
    let mut missing = Vec::new();
    for spec in OPS {
        let heading = if spec.name == "backfill" {
            "### backfill step".to_string()
        } else {
            format!("### `{}`", spec.name)
        };
        let Some(text) = section(&page, &heading) else {
            missing.push(format!("no section `{heading}`"));
            continue;
        };
        for key in key_names(&(spec.keys)()) {
            if !text.contains(&format!("`{key}`")) {
                missing.push(format!("{}: key `{key}`", spec.name));
            }
        }
        for phase in spec.phases {
            let phases = section(&page, "## Phases and the operations they allow").unwrap();
            let row = phases
                .lines()
                .find(|line| line.starts_with(&format!("| `{phase}` |")))
                .unwrap_or_else(|| panic!("no row for {phase}"));
            let listed = if spec.name == "backfill" {
                "backfill steps".to_string()
            } else {
                format!("`{}`", spec.name)
            };
            if !row.contains(&listed) {
                missing.push(format!(
                    "{} is allowed in {phase} but not listed there",
                    spec.name
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/plan-format.md is missing:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_operation_is_in_the_readme_table() {
    let readme = read("README.md");
    for spec in OPS.iter().filter(|spec| spec.name != "backfill") {
        assert!(
            readme.contains(&format!("| `{}` |", spec.name)),
            "README.md's operations table has no row for `{}`",
            spec.name
        );
    }
}

#[test]
fn every_environment_variable_is_in_the_readme_table() {
    let readme = read("README.md");
    for var in bellows::vocab::env::ALL {
        assert!(
            readme.contains(&format!("| `{}` | ", var.name)),
            "README.md's table of environment variables has no row for `{}`",
            var.name
        );
    }
}

#[test]
fn the_readme_test_command_is_the_one_ci_runs() {
    let readme = read("README.md");
    let ci = read(".ci/run");
    let command = "cargo test --locked";
    assert!(
        readme.contains(&format!("```sh\n{command}\n```")),
        "README.md must show `{command}`"
    );
    assert_eq!(
        ci.lines().last(),
        Some(command),
        ".ci/run must end with `{command}`"
    );
}

/// The PostgreSQL quick start creates the example tables in one command, as README writes it.
#[test]
fn the_postgres_quick_start_creates_the_example_tables() {
    use crate::harness::{PostgresDb, TestDb};
    let readme = read("README.md");
    let line = readme
        .lines()
        .find(|l| l.starts_with("psql \"$DATABASE_URL\" -f fixtures/postgres/schema.sql"))
        .expect("README's quick start creates the example tables with psql");
    let command = line.split('#').next().unwrap().trim();
    let db = PostgresDb::new();
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("{command} -q -v ON_ERROR_STOP=1 >/dev/null")])
        .env("DATABASE_URL", db.url())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("sh runs psql");
    assert!(status.success(), "{command}");
    assert_eq!(db.count("users"), 100_000);
    assert_eq!(db.count("orders"), 50_000);
}
