//! Snapshots of what a person reads from `apply`, `status` and `rollback` (not a terminal),
//! with times, checksums and paths redacted.

use crate::common::{bellows, Plans, ScratchDb};

fn transcript(out: &std::process::Output) -> String {
    format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

macro_rules! assert_transcript {
    ($name:expr, $text:expr, $dir:expr) => {
        insta::with_settings!({
            filters => vec![
                (regex_escape($dir).as_str(), "[dir]"),
                (r"\b\d+(\.\d+)?(ms|s)\b", "[time]"),
                (r"\b\d+m \d+s\b", "[time]"),
                (r"[0-9a-f]{64}", "[checksum]"),
            ],
        }, {
            insta::assert_snapshot!($name, $text);
        });
    };
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '/' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

const PLAN: &str = r#"
[[expand]]
op = "add_column"
table = "accounts"
column = "plan_tier"
type = "text"

[[expand]]
op = "sql"
up = "CREATE TABLE tiers (name text PRIMARY KEY)"
down = "DROP TABLE tiers"

[[switch]]
op = "guard"
query = "SELECT count(*) FROM accounts WHERE plan_tier IS NOT NULL"
expect = 0

[[contract]]
op = "sql"
up = "ALTER TABLE accounts DROP COLUMN legacy"
"#;

#[test]
fn apply_status_and_rollback_read_well() {
    let db = ScratchDb::new();
    db.exec("CREATE TABLE accounts (id int PRIMARY KEY, legacy text); INSERT INTO accounts VALUES (1, 'x');");
    let plans = Plans::new();
    let plan = plans.write("0001_tiers.toml", PLAN);
    let dir = plans.path().display().to_string();

    let out = bellows()
        .args(["apply", "--to", "switch", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_transcript!("apply_to_switch", transcript(&out), &dir);

    let out = bellows()
        .args(["status", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_transcript!("status_after_switch", transcript(&out), &dir);

    let out = bellows()
        .args(["apply", "--yes", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_transcript!("apply_contract", transcript(&out), &dir);

    let out = bellows()
        .args(["rollback", "--yes", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_transcript!("rollback_refused", transcript(&out), &dir);
}

#[test]
fn a_failing_phase_reads_well() {
    let db = ScratchDb::new();
    db.exec("CREATE TABLE accounts (id int PRIMARY KEY, legacy text);");
    let plans = Plans::new();
    let plan = plans.write(
        "0001_broken.toml",
        r#"
[[expand]]
op = "add_column"
table = "accounts"
column = "plan_tier"
type = "text"

[[expand]]
op = "sql"
up = "CREATE INDEX tier_idx ON accounts (no_such_column)"
down = "DROP INDEX tier_idx"
"#,
    );
    let dir = plans.path().display().to_string();
    let out = bellows()
        .args(["apply", "-d", &db.url])
        .arg(&plan)
        .output()
        .unwrap();
    assert_transcript!("apply_failing_phase", transcript(&out), &dir);
}
