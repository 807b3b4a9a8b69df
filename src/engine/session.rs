//! The frame around every command that changes a database: connect, take the run lock, run
//! the body, and always release the lock and close, whatever the body did.

use super::backend::{Backend, RunLock, RunLocker};
use super::error::EngineError;

/// Connects to `url`, runs `body`, then closes the backend. The body's error wins over the
/// close's.
pub async fn connected<B: Backend, T>(
    url: &str,
    application_name: &str,
    body: impl AsyncFnOnce(&mut B) -> Result<T, EngineError>,
) -> Result<T, EngineError> {
    let mut backend = B::connect(url, application_name).await?;
    let result = body(&mut backend).await;
    let closed = backend.close().await;
    let value = result?;
    closed?;
    Ok(value)
}

/// Takes the run lock (refusing when another run holds it), runs `body`, and releases the lock
/// on every path. The body's error wins over the release's.
pub async fn with_run_lock<B: RunLocker, T>(
    backend: &mut B,
    body: impl AsyncFnOnce(&mut B) -> Result<T, EngineError>,
) -> Result<T, EngineError> {
    if let RunLock::HeldBy(holder) = backend.try_run_lock().await? {
        return Err(EngineError::RunLocked { holder });
    }
    let result = body(backend).await;
    let released = backend.release_run_lock().await;
    let value = result?;
    released?;
    Ok(value)
}
