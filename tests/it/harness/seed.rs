//! The one seeder: a `users` table with the same rows on every backend.

use super::db::{DialectKind, TestDb};

/// `users (id, name, verified_at)` with `rows` rows: ids 1..=rows, names `user N`, and
/// `verified_at` set on every third row (ids divisible by 3), NULL elsewhere. New rows get the
/// next id. Not analyzed: tests that want statistics run `ANALYZE users` themselves.
pub fn seed_users(db: &dyn TestDb, rows: i64) {
    seed_users_with(db, rows, "")
}

/// The same, with more column definitions appended (`", email_verified boolean"`), left NULL.
pub fn seed_users_with(db: &dyn TestDb, rows: i64, extra_columns: &str) {
    let sql = match db.dialect() {
        DialectKind::Postgres => format!(
            "CREATE TABLE users (id bigserial PRIMARY KEY, name text, verified_at timestamptz{extra_columns});
             INSERT INTO users (id, name, verified_at)
                  SELECT g, 'user ' || g,
                         CASE WHEN g % 3 = 0 THEN now() - g * interval '1 second' END
                    FROM generate_series(1, {rows}) g;
             SELECT setval(pg_get_serial_sequence('users', 'id'), greatest({rows}, 1), {rows} > 0);"
        ),
        DialectKind::Sqlite => format!(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, verified_at TEXT{extra_columns});
             WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {rows})
             INSERT INTO users (id, name, verified_at)
                  SELECT n, 'user ' || n, CASE WHEN n % 3 = 0 THEN '2024-01-01' END
                    FROM g WHERE {rows} > 0;"
        ),
        // NOTE: the harness's sessions run with PIPES_AS_CONCAT; `seq` is a recursive CTE
        // because MariaDB's sequence engine may not be installed.
        DialectKind::Mysql => format!(
            "CREATE TABLE users (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, name TEXT, verified_at DATETIME{extra_columns});
             SET SESSION max_recursive_iterations = 4294967295;
             INSERT INTO users (id, name, verified_at)
                  WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {rows})
                  SELECT n, CONCAT('user ', n), CASE WHEN n % 3 = 0 THEN NOW() - INTERVAL n SECOND END
                    FROM g WHERE {rows} > 0;"
        ),
    };
    db.exec(&sql);
}

/// `users` as [`seed_users`] makes it plus an empty `email_verified boolean`, the column the
/// backfill tests fill from `verified_at IS NOT NULL`.
pub fn seed_users_to_backfill(db: &dyn TestDb, rows: i64) {
    seed_users_with(db, rows, ", email_verified boolean")
}
