//! PostgreSQL's sync trigger in its current form (an INSERT trigger, an UPDATE trigger whose
//! `WHEN` skips writes that set the synced columns, and `NEW.col := …` assignments) against the
//! form it replaced (one `BEFORE INSERT OR UPDATE` trigger selecting every expression from
//! `(SELECT NEW.*)`): the same rows after the same inserts and updates of both application
//! versions, on every type of the key-type test, one-way and both ways.

use crate::harness::{with_settings, Cli, Plans, PostgresDb, TestDb};

/// A synced pair per type: the old application's column `o_<t>`, the new one's `n_<t>`, the
/// expression filling the new from the old and the one filling the old from the new.
const PAIRS: &[(&str, &str, &str, &str)] = &[
    ("int", "int", "o_int * 2", "n_int / 2"),
    ("text", "text", "upper(o_text)", "lower(n_text)"),
    (
        "uuid",
        "uuid",
        "CAST(CAST(o_uuid AS text) AS uuid)",
        "n_uuid",
    ),
    (
        "ts",
        "timestamptz",
        "o_ts + interval '1 hour'",
        "n_ts - interval '1 hour'",
    ),
    ("f", "float8", "o_f * 1.5", "n_f / 1.5"),
    ("num", "numeric", "round(o_num, 2)", "n_num * 1"),
    // `substring(… FROM …)` cannot be rewritten: the general form, in both.
    (
        "b",
        "bytea",
        "decode('ff', 'hex') || o_b",
        "substring(n_b FROM 2)",
    ),
    // `EXTRACT(day FROM …)`: the general form too.
    (
        "d",
        "date",
        "o_d + CAST(EXTRACT(day FROM o_d) AS int)",
        "n_d - 1",
    ),
];

/// Values the old application writes, per type, for row `i`.
fn old_value(t: &str, i: u32) -> String {
    match t {
        "int" => format!("{}", i * 7),
        "text" => format!("'Zoë o''b {i}'"),
        "uuid" => format!("'00000000-0000-0000-0000-{i:012}'"),
        "ts" => format!("timestamptz '2024-01-01 00:00:00.123456+00' + {i} * interval '1.5 s'"),
        "f" => format!("{i}.25::float8 / 3"),
        "num" => format!("{i}.12345"),
        "b" => format!("decode('0{}ab', 'hex')", i % 10),
        _ => format!("date '2024-02-28' + {i}"),
    }
}

/// The same for the new application (in the new column's terms).
fn new_value(t: &str, i: u32) -> String {
    match t {
        "int" => format!("{}", i * 10),
        "text" => format!("'NEW {i}'"),
        "uuid" => format!("'11111111-0000-0000-0000-{i:012}'"),
        "ts" => format!("timestamptz '2025-06-01 12:00:00+02' + {i} * interval '1 day'"),
        "f" => format!("{i}.5::float8"),
        "num" => format!("{i}.5"),
        "b" => format!("decode('ff0{}', 'hex')", i % 10),
        _ => format!("date '2025-01-01' + {i}"),
    }
}

fn create_table(db: &PostgresDb, table: &str) {
    let columns: Vec<String> = PAIRS
        .iter()
        .map(|(t, ty, _, _)| format!("o_{t} {ty}, n_{t} {ty}"))
        .collect();
    db.exec(&format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, note text, {})",
        columns.join(", ")
    ));
}

