//! Loading and checking plans: the fixture corpus (`tests/plans/{ok,warn,err}`), a plan loader
//! that never panics, and the `bellows check` command.

use std::collections::BTreeSet;

use bellows::ops::OPS;
use bellows::plan::load::load_str;
use bellows::plan::render::{locate, render_with};
use serde_json::Value;

use crate::harness::{check_err, check_ok, fixtures, rendered, stem, Cli};

/// The codes a fixture promises with `# expect: code` lines.
fn expected_codes(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# expect: "))
        .map(|code| code.trim().to_string())
        .collect()
}

#[test]
fn every_err_fixture_reports_the_errors_it_is_named_for() {
    for path in fixtures("tests/plans/err") {
        let loaded = check_err(&path);
        let expected = expected_codes(&loaded.source.text);
        assert!(
            !expected.is_empty(),
            "{} has no `# expect: code` line",
            path.display()
        );
        let found: BTreeSet<&str> = loaded.diagnostics.iter().map(|d| d.code.as_str()).collect();
        for code in &expected {
            assert!(
                found.contains(code.as_str()),
                "{}: expected a `{code}` finding, found {found:?}:\n{}",
                path.display(),
                rendered(&loaded)
            );
        }
        insta::assert_snapshot!(format!("err__{}", stem(&path)), rendered(&loaded));
    }
}

#[test]
fn every_ok_fixture_loads() {
    for path in fixtures("tests/plans/ok") {
        let loaded = check_ok(&path);
        insta::assert_snapshot!(format!("ok__{}", stem(&path)), rendered(&loaded));
    }
}

#[test]
fn every_warn_fixture_loads_with_a_warning() {
    for path in fixtures("tests/plans/warn") {
        let loaded = check_ok(&path);
        assert!(loaded.has_warnings(), "{} should warn", path.display());
        insta::assert_snapshot!(format!("warn__{}", stem(&path)), rendered(&loaded));
    }
}

#[test]
fn the_ok_fixtures_use_every_operation() {
    let mut used = BTreeSet::new();
    for path in fixtures("tests/plans/ok") {
        let plan = check_ok(&path).plan.unwrap();
        used.extend(plan.steps.iter().map(|s| s.op.name()));
    }
    let all: BTreeSet<&str> = OPS.iter().map(|spec| spec.name).collect();
    let missing: Vec<_> = all.difference(&used).collect();
    assert!(missing.is_empty(), "no ok fixture uses {missing:?}");
}

#[test]
fn several_mistakes_in_one_file_are_all_reported() {
    let path = std::path::Path::new("tests/plans/err/many_errors.toml");
    let loaded = check_err(path);
    let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
    assert!(errors >= 9, "only {errors} errors:\n{}", rendered(&loaded));
    // Reported in file order, each with its own line.
    let lines: Vec<usize> = loaded
        .diagnostics
        .iter()
        .map(|d| locate(&loaded.source, d).line)
        .collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
}

#[test]
fn a_plan_named_by_its_file_stem_unless_it_says_otherwise() {
    let named = check_ok(std::path::Path::new("tests/plans/ok/email_verified.toml"));
    assert_eq!(named.plan.unwrap().name, "users_email_verified");
    let unnamed = check_ok(std::path::Path::new("tests/plans/ok/rename_column.toml"));
    assert_eq!(unnamed.plan.unwrap().name, "rename_column");
}

// ---------------------------------------------------------------- never panic

