//! `bellows new`: numbered plans from templates, values from flags or a terminal, and refusals.

use std::path::Path;

use bellows::plan::load::load_file;

use crate::harness::Cli;

/// `bellows` run in `dir`, in the harness's clean environment.
fn bellows(dir: &Path) -> Cli {
    Cli::new(std::iter::empty::<&str>()).current_dir(dir)
}

/// Asserts the plan at `path` loads with no error and no warning.
fn loads_clean(path: &Path) {
    let loaded = load_file(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        loaded.diagnostics.is_empty(),
        "{} has findings: {:#?}\n{}",
        path.display(),
        loaded.diagnostics,
        loaded.source.text
    );
}

const TEMPLATES: [(&str, &[&str]); 5] = [
    (
        "add-column",
        &[
            "--table",
            "users",
            "--column",
            "email_verified",
            "--type",
            "boolean",
            "--from",
            "verified_at IS NOT NULL",
        ],
    ),
    (
        "rename-column",
        &["--table", "users", "--column", "name", "--to", "full_name"],
    ),
    (
        "change-type",
        &[
            "--table",
            "orders",
            "--column",
            "total_amount",
            "--type",
            "numeric(12,2)",
        ],
    ),
    (
        "add-not-null",
        &["--table", "users", "--column", "email", "--from", "''"],
    ),
    (
        "add-index",
        &["--table", "orders", "--column", "user_id,created_at"],
    ),
];

#[test]
fn every_template_writes_the_next_numbered_plan_and_it_loads_clean() {
    let dir = tempfile::tempdir().unwrap();
    for (number, (template, flags)) in TEMPLATES.iter().enumerate() {
        let name = format!("plan_{}", template.replace('-', "_"));
        let expected = format!("plans/{:04}_{name}.toml", number + 1);
        bellows(dir.path())
            .args(["new", &name, "--template", template])
            .args(*flags)
            .stdout_is(&format!("{expected}\n"))
            .run();
        loads_clean(&dir.path().join(&expected));
    }
    // The command a newcomer runs next: every template's plan passes `check --deny-warnings`
    // and `plan` explains it on both dialects.
    bellows(dir.path())
        .args(["check", "--deny-warnings", "plans"])
        .stdout_has("checked 5 plans")
        .run();
    for entry in std::fs::read_dir(dir.path().join("plans")).unwrap() {
        let path = entry.unwrap().path();
        bellows(dir.path())
            .args(["plan", "--dialect", "postgres"])
            .arg(&path)
            .run();
        // Renames and type changes with no copy need PostgreSQL's version schemas: SQLite and
        // MySQL refuse them, naming the copy-and-sync way.
        let versioned = ["rename_column", "change_type"]
            .iter()
            .any(|t| path.to_string_lossy().contains(t));
        for dialect in ["sqlite", "mysql"] {
            let check = bellows(dir.path())
                .args(["check", "--dialect", dialect])
                .arg(&path);
            if versioned {
                check
                    .code(2)
                    .stdout_has("has no schemas of views")
                    .stdout_has(&format!("--dialect {dialect}`"))
                    .run();
            } else if dialect == "sqlite" {
                check.run();
            }
        }
    }
    // The copy-and-sync forms for SQLite and MySQL, which need the new column and its type.
    for (template, flags) in &TEMPLATES[1..3] {
        let name = format!("sqlite_{}", template.replace('-', "_"));
        bellows(dir.path())
            .args(["new", &name, "--template", template, "--dialect", "sqlite"])
            .args(*flags)
            .code(2)
            .stderr_has("template needs --")
            .run();
        let missing: &[&str] = if *template == "rename-column" {
            &["--type", "text"]
        } else {
            &["--new-column", "total"]
        };
        bellows(dir.path())
            .args(["new", &name, "--template", template, "--dialect", "sqlite"])
            .args(*flags)
            .args(missing)
            .run();
    }
    bellows(dir.path())
        .args(["check", "--deny-warnings", "--dialect", "sqlite"])
        .arg(dir.path().join("plans/0006_sqlite_rename_column.toml"))
        .arg(dir.path().join("plans/0007_sqlite_change_type.toml"))
        .run();
}