/// The trigger as bellows wrote it before: one function and one trigger for both events.
fn old_form(table: &str, t: &str, from: &str, back: Option<&str>) -> String {
    let wrote = |column: &str, flag: &str| {
        format!(
            "    {flag} := NEW.{column} IS NOT NULL;
    IF {flag} THEN
      SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) INTO bellows_default
        FROM pg_catalog.pg_attrdef d
        JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
       WHERE d.adrelid = TG_RELID AND a.attname = '{column}';
      IF bellows_default IS NOT NULL THEN
        EXECUTE 'SELECT $1 IS NOT DISTINCT FROM (' || bellows_default || ')' INTO bellows_equal USING NEW.{column};
        {flag} := NOT bellows_equal;
      END IF;
    END IF;
"
        )
    };
    let assign = |target: &str, expression: &str| {
        format!("SELECT ({expression}) INTO NEW.{target} FROM (SELECT NEW.*) AS bellows_row;")
    };
    let (n, o) = (format!("n_{t}"), format!("o_{t}"));
    let mut body = format!("  IF TG_OP = 'INSERT' THEN\n{}", wrote(&n, "w_column"));
    if back.is_some() {
        body.push_str(&wrote(&o, "w_other"));
    }
    body.push_str(&format!(
        "  ELSE\n    w_column := NEW.{n} IS DISTINCT FROM OLD.{n};\n"
    ));
    if back.is_some() {
        body.push_str(&format!(
            "    w_other := NEW.{o} IS DISTINCT FROM OLD.{o};\n"
        ));
    }
    body.push_str("  END IF;\n");
    match back {
        None => body.push_str(&format!(
            "  IF NOT w_column THEN {} END IF;\n",
            assign(&n, from)
        )),
        Some(back) => body.push_str(&format!(
            "  IF NOT w_column AND (TG_OP = 'UPDATE' OR w_other OR NEW.{n} IS NULL) THEN {} END IF;
  IF NOT w_other AND (w_column OR (TG_OP = 'INSERT' AND NEW.{o} IS NULL)) THEN {} END IF;\n",
            assign(&n, from),
            assign(&o, back)
        )),
    }
    let function = format!("old_sync_{table}_{t}");
    format!(
        "CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $f$
#variable_conflict use_column
DECLARE bellows_default text; bellows_equal boolean; w_column boolean; w_other boolean;
BEGIN
{body}  RETURN NEW;
END $f$;
CREATE TRIGGER bellows_sync_{table}_n_{t} BEFORE INSERT OR UPDATE ON {table}
  FOR EACH ROW EXECUTE FUNCTION {function}();"
    )
}

/// The syncs of every pair on `table`, through `bellows apply`.
fn current_form(db: &PostgresDb, plans: &Plans, table: &str, both_ways: bool) {
    let mut plan = String::new();
    for (t, _, from, back) in PAIRS {
        plan.push_str(&format!(
            "[[expand]]\nop = \"sync_column\"\ntable = \"{table}\"\ncolumn = \"n_{t}\"\nfrom = \"{from}\"\n"
        ));
        if both_ways {
            plan.push_str(&format!(
                "reverse = {{ column = \"o_{t}\", from = \"{back}\" }}\n"
            ));
        }
        plan.push('\n');
    }
    let file = plans.write(&format!("0001_{table}.toml"), &plan);
    Cli::apply(db).args(["--to", "expand"]).plan(&file).run();
}

