//! An application writing beside a walk: statements run one after another on their own
//! connection, on PostgreSQL or MySQL/MariaDB, until stopped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use sqlx::Connection;

/// The stop flag, the count of writes done and the writing thread.
pub type Application = (Arc<AtomicBool>, Arc<AtomicU64>, JoinHandle<()>);

/// Runs `writes` (statements taking the write's number as their one parameter) in turn on a
/// connection of `DB` to `url` until stopped; a failed write fails the test.
pub fn application<DB>(url: &str, writes: &'static [&'static str]) -> Application
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let (url, flag, count) = (url.to_string(), stop.clone(), done.clone());
    let thread = std::thread::spawn(move || {
        crate::harness::runtime().block_on(async move {
            let mut conn = DB::Connection::connect(&url).await.unwrap();
            let mut n: i64 = 0;
            while !flag.load(Ordering::SeqCst) {
                n += 1;
                let sql = writes[n as usize % writes.len()];
                sqlx::query::<DB>(sql)
                    .bind(n)
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("application write {sql}: {e}"));
                count.fetch_add(1, Ordering::SeqCst);
            }
            let _ = conn.close().await;
        })
    });
    (stop, done, thread)
}

/// Applies `plan` on `db` while `app` writes (started before, stopped after); the apply must
/// succeed and the application must have written throughout it. `what` names the case.
pub fn apply_beside(db: &dyn crate::harness::TestDb, plan: &str, app: Application, what: &str) {
    let (stop, done, writer) = app;
    while done.load(Ordering::SeqCst) < 20 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let before = done.load(Ordering::SeqCst);
    let out = crate::harness::Cli::apply(db)
        .yes()
        .plan(plan)
        .run_unchecked();
    let during = done.load(Ordering::SeqCst) - before;
    stop.store(true, Ordering::SeqCst);
    writer.join().expect("the application writer");
    out.expect_code(0);
    assert!(
        during > 10,
        "{what}: the application wrote during the walk ({during})"
    );
}
