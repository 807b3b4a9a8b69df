//! The harness's macros: `backend_test!` runs one test body against every backend (like
//! ripgrep's `rgtest!`), and `assert_transcript!` snapshots a command's output through the
//! filters of `transcript.rs`.

/// `backend_test!(fn name(db) { … })` makes a module `name` with one test per backend,
/// `name::postgres`, `name::sqlite` and `name::mysql`, each running the body with
/// `db: &dyn TestDb` on a scratch database of its own. A new backend is one more test in the
/// expansion.
///
/// `backend_test!(mysql: "reason"; fn name(db) { … })` leaves MySQL out: `name::mysql` is an
/// ignored test whose ignore message is the reason (`cargo test -- --ignored` still runs it).
macro_rules! backend_test {
    ($(#[$meta:meta])* fn $name:ident($db:ident) $body:block) => {
        backend_test!(@expand [] $(#[$meta])* fn $name($db) $body);
    };
    (mysql: $reason:literal; $(#[$meta:meta])* fn $name:ident($db:ident) $body:block) => {
        backend_test!(@expand [#[ignore = $reason]] $(#[$meta])* fn $name($db) $body);
    };
    (@expand [$(#[$mysql:meta])?] $(#[$meta:meta])* fn $name:ident($db:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body($db: &dyn $crate::harness::TestDb) $body

            #[test]
            fn postgres() {
                body(&$crate::harness::PostgresDb::new());
            }

            #[test]
            fn sqlite() {
                body(&$crate::harness::SqliteDb::new());
            }

            #[test]
            $(#[$mysql])?
            fn mysql() {
                body(&$crate::harness::MysqlDb::new());
            }
        }
    };
}

/// Snapshots `$out` (an `Output`) as a transcript named `$name`, with `$dir` as `[dir]`.
macro_rules! assert_transcript {
    ($name:expr, $out:expr, $dir:expr) => {{
        let filters = $crate::harness::transcript::filters($dir);
        let filters: Vec<(&str, &str)> = filters
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        insta::with_settings!({ filters => filters }, {
            insta::assert_snapshot!($name, $out.transcript());
        });
    }};
}