/// The writes of both application versions, the same on each table.
fn writes(table: &str) -> Vec<String> {
    let set = |prefix: &str, value: fn(&str, u32) -> String, i: u32| -> Vec<(String, String)> {
        PAIRS
            .iter()
            .map(|(t, ..)| (format!("{prefix}_{t}"), value(t, i)))
            .collect()
    };
    let insert = |id: u32, columns: Vec<(String, String)>| {
        let (names, values): (Vec<_>, Vec<_>) = columns.into_iter().unzip();
        format!(
            "INSERT INTO {table} (id, {}) VALUES ({id}, {})",
            names.join(", "),
            values.join(", ")
        )
    };
    let update = |id: u32, columns: Vec<(String, String)>| {
        let sets: Vec<String> = columns
            .into_iter()
            .map(|(c, v)| format!("{c} = {v}"))
            .collect();
        format!("UPDATE {table} SET {} WHERE id = {id}", sets.join(", "))
    };
    let nulls = |prefix: &str| -> Vec<(String, String)> {
        PAIRS
            .iter()
            .map(|(t, ..)| (format!("{prefix}_{t}"), "NULL".to_string()))
            .collect()
    };
    let mut both = set("o", old_value, 3);
    both.extend(set("n", new_value, 3));
    vec![
        // Inserts: the old application, the new one, one writing both, one writing neither.
        insert(1, set("o", old_value, 1)),
        insert(2, set("n", new_value, 2)),
        insert(3, both.clone()),
        format!("INSERT INTO {table} (id, note) VALUES (4, 'neither')"),
        insert(5, set("o", old_value, 5)),
        // Updates: the old application, the new one, both, neither, to NULL, to the same value.
        update(1, set("o", old_value, 11)),
        update(2, set("n", new_value, 12)),
        update(3, both),
        format!("UPDATE {table} SET note = 'touched' WHERE id IN (1, 2, 4)"),
        update(5, nulls("o")),
        update(2, nulls("n")),
        update(1, set("o", old_value, 11)),
        // A backfill-shaped write: the new column from the old where it is NULL.
        update(5, set("o", old_value, 15)),
        format!(
            "UPDATE {table} SET {} WHERE id = 4",
            PAIRS
                .iter()
                .map(|(t, _, from, _)| format!("n_{t} = ({from})"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ]
}

fn rows(db: &PostgresDb, table: &str) -> Vec<String> {
    db.rows(&format!(
        "SELECT to_jsonb(t)::text FROM {table} t ORDER BY id"
    ))
}

fn same_results(both_ways: bool) {
    let db = PostgresDb::new();
    let plans = Plans::new();
    create_table(&db, "legacy");
    create_table(&db, "current");
    for (t, _, from, back) in PAIRS {
        db.exec(&old_form("legacy", t, from, both_ways.then_some(*back)));
    }
    current_form(&db, &plans, "current", both_ways);
    // The current form assigns directly where it can, and keeps the general form elsewhere.
    let bodies = db.rows(
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.proname LIKE 'bellows_sync_current_%' ORDER BY 1",
    );
    assert_eq!(bodies.len(), PAIRS.len());
    assert!(bodies
        .iter()
        .any(|b| b.contains("NEW.\"n_text\" := (upper(NEW.o_text));")));
    let general =
        "SELECT (o_d + CAST(EXTRACT(day FROM o_d) AS int)) INTO NEW.\"n_d\" FROM (SELECT NEW.*)";
    assert!(bodies.iter().any(|b| b.contains(general)));
    for (legacy, current) in writes("legacy").iter().zip(writes("current")) {
        db.exec(legacy);
        db.exec(&current);
        assert_eq!(rows(&db, "legacy"), rows(&db, "current"), "after {current}");
    }
    // Every column took part: no pair stayed NULL throughout.
    for (t, ..) in PAIRS {
        assert!(
            db.i64(&format!("SELECT count(n_{t}) FROM current")) >= 3,
            "n_{t}"
        );
    }
}

#[test]
fn the_rewritten_sync_writes_what_the_old_form_wrote_one_way() {
    same_results(false);
}

#[test]
fn the_rewritten_sync_writes_what_the_old_form_wrote_both_ways() {
    same_results(true);
}

/// A plan adding each `(column, type, from)` to `table` and syncing it from `from`.
fn synced_columns(table: &str, columns: &[(&str, &str, &str)]) -> String {
    columns
        .iter()
        .map(|(column, ty, from)| {
            format!(
                "[[expand]]\nop = \"add_column\"\ntable = \"{table}\"\ncolumn = \"{column}\"\ntype = \"{ty}\"\n\n\
                 [[expand]]\nop = \"sync_column\"\ntable = \"{table}\"\ncolumn = \"{column}\"\nfrom = \"{from}\"\n\n"
            )
        })
        .collect()
}

/// The sync function's `search_path` setting (which each write pays for) is kept only when a
/// name in `from` is not built into PostgreSQL; either way a writer whose own `search_path`
/// finds none of the plan's schemas gets the synced values.
#[test]
fn the_sync_function_keeps_its_search_path_only_for_names_not_built_in() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE SCHEMA app;
         CREATE FUNCTION app.norm(text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower($1)';
         CREATE TABLE accounts (id int PRIMARY KEY, email text, cents int, verified_at timestamptz);",
    );
    let plans = Plans::new();
    let file = plans.write(
        "0001_accounts.toml",
        &synced_columns(
            "accounts",
            &[
                ("verified", "boolean", "verified_at IS NOT NULL"),
                (
                    "dollars",
                    "numeric",
                    "round(cents / 100.0, 2) + length(email)",
                ),
                ("email_key", "text", "norm(email)"),
            ],
        ),
    );
    // `norm` resolves through the apply's search_path only.
    let url = with_settings(&db.url, &["search_path=app,public"]);
    Cli::new(["apply", "-d", &url]).plan(&file).run();
    let config = |function: &str| {
        db.rows(&format!(
            "SELECT coalesce(array_to_string(proconfig, ' '), '-') FROM pg_proc WHERE proname = '{function}'"
        ))
        .concat()
    };
    assert_eq!(config("bellows_sync_accounts_verified"), "-");
    assert_eq!(config("bellows_sync_accounts_dollars"), "-");
    assert_eq!(
        config("bellows_sync_accounts_email_key"),
        "search_path=app,public"
    );
    let mut writer = db.session();
    writer.exec(
        "SET search_path = nowhere;
         INSERT INTO public.accounts (id, email, cents, verified_at) VALUES (1, 'A@B.example', 1234, now());
         INSERT INTO public.accounts (id, email, cents) VALUES (2, 'C@D.example', 5);
         UPDATE public.accounts SET email = 'X@Y.example', cents = 99, verified_at = NULL WHERE id = 1;",
    );
    assert_eq!(
        db.rows(
            "SELECT concat_ws(' ', id, verified, dollars, email_key) FROM accounts ORDER BY id"
        ),
        ["1 f 11.99 x@y.example", "2 f 11.05 c@d.example"]
    );
}

/// Names the sync function resolves besides those `from` calls keep its `search_path` too: its
/// own table named in a subquery of `from`, the equality of a synced column's type
/// (`IS DISTINCT FROM`, which decides whether a write set the column) from an extension, and a
/// sequence named by a text looked up only when the trigger runs.
#[test]
fn the_sync_function_keeps_its_search_path_for_its_table_by_name_and_an_extension_equality() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE SCHEMA ext;
         CREATE EXTENSION citext SCHEMA ext;
         CREATE SEQUENCE tickets;
         CREATE TABLE nodes (id int PRIMARY KEY, name text, email text);",
    );
    let plans = Plans::new();
    let file = plans.write(
        "0001_nodes.toml",
        &synced_columns(
            "nodes",
            &[
                (
                    "root_name",
                    "text",
                    "(SELECT r.name FROM nodes AS r WHERE r.id = 1)",
                ),
                ("email_ci", "ext.citext", "email"),
                ("ticket", "bigint", "nextval(CAST('tickets' AS text))"),
            ],
        ),
    );
    let url = with_settings(&db.url, &["search_path=public,ext"]);
    Cli::new(["apply", "-d", &url]).plan(&file).run();
    assert_eq!(
        db.rows(
            "SELECT proname || ' ' || coalesce(array_to_string(proconfig, ' '), '-') FROM pg_proc
              WHERE proname LIKE 'bellows_sync_nodes_%' ORDER BY proname"
        ),
        [
            "bellows_sync_nodes_email_ci search_path=public,ext",
            "bellows_sync_nodes_root_name search_path=public,ext",
            "bellows_sync_nodes_ticket search_path=public,ext"
        ]
    );
    // An update that sets `email_ci` to a value equal to it as citext compares does not write
    // it (as the trigger's WHEN clause says): it is filled from `email` again.
    let mut writer = db.session();
    writer.exec(
        "SET search_path = nowhere;
         INSERT INTO public.nodes (id, name, email) VALUES (1, 'root', 'a@b.example');
         INSERT INTO public.nodes (id, name, email) VALUES (2, 'kid', 'c@d.example');
         UPDATE public.nodes SET email_ci = 'A@B.EXAMPLE' WHERE id = 1;",
    );
    assert_eq!(
        db.rows("SELECT concat_ws(' ', id, root_name, email_ci, ticket) FROM nodes ORDER BY id"),
        ["1 root a@b.example 3", "2 root c@d.example 2"]
    );
}

