//! Snapshots of the planned SQL of the catalog and key operations (`set_comment`,
//! `add_column`'s `comment`, `drop_not_null`, `add_unique`, `add_primary_key`, `rename_index`,
//! `rename_constraint`, `set_replica_identity`), for PostgreSQL and SQLite (and MySQL/MariaDB for
//! `set_comment`, `drop_not_null` and `add_unique`), as `bellows plan` prints them.

use bellows::dialect::DialectKind;

use crate::sql_snapshots::{both_dialects, planned_for};

macro_rules! sql_snapshot {
    ($name:ident, $toml:expr) => {
        #[test]
        fn $name() {
            let mut settings = insta::Settings::clone_current();
            settings.set_omit_expression(true);
            settings.bind(|| insta::assert_snapshot!(stringify!($name), both_dialects($toml)));
        }
    };
    // With MySQL/MariaDB in a snapshot of its own, for the operations it plans.
    ($name:ident, $toml:expr, mysql) => {
        #[test]
        fn $name() {
            let mut settings = insta::Settings::clone_current();
            settings.set_omit_expression(true);
            settings.bind(|| {
                insta::assert_snapshot!(stringify!($name), both_dialects($toml));
                insta::assert_snapshot!(
                    format!("{}_mysql", stringify!($name)),
                    planned_for($toml, &[DialectKind::Mysql])
                );
            });
        }
    };
}

sql_snapshot!(
    set_comment,
    r#"
[[expand]]
op = "set_comment"
table = "billing.invoices"
column = "due_on"
comment = "the day it's due"

[[contract]]
op = "set_comment"
table = "users"
comment = ""
"#,
    mysql
);

sql_snapshot!(
    add_column_comment,
    r#"
[[expand]]
op = "add_column"
table = "users"
column = "nickname"
type = "text"
comment = "what friends call them"
"#
);

sql_snapshot!(
    drop_not_null,
    r#"
[[expand]]
op = "drop_not_null"
table = "users"
column = "name"
"#,
    mysql
);

sql_snapshot!(
    add_unique,
    r#"
[[expand]]
op = "add_unique"
table = "users"
columns = ["email"]
include = ["name"]
"#,
    mysql
);

sql_snapshot!(
    add_unique_named,
    r#"
[[switch]]
op = "add_unique"
table = "billing.invoices"
columns = ["customer_id", "number"]
name = "invoices_number_key"
"#,
    mysql
);

sql_snapshot!(
    add_primary_key,
    r#"
[[expand]]
op = "add_primary_key"
table = "events"
columns = ["code", "seq"]
"#
);

sql_snapshot!(
    rename_index,
    r#"
[[expand]]
op = "rename_index"
name = "billing.invoices_due_idx"
to = "invoices_due_on_idx"
"#
);

sql_snapshot!(
    rename_constraint,
    r#"
[[contract]]
op = "rename_constraint"
table = "orders"
name = "orders_total_positive"
to = "orders_total_not_negative"
"#
);

sql_snapshot!(
    set_replica_identity,
    r#"
[[expand]]
op = "set_replica_identity"
table = "users"
identity = "full"

[[switch]]
op = "set_replica_identity"
table = "orders"
identity = { index = "orders_pkey" }
"#
);
