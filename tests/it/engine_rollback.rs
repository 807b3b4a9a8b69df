//! `rollback`: reverse order, `--to`, refusal before any change when an irreversible step is in
//! the way, confirmation.

use crate::common::{bellows, output_text, Plans, ScratchDb};

const WITH_IRREVERSIBLE: &str = r#"
[[expand]]
op = "sql"
up = "CREATE TABLE kept (id int)"
down = "DROP TABLE kept"

[[switch]]
op = "sql"
up = "CREATE TABLE switched (id int)"
down = "DROP TABLE switched"

[[contract]]
op = "sql"
up = "CREATE TABLE forever (id int)"
"#;

#[test]
fn rollback_refuses_before_changing_anything_when_an_irreversible_step_is_in_the_way() {
    let db = ScratchDb::new();
    let plans = Plans::new();
    let plan = plans.write("0001_mixed.toml", WITH_IRREVERSIBLE);
    bellows()
        .args(["apply", "--yes", "-d", &db.url])
        .arg(&plan)
        .assert()
        .code(0);
    let before = db.ledger_states("0001_mixed");

    let out = bellows()
        .args(["rollback", "--yes", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("step 1 of contract"), "{stderr}");
    assert!(stderr.contains("irreversible"), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert!(db.table_exists("kept") && db.table_exists("switched") && db.table_exists("forever"));
    assert_eq!(db.ledger_states("0001_mixed"), before);

    // --to switch would pass the irreversible contract step too: refused as well.
    let out = bellows()
        .args(["rollback", "--yes", "--to", "switch", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(db.table_exists("switched"));
}

#[test]
fn rollback_to_a_phase_undoes_only_that_phase_and_later_ones() {
    let db = ScratchDb::new();
    let plans = Plans::new();
    let plan = plans.write(
        "0001_phases.toml",
        &WITH_IRREVERSIBLE.replace(
            "up = \"CREATE TABLE forever (id int)\"",
            "up = \"CREATE TABLE forever (id int)\"\ndown = \"DROP TABLE forever\"",
        ),
    );
    bellows()
        .args(["apply", "--yes", "-d", &db.url])
        .arg(&plan)
        .assert()
        .code(0);
    let out = bellows()
        .args(["rollback", "--yes", "--to", "switch", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(db.table_exists("kept"));
    assert!(!db.table_exists("switched"));
    assert!(!db.table_exists("forever"));
    assert_eq!(
        db.ledger_states("0001_phases"),
        [
            "expand/0=applied",
            "switch/0=rolled_back",
            "contract/0=rolled_back"
        ]
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let contract = stdout
        .find("undid sql CREATE TABLE forever")
        .expect(&stdout);
    let switch = stdout
        .find("undid sql CREATE TABLE switched")
        .expect(&stdout);
    assert!(contract < switch, "last first: {stdout}");

    // Nothing left after switch: a second rollback to switch has nothing to do.
    let out = bellows()
        .args(["rollback", "--yes", "--to", "switch", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to do"));
}

#[test]
fn rollback_without_a_terminal_needs_yes_and_changes_nothing() {
    let db = ScratchDb::new();
    let plans = Plans::new();
    let plan = plans.write(
        "0001_small.toml",
        "[[expand]]\nop = \"sql\"\nup = \"CREATE TABLE small (id int)\"\ndown = \"DROP TABLE small\"\n",
    );
    bellows()
        .args(["apply", "-d", &db.url])
        .arg(&plan)
        .assert()
        .code(0);
    let out = bellows()
        .args(["rollback", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert!(db.table_exists("small"));
    assert_eq!(db.ledger_states("0001_small"), ["expand/0=applied"]);
}

#[test]
fn rollback_of_a_database_without_a_ledger_has_nothing_to_do_and_creates_nothing() {
    let db = ScratchDb::new();
    let plans = Plans::new();
    let plan = plans.write(
        "0001_small.toml",
        "[[expand]]\nop = \"sql\"\nup = \"CREATE TABLE small (id int)\"\ndown = \"DROP TABLE small\"\n",
    );
    let out = bellows()
        .args(["rollback", "--yes", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to do"));
    assert!(!db.ledger_exists());
}