/// A small deterministic generator, so that a failure can be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ODD_INPUTS: &[&str] = &[
    "",
    "\n\n\n",
    "=",
    "[[",
    "]]",
    "[[expand]]",
    "[[expand]]\nop = \"\"",
    "[[expand]]\nop = \"   \"",
    "expand = 5",
    "expand = []",
    "expand = [1, \"x\", {}, []]",
    "backfill = [{}]",
    "[[backfill]]\nset = { a = { b = 1 } }",
    "[[backfill]]\ntable = \"t\"\nset = { a = \"x\" }\nkey = [[]]",
    "[[backfill]]\ntable = \"t\"\nset = { a = \"x\" }\npause = \"99999999999999999999999h\"",
    "[[backfill]]\ntable = \"t\"\nset = { a = \"x\" }\npause = \"1.99999999999999999999999999s\"",
    "[[backfill]]\ntable = \"t\"\nset = { a = \"x\" }\nbatch_size = 99999999999999999999",
    "[[switch]]\nop = \"guard\"\nexpect = 0x7fffffffffffffff\nquery = \"x\"",
    "[[switch]]\nop = \"guard\"\nexpect = 1979-05-27T07:32:00Z\nquery = \"x\"",
    "[settings]\nlock_retries = 99999999999",
    "settings = 1",
    "settings = []",
    "[[settings]]",
    "\u{feff}[[expand]]\nop = \"add_column\"",
    "[[expand]]\r\nop = \"add_column\"\r\ntable = \"t\"\r\n",
    "[[expand]]\nop = \"add_column\"\ntable = \"\u{0}\"\ncolumn = \"é\u{301}\"\ntype = \"🦀\"",
    "[[expand]]\nop = \"create_table\"\ntable = \"t\"\ncolumns = [{}]",
    "[[expand]]\nop = \"create_table\"\ntable = \"t\"\ncolumns = [[1]]\nprimary_key = []",
    "[[expand]]\nop = \"add_foreign_key\"\ntable = \"t\"\ncolumns = \"a\"\nreferences = \"x\"",
    "[[expand]]\nop = \"sync_column\"\ntable = \"t\"\ncolumn = \"a\"\nfrom = \"a\"\nreverse = { column = \"a\" }",
    "[[contract]]\nop = \"drop_index\"\nname = \"a.b\"\ntable = \"...\"",
    "[[contract]]\nop = \"guard\"\nnull_count = \"a.b.c.d\"",
    "a.b.c.d.e = 1",
    "\"\" = 1",
    "[[expand]]\n\"op\" = 'sql'\nup = '''\n\n'''",
    "x = \"\\u00\"",
];

/// Loads, lints, renders and plans `text`; all that matters is that nothing panics.
fn exercise(text: &str) {
    let loaded = load_str(std::path::Path::new("fuzz.toml"), text);
    for diagnostic in &loaded.diagnostics {
        render_with(&loaded.source, diagnostic, true);
        render_with(&loaded.source, diagnostic, false);
        locate(&loaded.source, diagnostic);
    }
    if let Some(plan) = &loaded.plan {
        for kind in [
            bellows::dialect::DialectKind::Postgres,
            bellows::dialect::DialectKind::Sqlite,
        ] {
            let _ = bellows::dialect::plan_steps(plan, kind.dialect());
        }
    }
}

#[test]
fn loading_never_panics_on_odd_input() {
    for text in ODD_INPUTS {
        exercise(text);
    }
    let deep = format!("x = {}{}", "[".repeat(5000), "]".repeat(5000));
    exercise(&deep);
    let long_line = format!("[[expand]]\nop = \"{}\"", "x".repeat(100_000));
    exercise(&long_line);
}

#[test]
fn loading_never_panics_on_truncated_or_mutated_plans() {
    let mut texts: Vec<String> = Vec::new();
    for dir in ["tests/plans/ok", "tests/plans/err", "tests/plans/warn"] {
        for path in fixtures(dir) {
            texts.push(std::fs::read_to_string(path).unwrap());
        }
    }
    texts.push(std::fs::read_to_string("tests/plans/reference.toml").unwrap());
    let pieces = [
        "[", "]", "[[", "]]", "{", "}", "=", "\"", "'", "'''", "\"\"\"", "#", ".", ",", "\n", " ",
        "op", "expand", "backfill", "switch", "contract", "settings", "\\", "é", "🦀", "-", "0",
        "true", "\"ms\"",
    ];
    let mut rng = Rng(0x5eed_b311_0575);
    for text in &texts {
        // Every truncation.
        for (at, _) in text.char_indices() {
            exercise(&text[..at]);
        }
        // Random edits on characters, so the text stays UTF-8.
        for _ in 0..150 {
            let mut chars: Vec<char> = text.chars().collect();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(chars.len() + 1);
                match rng.below(3) {
                    0 if at < chars.len() => {
                        let end = (at + 1 + rng.below(12)).min(chars.len());
                        chars.drain(at..end);
                    }
                    1 => {
                        let piece = pieces[rng.below(pieces.len())];
                        chars.splice(at..at, piece.chars());
                    }
                    _ => {
                        let from = rng.below(chars.len().max(1));
                        let end = (from + rng.below(40)).min(chars.len());
                        let copy: Vec<char> = chars[from..end].to_vec();
                        chars.splice(at..at, copy);
                    }
                }
            }
            exercise(&chars.into_iter().collect::<String>());
        }
    }
}

