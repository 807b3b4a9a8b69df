//! Confirmation before `contract`: refused without a terminal unless `--yes`; asked (default
//! No) on a pseudo-terminal.

use std::io::Write;
use std::process::Stdio;

use crate::harness::{env, Cli, Output, Plans, TestDb};

const PLAN: &str = r#"
[[expand]]
op = "sql"
up = "CREATE TABLE expanded (id int)"
down = "DROP TABLE expanded"

[[contract]]
op = "sql"
up = "CREATE TABLE contracted (id int)"
down = "DROP TABLE contracted"
"#;

backend_test!(
    fn without_a_terminal_apply_stops_before_contract_and_exits_2(db) {
    let plans = Plans::new();
    let plan = plans.write("0001_c.toml", PLAN);
    Cli::apply(db)
        .plan(&plan)
        .code(2)
        .stderr_has("--yes")
        .stderr_has("applied expand")
        .run();
    assert!(db.table_exists("expanded"));
    assert!(!db.table_exists("contracted"));
    assert_eq!(
        db.ledger_states("0001_c"),
        ["expand/0=applied", "contract/0=pending"]
    );

    Cli::apply(db).yes().plan(&plan).run();
    assert!(db.table_exists("contracted"));
}
);

/// Runs `bellows apply` on a pseudo-terminal made by `script`, typing `keys` at the prompt.
fn apply_on_a_terminal(
    db: &dyn TestDb,
    plan: &std::path::Path,
    keys: &str,
) -> (Option<i32>, String) {
    let bin = assert_cmd::cargo::cargo_bin("bellows");
    let command = format!(
        "{} apply -d '{}' '{}'",
        bin.display(),
        db.url(),
        plan.display()
    );
    let mut script = std::process::Command::new("script");
    env::clean(&mut script);
    let mut child = script
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs the command on a pseudo-terminal");
    let mut stdin = child.stdin.take().unwrap();
    // Give the prompt time to appear, then answer.
    std::thread::sleep(std::time::Duration::from_secs(2));
    stdin.write_all(keys.as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    drop(stdin);
    let out = Output::from(child.wait_with_output().unwrap());
    (out.code, out.to_string())
}

backend_test!(
    fn on_a_terminal_apply_asks_before_contract_and_no_stops(db) {
    let plans = Plans::new();
    let plan = plans.write("0001_c.toml", PLAN);
    let (code, text) = apply_on_a_terminal(db, &plan, "n");
    assert!(text.contains("Apply the contract phase"), "{text}");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("not confirmed"), "{text}");
    assert!(db.table_exists("expanded"));
    assert!(!db.table_exists("contracted"));
});

backend_test!(
    fn on_a_terminal_yes_applies_contract(db) {
    let plans = Plans::new();
    let plan = plans.write("0001_c.toml", PLAN);
    let (code, text) = apply_on_a_terminal(db, &plan, "y");
    assert!(text.contains("Apply the contract phase"), "{text}");
    assert_eq!(code, Some(0), "{text}");
    assert!(db.table_exists("contracted"), "{text}");
    assert_eq!(
        db.ledger_states("0001_c"),
        ["expand/0=applied", "contract/0=applied"]
    );
});

backend_test!(
    fn the_contract_prompt_lists_each_step_and_ctrl_c_there_exits_130(db) {
    let plans = Plans::new();
    let plan = plans.write("0001_c.toml", PLAN);
    let (code, text) = apply_on_a_terminal(db, &plan, "\x03");
    assert!(text.contains("It runs:"), "{text}");
    assert!(text.contains("1. sql CREATE TABLE contracted"), "{text}");
    assert_eq!(
        text.matches("is destructive").count(),
        1,
        "the list is printed once: {text}"
    );
    assert_eq!(code, Some(130), "{text}");
    assert!(db.table_exists("expanded"));
    assert!(!db.table_exists("contracted"));
    assert_eq!(
        db.ledger_states("0001_c"),
        ["expand/0=applied", "contract/0=pending"]
    );
});
