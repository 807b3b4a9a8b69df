//! Names bellows generates for the objects it creates (indexes, constraints, triggers,
//! functions), in one place so that the step that creates an object and the step (or undo)
//! that drops it always agree.

use super::TableName;

/// PostgreSQL's identifier limit in bytes; generated names are kept within it everywhere.
pub const IDENTIFIER_LIMIT: usize = 63;

/// Keeps generated identifiers within PostgreSQL's 63-byte limit, stably: a longer name is cut
/// and given a suffix of its hash.
pub fn shorten_identifier(name: &str) -> String {
    if name.len() <= IDENTIFIER_LIMIT {
        return name.to_string();
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let mut cut = IDENTIFIER_LIMIT - hash.len() - 1;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{hash}", &name[..cut])
}

/// The default index name: `{table}_{columns}_idx`, or `_key` when unique.
pub fn index_name(table: &TableName, columns: &[String], unique: bool) -> String {
    let suffix = if unique { "key" } else { "idx" };
    shorten_identifier(&format!("{}_{}_{suffix}", table.name, columns.join("_")))
}

/// The default foreign key name, `{table}_{columns}_fkey`, as PostgreSQL would name it.
pub fn foreign_key_name(table: &TableName, columns: &[String]) -> String {
    shorten_identifier(&format!("{}_{}_fkey", table.name, columns.join("_")))
}

/// The trigger (and PostgreSQL function) of `sync_column` for a column; `drop_sync` uses the
/// same. SQLite's two triggers add `_insert` and `_update` to it.
pub fn sync_trigger_name(table: &TableName, column: &str) -> String {
    shorten_identifier(&format!("bellows_sync_{}_{}", table.name, column))
}

/// The temporary CHECK constraint `set_not_null` validates before `SET NOT NULL` on PostgreSQL.
pub fn not_null_check_name(table: &TableName, column: &str) -> String {
    shorten_identifier(&format!("bellows_not_null_{}_{}", table.name, column))
}

/// A plan's default version schema: `bellows_{plan}`.
pub fn version_schema_name(plan: &str) -> String {
    shorten_identifier(&format!("bellows_{plan}"))
}

/// The hidden column of the new type that `change_type` adds: `bellows_new_{column}`.
pub fn change_type_column(column: &str) -> String {
    shorten_identifier(&format!("bellows_new_{column}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_with_a_stable_hash() {
        let long = "a".repeat(80);
        let short = shorten_identifier(&long);
        assert_eq!(short.len(), IDENTIFIER_LIMIT);
        assert_eq!(short, shorten_identifier(&long));
        assert_eq!(shorten_identifier("users_email_idx"), "users_email_idx");
    }

    #[test]
    fn default_names_follow_postgres() {
        let users = TableName::parse("app.users");
        let columns = vec!["email".to_string()];
        assert_eq!(index_name(&users, &columns, false), "users_email_idx");
        assert_eq!(index_name(&users, &columns, true), "users_email_key");
        assert_eq!(foreign_key_name(&users, &columns), "users_email_fkey");
        assert_eq!(
            sync_trigger_name(&users, "email"),
            "bellows_sync_users_email"
        );
        assert_eq!(
            not_null_check_name(&users, "email"),
            "bellows_not_null_users_email"
        );
    }
}