#[test]
fn a_file_that_is_not_utf8_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.toml");
    std::fs::write(
        &path,
        b"[[expand]]\nop = \"add_column\"\ntable = \"caf\xe9\"\n",
    )
    .unwrap();
    let loaded = bellows::plan::load::load_path(&path);
    assert!(loaded.has_errors());
    assert_eq!(loaded.diagnostics[0].code, "unreadable");
    assert_eq!(locate(&loaded.source, &loaded.diagnostics[0]).line, 3);
    render_with(&loaded.source, &loaded.diagnostics[0], false);
}

// ---------------------------------------------------------------- `bellows check`

#[test]
fn check_exits_0_for_valid_plans_and_lists_the_count() {
    Cli::new(["check", "tests/plans/ok"])
        .stdout_has(&format!(
            "checked {} plans: no problems found",
            fixtures("tests/plans/ok").len()
        ))
        .run();
}

#[test]
fn check_exits_2_for_an_invalid_plan_and_shows_where() {
    Cli::new(["check", "tests/plans/err/unknown_op.toml"])
        .code(2)
        .stdout_has("error[unknown-op]: unknown op `add_colum` in step 1 of [[expand]]")
        .stdout_has("--> tests/plans/err/unknown_op.toml:3:6")
        .stdout_has("did you mean `add_column`?")
        .stdout_has("checked 1 plan: 2 errors; 1 plan is invalid")
        .run();
}

#[test]
fn check_exits_2_when_any_of_several_plans_is_invalid() {
    Cli::new([
        "check",
        "tests/plans/ok/email_verified.toml",
        "tests/plans/err/wrong_phase.toml",
    ])
    .code(2)
    .stdout_has("checked 2 plans: 2 errors; 1 plan is invalid")
    .run();
}

#[test]
fn warnings_pass_unless_denied() {
    Cli::new(["check", "tests/plans/warn/sql_without_down.toml"])
        .stdout_has("warning[irreversible]")
        .stdout_has("checked 1 plan: 1 warning")
        .run();
    Cli::new([
        "check",
        "--deny-warnings",
        "tests/plans/warn/sql_without_down.toml",
    ])
    .code(2)
    .stdout_has("1 warning (denied by --deny-warnings)")
    .run();
    Cli::new(["check", "--deny-warnings", "tests/plans/ok"]).run();
}

#[test]
fn a_directory_means_every_plan_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let ok = std::fs::read_to_string("tests/plans/ok/email_verified.toml").unwrap();
    let bad = std::fs::read_to_string("tests/plans/err/unknown_op.toml").unwrap();
    std::fs::write(dir.path().join("0001_first.toml"), &ok).unwrap();
    std::fs::write(dir.path().join("0002_second.toml"), &bad).unwrap();
    std::fs::write(dir.path().join("README.md"), "not a plan").unwrap();
    Cli::check()
        .arg(dir.path())
        .code(2)
        .stdout_has("checked 2 plans: 2 errors; 1 plan is invalid")
        .stdout_has("0002_second.toml:3:6")
        .run();
}

#[test]
fn a_missing_path_or_an_empty_directory_is_exit_2_with_a_message() {
    Cli::new(["check", "tests/plans/ok/no_such_plan.toml"])
        .code(2)
        .stdout_is("")
        .stderr_has("error: tests/plans/ok/no_such_plan.toml: no such file or directory")
        .run();
    let empty = tempfile::tempdir().unwrap();
    Cli::new(["check"])
        .arg(empty.path())
        .code(2)
        .stderr_has("the directory holds no plan files")
        .run();
    Cli::new(["check"]).code(2).run();
}

