//! What the figures were measured on: CPUs, memory, the server's version and the settings that
//! matter most for write speed.

use super::conn::Conn;
use anyhow::Result;

#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: Option<String>,
    pub memory_gib: Option<f64>,
    /// `version()` as the server reports it.
    pub server: String,
    /// `name = setting` of a few server settings.
    pub settings: Vec<String>,
}

impl Machine {
    pub async fn read(conn: &mut Conn) -> Result<Machine> {
        let server = conn.text("SELECT version()").await?;
        let settings: Vec<(String, String)> = match conn {
            Conn::Postgres(pg) => sqlx::query_as(
                "SELECT name, current_setting(name) FROM pg_settings
                 WHERE name IN ('shared_buffers', 'max_wal_size', 'synchronous_commit', 'fsync', 'wal_level', 'checkpoint_timeout')
                 ORDER BY name",
            )
            .fetch_all(&mut *pg)
            .await?,
            Conn::Mysql(my) => sqlx::query_as(
                "SELECT LOWER(VARIABLE_NAME), VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES
                 WHERE VARIABLE_NAME IN ('INNODB_BUFFER_POOL_SIZE', 'INNODB_FLUSH_LOG_AT_TRX_COMMIT', 'INNODB_LOG_FILE_SIZE', 'LOG_BIN', 'SYNC_BINLOG', 'INNODB_DOUBLEWRITE')
                 ORDER BY 1",
            )
            .fetch_all(&mut *my)
            .await?,
        };
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Ok(Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: cpu_model(&cpuinfo),
            memory_gib: mem_total_kib(&meminfo).map(|kib| kib as f64 / 1024.0 / 1024.0),
            server,
            settings: settings
                .into_iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect(),
        })
    }
}

pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, model)| model.trim().to_string())
}

pub fn mem_total_kib(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