#[test]
fn numbering_follows_the_highest_existing_plan_and_dir_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let plans = dir.path().join("db/plans");
    std::fs::create_dir_all(&plans).unwrap();
    std::fs::write(plans.join("0041_old.toml"), "").unwrap();
    std::fs::write(plans.join("notes.toml"), "").unwrap();
    bellows(dir.path())
        .args([
            "new",
            "next",
            "--dir",
            "db/plans",
            "--template",
            "add-index",
            "--table",
            "t",
            "--column",
            "c",
        ])
        .stdout_is("db/plans/0042_next.toml\n")
        .run();
    loads_clean(&plans.join("0042_next.toml"));

    bellows(dir.path())
        .args([
            "new",
            "fresh",
            "--dir",
            "elsewhere/deep",
            "--template",
            "add-index",
            "--table",
            "t",
            "--column",
            "c",
        ])
        .stdout_is("elsewhere/deep/0001_fresh.toml\n")
        .run();
}

#[test]
fn without_a_terminal_missing_values_name_the_flags_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    bellows(dir.path())
        .args([
            "new",
            "rename",
            "--template",
            "rename-column",
            "--table",
            "users",
        ])
        .code(2)
        .stdout_is("")
        .stderr_has("the rename-column template needs --column and --new-column")
        .run();
    bellows(dir.path())
        .args([
            "new",
            "rename",
            "--template",
            "rename-column",
            "--table",
            "users",
        ])
        .args(["--dialect", "mysql"])
        .code(2)
        .stderr_has("the rename-column template needs --column, --new-column and --type")
        .run();
    assert!(!dir.path().join("plans").exists(), "nothing may be written");
}

#[test]
fn add_column_without_from_writes_a_plan_that_only_adds_the_column() {
    let dir = tempfile::tempdir().unwrap();
    bellows(dir.path())
        .args([
            "new", "nickname", "--table", "users", "--column", "nickname", "--type", "text",
        ])
        .run();
    let path = dir.path().join("plans/0001_nickname.toml");
    loads_clean(&path);
    let plan = load_file(&path).unwrap().plan.unwrap();
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(plan.steps[0].op.name(), "add_column");
}

#[test]
fn a_name_already_used_is_refused_and_nothing_is_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "new",
        "idx",
        "--template",
        "add-index",
        "--table",
        "t",
        "--column",
        "c",
    ];
    bellows(dir.path()).args(args).run();
    let first = std::fs::read_to_string(dir.path().join("plans/0001_idx.toml")).unwrap();
    bellows(dir.path())
        .args(args)
        .code(2)
        .stderr_has("plans/0001_idx.toml already has the name `idx`")
        .run();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("plans/0001_idx.toml")).unwrap(),
        first
    );
    assert!(!dir.path().join("plans/0002_idx.toml").exists());
}

#[test]
fn unsafe_names_and_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["../escape", "a/b", "with space", "dot.name", ""] {
        bellows(dir.path())
            .args([
                "new",
                name,
                "--template",
                "add-index",
                "--table",
                "t",
                "--column",
                "c",
            ])
            .code(2)
            .stderr_has("cannot be a plan name")
            .run();
    }
    bellows(dir.path())
        .args([
            "new",
            "r",
            "--template",
            "rename-column",
            "--table",
            "a.b.c",
            "--column",
            "x",
            "--to",
            "y",
            "--type",
            "text",
        ])
        .code(2)
        .stderr_has("must be `table` or `schema.table`")
        .run();
    bellows(dir.path())
        .args([
            "new",
            "r",
            "--template",
            "rename-column",
            "--table",
            "t",
            "--column",
            "x",
            "--to",
            "x",
            "--type",
            "text",
        ])
        .code(2)
        .stderr_has("--new-column must differ from --column")
        .run();
    assert!(!dir.path().join("plans").exists(), "nothing may be written");
}