/// A role that may not make temporary objects cannot run the check: the step still succeeds
/// and the function keeps its `search_path`.
#[test]
fn a_role_without_temp_privilege_keeps_the_sync_function_search_path() {
    let db = PostgresDb::new();
    let role = format!("no_temp_{}", &db.name[db.name.len().saturating_sub(12)..]);
    db.exec(&format!(
        "CREATE ROLE {role} LOGIN;
         REVOKE TEMPORARY ON DATABASE \"{name}\" FROM PUBLIC;
         GRANT CREATE ON DATABASE \"{name}\" TO {role};
         GRANT CREATE ON SCHEMA public TO {role};
         CREATE TABLE accounts (id int PRIMARY KEY, verified_at timestamptz);
         ALTER TABLE accounts OWNER TO {role};",
        name = db.name
    ));
    let plans = Plans::new();
    let file = plans.write(
        "0001_accounts.toml",
        "[[expand]]\nop = \"add_column\"\ntable = \"accounts\"\ncolumn = \"verified\"\ntype = \"boolean\"\n\n\
         [[expand]]\nop = \"sync_column\"\ntable = \"accounts\"\ncolumn = \"verified\"\nfrom = \"verified_at IS NOT NULL\"\n",
    );
    let url = db.url.replacen("://postgres@", &format!("://{role}@"), 1);
    assert_ne!(url, db.url);
    Cli::new(["apply", "-d", &url]).plan(&file).run();
    assert_eq!(
        db.rows("SELECT array_to_string(proconfig, ' ') FROM pg_proc WHERE proname = 'bellows_sync_accounts_verified'"),
        ["search_path=\"$user\", public"]
    );
    let mut writer = db.session();
    writer.exec(
        "SET search_path = nowhere;
         INSERT INTO public.accounts VALUES (1, now()), (2, NULL);",
    );
    assert_eq!(
        db.rows("SELECT concat_ws(' ', id, verified) FROM accounts ORDER BY id"),
        ["1 t", "2 f"]
    );
    drop(writer);
    db.exec(&format!("DROP OWNED BY {role}; DROP ROLE {role};"));
}

