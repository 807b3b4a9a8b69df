//! Autovacuum workers among the blockers: recognising them (and the anti-wraparound ones, never
//! to be cancelled), and cancelling an ordinary one.

use sqlx::postgres::PgConnection;

use super::attempt::{sqlstate, INSUFFICIENT_PRIVILEGE};
use crate::engine::reporter::AutovacuumKind;

/// Whether a session is an autovacuum worker, and whether it is an anti-wraparound one.
pub fn autovacuum_kind(backend_type: &str, query: &str) -> Option<AutovacuumKind> {
    if backend_type != "autovacuum worker" && !query.starts_with("autovacuum:") {
        return None;
    }
    if query.contains("to prevent wraparound") {
        Some(AutovacuumKind::Wraparound)
    } else {
        Some(AutovacuumKind::Ordinary)
    }
}

/// `pg_cancel_backend`; `Ok(false)` when it did not happen, `Err` when not permitted.
pub(super) async fn cancel_backend(
    control: &mut PgConnection,
    pid: i64,
) -> Result<bool, sqlx::Error> {
    match sqlx::query_scalar::<_, bool>("SELECT pg_cancel_backend($1::int4)")
        .bind(pid)
        .fetch_one(control)
        .await
    {
        Ok(done) => Ok(done),
        Err(error) if sqlstate(&error).as_deref() == Some(INSUFFICIENT_PRIVILEGE) => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autovacuum_workers_are_recognised_and_wraparound_named() {
        assert_eq!(autovacuum_kind("client backend", "SELECT 1"), None);
        assert_eq!(
            autovacuum_kind(
                "autovacuum worker",
                "autovacuum: VACUUM ANALYZE public.users"
            ),
            Some(AutovacuumKind::Ordinary)
        );
        assert_eq!(
            autovacuum_kind(
                "autovacuum worker",
                "autovacuum: VACUUM public.users (to prevent wraparound)"
            ),
            Some(AutovacuumKind::Wraparound)
        );
    }
}