#[test]
fn colour_follows_the_terminal_and_no_color() {
    Cli::new(["check", "tests/plans/err/unknown_op.toml"])
        .code(2)
        .stdout_lacks("\u{1b}")
        .run();
    Cli::new(["check", "tests/plans/err/unknown_op.toml"])
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .code(2)
        .stdout_has("\u{1b}[")
        .run();
}

fn check_json(args: &[&str], code: i32) -> Value {
    Cli::new(["check", "--format", "json"])
        .args(args)
        .code(code)
        .run()
        .json()
}

#[test]
fn json_output_has_every_finding_with_its_place() {
    let report = check_json(
        &[
            "tests/plans/err/many_errors.toml",
            "tests/plans/ok/email_verified.toml",
            "tests/plans/warn/sql_without_down.toml",
        ],
        2,
    );
    assert_eq!(report["ok"], false);
    assert_eq!(report["totals"]["plans"], 3);
    assert_eq!(report["totals"]["invalid"], 1);
    assert_eq!(report["totals"]["warnings"], 2);
    let plans = report["plans"].as_array().unwrap();
    assert_eq!(plans.len(), 3);

    let bad = &plans[0];
    assert_eq!(bad["file"], "tests/plans/err/many_errors.toml");
    assert_eq!(bad["valid"], false);
    assert_eq!(bad["name"], Value::Null);
    let findings = bad["findings"].as_array().unwrap();
    assert_eq!(findings.len() as u64, bad["errors"].as_u64().unwrap() + 1);
    let unknown_op = findings.iter().find(|f| f["code"] == "unknown-op").unwrap();
    assert_eq!(unknown_op["file"], "tests/plans/err/many_errors.toml");
    assert_eq!(unknown_op["line"], 25);
    assert_eq!(unknown_op["column"], 6);
    assert_eq!(unknown_op["severity"], "error");
    assert_eq!(
        unknown_op["message"],
        "unknown op `add_colum` in step 2 of [[expand]]"
    );
    assert!(unknown_op["help"]
        .as_str()
        .unwrap()
        .contains("did you mean `add_column`?"));
    let total_errors: u64 = plans.iter().map(|p| p["errors"].as_u64().unwrap()).sum();
    assert_eq!(report["totals"]["errors"], total_errors);

    let good = &plans[1];
    assert_eq!(good["valid"], true);
    assert_eq!(good["name"], "users_email_verified");
    assert_eq!(good["findings"], Value::Array(vec![]));

    let warned = &plans[2];
    assert_eq!(warned["valid"], true);
    assert_eq!(warned["warnings"], 1);
    assert_eq!(warned["findings"][0]["severity"], "warning");
    assert_eq!(warned["findings"][0]["code"], "irreversible");
}

#[test]
fn json_output_of_clean_plans_is_ok() {
    let report = check_json(&["tests/plans/ok"], 0);
    assert_eq!(report["ok"], true);
    assert_eq!(report["totals"]["errors"], 0);
    assert_eq!(report["totals"]["warnings"], 0);
    let report = check_json(&["--deny-warnings", "tests/plans/warn"], 2);
    assert_eq!(report["ok"], false);
    assert_eq!(report["totals"]["invalid"], 0);
}

#[test]
fn check_dialect_refuses_the_steps_that_database_cannot_run() {
    let plans = crate::harness::Plans::new();
    let plan = plans.write(
        "0001_comment.toml",
        r#"
[[expand]]
op = "set_comment"
table = "users"
column = "email"
comment = "where we write to"

[[switch]]
op = "add_check"
table = "users"
name = "users_email_has_at"
check = "email LIKE '%@%'"
"#,
    );
    let plan = plan.to_str().unwrap();
    // Without --dialect nothing depends on the database.
    Cli::new(["check", plan]).run();
    Cli::new(["check", "--dialect", "sqlite", plan])
        .code(2)
        .stdout_has("error[unsupported]: set_comment is not supported on sqlite")
        .stdout_has("checked 1 plan: 1 error")
        .run();
    Cli::new(["check", "--dialect", "mysql", "--dialect", "sqlite", plan])
        .code(2)
        .stdout_has("add_check is not supported on mysql")
        .stdout_has("set_comment is not supported on sqlite")
        .stdout_has("checked 1 plan: 2 errors")
        .run();
    Cli::new(["check", "--dialect", "postgres", plan]).run();
}