/// A built-in function that an extension overloads, on a schema the apply's search_path lacks,
/// keeps the setting: a writer whose search_path has that schema would call the extension's
/// (an exact match for `citext`) and fill the column unlike the backfill. Built-in calls no
/// extension overloads still lose it.
#[test]
fn a_built_in_call_an_extension_overloads_on_the_writers_search_path_keeps_the_setting() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE SCHEMA ext;
         CREATE EXTENSION citext SCHEMA ext;
         CREATE TABLE people (id int PRIMARY KEY, email ext.citext);",
    );
    let plans = Plans::new();
    let file = plans.write(
        "0001_people.toml",
        &synced_columns(
            "people",
            &[
                ("email_x", "text", "replace(email, 'a', '-')"),
                ("twice", "int", "id * 2 + length(email)"),
            ],
        ),
    );
    Cli::new(["apply", "-d", &db.url]).plan(&file).run();
    assert_eq!(
        db.rows(
            "SELECT proname || ' ' || coalesce(array_to_string(proconfig, ' '), '-') FROM pg_proc
              WHERE proname LIKE 'bellows_sync_people_%' ORDER BY proname"
        ),
        [
            "bellows_sync_people_email_x search_path=\"$user\", public",
            "bellows_sync_people_twice -"
        ]
    );
    let mut writer = db.session();
    writer.exec(
        "SET search_path = public, ext;
         INSERT INTO people (id, email) VALUES (1, 'AaBb');",
    );
    assert_eq!(
        db.rows("SELECT concat_ws(' ', id, email_x, twice) FROM people"),
        ["1 A-Bb 6"]
    );
}

/// `normalize(x, NFC)` names a normal form, not a column: the step applies (the form is read
/// as the row as written) and the column holds the normalized text.
#[test]
fn a_sync_from_normalize_with_a_normal_form_fills_the_column() {
    let db = PostgresDb::new();
    db.exec("CREATE TABLE words (id int PRIMARY KEY, word text)");
    let plans = Plans::new();
    let file = plans.write(
        "0001_words.toml",
        &synced_columns("words", &[("word_nfc", "text", "normalize(word, NFC)")]),
    );
    Cli::apply(&db).plan(&file).run();
    db.exec("INSERT INTO words (id, word) VALUES (1, U&'e\\0301te')");
    assert!(
        db.bool("SELECT count(*) FROM words WHERE word_nfc = U&'\\00E9te' AND word <> word_nfc")
    );
}