#[test]
fn names_that_need_quoting_make_plans_that_load_clean() {
    let dir = tempfile::tempdir().unwrap();
    bellows(dir.path())
        .args([
            "new",
            "odd",
            "--template",
            "rename-column",
            "--table",
            "billing.Order Items",
        ])
        .args([
            "--column",
            "weird\"name",
            "--to",
            "select",
            "--type",
            "text",
            "--dialect",
            "sqlite",
        ])
        .run();
    let path = dir.path().join("plans/0001_odd.toml");
    loads_clean(&path);
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains(r#"'SELECT count(*) FROM billing."Order Items" WHERE "select" IS DISTINCT FROM "weird""name"'"#),
        "{text}"
    );
}

/// On a terminal, missing values are asked for. `script` (util-linux) gives the command a
/// pseudo-terminal and types the answers.
#[test]
fn on_a_terminal_missing_values_are_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let binary = assert_cmd::cargo::cargo_bin("bellows");
    let command = format!(
        "'{}' new asked --template change-type --table orders",
        binary.display()
    );
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir.path())
        .env("TERM", "dumb")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            // column, new type, conversion (empty: the default CAST)
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"total_amount\rnumeric(12,2)\r\r")?;
            child.wait_with_output()
        })
        .expect("`script` (util-linux) runs the command on a pseudo-terminal; install util-linux");
    let transcript = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{transcript}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        transcript.contains("Column whose type changes"),
        "{transcript}"
    );
    let path = dir.path().join("plans/0001_asked.toml");
    loads_clean(&path);
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains(r#"using = "CAST(total_amount AS numeric(12,2))""#),
        "{text}"
    );
    assert!(text.contains(r#"op = "change_type""#), "{text}");
}

/// Runs `bellows ARGS` in `dir` on a pseudo-terminal (`script`), typing `keys`.
fn on_a_terminal(dir: &Path, args: &str, keys: &[u8]) -> (bool, String) {
    let binary = assert_cmd::cargo::cargo_bin("bellows");
    let command = format!("'{}' {args}", binary.display());
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .env("TERM", "dumb")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(keys)?;
            child.wait_with_output()
        })
        .expect("`script` (util-linux) runs the command on a pseudo-terminal; install util-linux");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
    )
}

/// On a terminal, `new` asks for the name and the template (a menu, add-column first), and a
/// type that does not parse is asked again.
#[test]
fn on_a_terminal_the_name_and_the_template_are_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    // name; the menu's third entry (change-type); table, column, type (a bad one first), no
    // conversion.
    let (ok, transcript) = on_a_terminal(
        dir.path(),
        "new",
        b"users_nick\r\x1b[B\x1b[B\rusers\rname\rvarchar(32\rvarchar(32)\r\r",
    );
    assert!(ok, "{transcript}");
    assert!(transcript.contains("Plan name"), "{transcript}");
    assert!(transcript.contains("Template"), "{transcript}");
    assert!(transcript.contains("add-column"), "{transcript}");
    assert!(transcript.contains("does not parse"), "{transcript}");
    let path = dir.path().join("plans/0001_users_nick.toml");
    loads_clean(&path);
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("change_type"), "{text}");
    assert!(text.contains("varchar(32)"), "{text}");
}

#[test]
fn a_type_that_does_not_parse_is_refused_with_a_caret_and_to_is_still_accepted() {
    let dir = tempfile::tempdir().unwrap();
    bellows(dir.path())
        .args([
            "new",
            "x",
            "--table",
            "users",
            "--column",
            "age",
            "--type",
            "varchar(32",
        ])
        .code(2)
        .stderr_has("--type `varchar(32` does not parse")
        .stderr_has("^")
        .run();
    bellows(dir.path())
        .args([
            "new",
            "r",
            "--template",
            "rename-column",
            "--table",
            "t",
            "--column",
            "a",
        ])
        .args(["--to", "b", "--type", "text"])
        .run();
    bellows(dir.path())
        .args([
            "new",
            "c",
            "--template",
            "change-type",
            "--table",
            "t",
            "--column",
            "a",
        ])
        .args(["--new-column", "b", "--type", "bigint"])
        .run();
    // Without a terminal, a missing name says how to give one.
    bellows(dir.path())
        .args(["new", "--table", "t"])
        .code(2)
        .stderr_has("needs a NAME")
        .run();
}
