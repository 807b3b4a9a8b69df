//! The plan's own SQL checked through the binary: syntax errors drawn inside the fragment, SQL
//! the offline parser leaves to the database, and the lints of raw `sql` steps.

use crate::harness::Cli;

#[test]
fn a_syntax_error_is_drawn_inside_the_fragment() {
    Cli::new(["check", "tests/plans/err/sql_syntax.toml"])
        .code(2)
        .stdout_has("error[sql-syntax]: the expression in `from` does not parse")
        .stdout_has("--> tests/plans/err/sql_syntax.toml:16:19")
        .stdout_has("error[sql-syntax]: the type in `type` does not parse")
        .stdout_has("warning[sql-syntax]: the SQL in `up` does not parse offline")
        .run();
}

#[test]
fn sql_the_parser_does_not_cover_is_a_note_not_an_error() {
    Cli::new(["check", "tests/plans/ok/sql_not_checked_offline.toml"])
        .stdout_has("note[not-checked-offline]")
        .stdout_has("checked 1 plan: no problems found")
        .run();
}

#[test]
fn each_sql_lint_fires_and_fails_under_deny_warnings() {
    for (fixture, code) in [
        (
            "sql_index_without_concurrently",
            "index-without-concurrently",
        ),
        (
            "sql_constraint_without_not_valid",
            "constraint-without-not-valid",
        ),
        ("sql_set_not_null_directly", "set-not-null-directly"),
        ("sql_table_rewrite", "table-rewrite"),
        ("sql_rename", "rename"),
        ("sql_drop_outside_contract", "drop-outside-contract"),
        ("sql_several_ddl", "several-ddl-in-one-transaction"),
    ] {
        let path = format!("tests/plans/warn/{fixture}.toml");
        Cli::new(["check", &path])
            .stdout_has(&format!("warning[{code}]"))
            .run();
        Cli::new(["check", "--deny-warnings", &path])
            .code(2)
            .stdout_has("(denied by --deny-warnings)")
            .run();
    }
}

#[test]
fn the_safe_forms_pass_the_sql_lints() {
    Cli::new([
        "check",
        "--deny-warnings",
        "tests/plans/ok/sql_safe_ddl.toml",
    ])
    .stdout_has("checked 1 plan: no problems found")
    .run();
}

#[test]
fn plan_refuses_sql_that_does_not_parse() {
    Cli::new(["plan", "tests/plans/err/sql_syntax.toml"])
        .code(2)
        .stderr_has("sql-syntax")
        .run();
}

#[test]
fn a_sql_lint_points_at_its_statement_inside_up() {
    Cli::new(["check", "tests/plans/warn/sql_lint_inside_up.toml"])
        .stdout_has("warning[index-without-concurrently]")
        .stdout_has("--> tests/plans/warn/sql_lint_inside_up.toml:6:3")
        .run();
}