/// A BEFORE trigger sees a stored generated column as NULL (PostgreSQL computes it after
/// them), so a sync reading one would fill its column with whatever `from` makes of NULL:
/// the step refuses, naming the column, and leaves no trigger; the same sync written over the
/// generated column's own expression applies.
#[test]
fn a_sync_reading_a_generated_column_is_refused() {
    let db = PostgresDb::new();
    db.exec(
        "CREATE TABLE lines (id int PRIMARY KEY, price int, qty int,
           total int GENERATED ALWAYS AS (price * qty) STORED)",
    );
    let plans = Plans::new();
    let refused = plans.write(
        "0001_lines.toml",
        &synced_columns(
            "lines",
            &[("total_cents", "int", "coalesce(total, 0) * 100")],
        ),
    );
    Cli::apply(&db)
        .plan(&refused)
        .code(1)
        .stderr_has("reads the generated column total")
        .run();
    assert!(!db.bool("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'bellows_sync_%'"));
    let reverse = plans.write(
        "0002_lines.toml",
        "[[expand]]\nop = \"sync_column\"\ntable = \"lines\"\ncolumn = \"price\"\nfrom = \"qty\"\n\
         reverse = { column = \"qty\", from = \"total / 2\" }\n",
    );
    Cli::apply(&db)
        .plan(&reverse)
        .code(1)
        .stderr_has("reads the generated column total")
        .run();
    Cli::rollback(&db).args(["--yes"]).plan(&refused).run();
    let fixed = plans.write(
        "0003_lines.toml",
        &synced_columns(
            "lines",
            &[("total_cents", "int", "coalesce(price * qty, 0) * 100")],
        ),
    );
    Cli::apply(&db).plan(&fixed).run();
    db.exec("INSERT INTO lines (id, price, qty) VALUES (1, 3, 4)");
    assert_eq!(db.rows("SELECT total_cents FROM lines"), ["1200"]);
}

/// The sync function names the columns it reads: a plan that renames one under its live sync
/// is refused before anything runs (every write to the table would fail after the rename).
#[test]
fn a_plan_renaming_a_column_its_live_sync_reads_is_refused() {
    let db = PostgresDb::new();
    db.exec("CREATE TABLE users (id int PRIMARY KEY, name text)");
    Cli::apply(&db)
        .plan("tests/plans/err/rename_column_still_synced.toml")
        .code(2)
        .stderr_has("rename_column renames users.name, but the sync trigger of step 2 of [[expand]] still uses it")
        .run();
    assert!(!db.bool("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'bellows_sync_%'"));
    db.exec("INSERT INTO users (id, name) VALUES (1, 'Ann')");
}

/// A sync an earlier plan made still names its columns: a later plan's `rename_column` or
/// `drop_column` of one is undone with the sync named (writes would all fail otherwise), and
/// the table takes writes as before; a column no sync names is dropped.
#[test]
fn renaming_or_dropping_a_column_an_earlier_plans_sync_names_is_undone() {
    let db = PostgresDb::new();
    db.exec("CREATE TABLE w (id int PRIMARY KEY, name text NOT NULL, note text, spare text)");
    let plans = Plans::new();
    let sync = plans.write(
        "0001_w.toml",
        &synced_columns(
            "w",
            &[("name_up", "text", "upper(name) || coalesce(note, '')")],
        ),
    );
    Cli::apply(&db).plan(&sync).run();
    let drop = plans.write(
        "0002_drop.toml",
        "[[contract]]\nop = \"drop_column\"\ntable = \"w\"\ncolumn = \"note\"\n",
    );
    Cli::apply(&db)
        .yes()
        .plan(&drop)
        .code(1)
        .stderr_has(
            "the sync trigger bellows_sync_w_name_up of w names the column, so after this step every insert",
        )
        .stderr_has("record \"new\" has no field \"note\"")
        .run();
    let spare = plans.write(
        "0004_spare.toml",
        "[[contract]]\nop = \"drop_column\"\ntable = \"w\"\ncolumn = \"spare\"\n",
    );
    Cli::apply(&db).yes().plan(&spare).run();
    let rename = plans.write(
        "0003_rename.toml",
        "[[contract]]\nop = \"rename_column\"\ntable = \"w\"\ncolumn = \"name\"\nto = \"label\"\n",
    );
    Cli::apply(&db)
        .yes()
        .plan(&rename)
        .code(1)
        .stderr_has("rename_column w.name to label: the sync trigger bellows_sync_w_name_up")
        .run();
    db.exec("INSERT INTO w (id, name, note) VALUES (1, 'ann', '!')");
    assert_eq!(
        db.rows("SELECT concat_ws(' ', name, note, name_up) FROM w"),
        ["ann ! ANN!"]
    );
    assert!(!db.bool("SELECT count(*) FROM pg_class WHERE relname = 'bellows_sync_probe'"));
}

/// A column qualified with the table's name (`people.name`, as a backfill's `set` may write it)
/// reads the row being written, in `from` and `reverse.from`, beside a subquery of the table
/// under another name; on a table of a schema the writer's search_path does not list.
#[test]
fn a_column_qualified_with_the_tables_name_reads_the_row_being_written() {
    let db = PostgresDb::new();
    db.exec("CREATE SCHEMA app; CREATE TABLE app.people (id int PRIMARY KEY, name text)");
    let plans = Plans::new();
    let file = plans.write(
        "0001_people.toml",
        r#"
[[expand]]
op = "add_column"
table = "app.people"
column = "label"
type = "text"

[[expand]]
op = "sync_column"
table = "app.people"
column = "label"
from = "upper(people.name) || (SELECT count(*) FROM app.people AS p WHERE p.id < people.id)"
reverse = { column = "name", from = "lower(people.label)" }
"#,
    );
    Cli::apply(&db).plan(&file).run();
    let mut writer = db.session();
    writer.exec(
        "SET search_path = nowhere;
         INSERT INTO app.people (id, name) VALUES (1, 'ann'), (2, 'bob');
         INSERT INTO app.people (id, label) VALUES (3, 'CY');
         UPDATE app.people SET name = 'zed' WHERE id = 2;",
    );
    assert_eq!(
        db.rows("SELECT concat_ws(' ', id, name, label) FROM app.people ORDER BY id"),
        ["1 ann ANN0", "2 zed ZED1", "3 cy CY"]
    );
}

/// `from` naming the table itself reads the whole row being written (`to_jsonb(users)`),
/// selected from the row named as the table: rewritten over NEW it would be `NEW.users`.
#[test]
fn a_whole_row_reference_reads_the_row_being_written() {
    let db = PostgresDb::new();
    crate::harness::seed_users(&db, 3);
    let plans = Plans::new();
    let plan = plans.write(
        "0001_row.toml",
        r#"
[[expand]]
op = "add_column"
table = "users"
column = "snap"
type = "jsonb"

[[expand]]
op = "add_column"
table = "users"
column = "copy"
type = "jsonb"

[[expand]]
op = "sync_column"
table = "users"
column = "snap"
from = "to_jsonb(users) - 'snap' - 'copy'"

[[expand]]
op = "sync_column"
table = "users"
column = "copy"
from = "jsonb_build_object('name', row_to_json(USERS) -> 'name')"
"#,
    );
    Cli::apply(&db)
        .yes()
        .plan(&plan)
        .arg("--to")
        .arg("expand")
        .run();
    db.exec("INSERT INTO users (id, name) VALUES (100, 'new row')");
    db.exec("UPDATE users SET name = 'renamed' WHERE id = 1");
    assert_eq!(
        db.rows(
            "SELECT id, snap ->> 'name', snap ? 'snap', copy ->> 'name' FROM users
              WHERE id IN (1, 100) ORDER BY id"
        ),
        ["1|renamed|false|renamed", "100|new row|false|new row"]
    );
}
