//! Scratch databases: the benchmark creates one per contender and drops all of them, also
//! when a contender fails or the run is interrupted.

use std::sync::Mutex;

use anyhow::{Context, Result};

use super::conn::{is_mysql_url, Conn};

/// The server the benchmark was pointed at, and the scratch databases it made there.
pub struct Server {
    url: String,
    created: Mutex<Vec<String>>,
}

/// How to start the machine's PostgreSQL, for error messages.
pub const START_HINT: &str = "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or point --database (or DATABASE_URL) at a server where this user may create databases";

/// How to start the machine's MariaDB, for error messages.
pub const MYSQL_START_HINT: &str = "start it with `service mariadb start`, or point --database at a server where this user may create databases";

impl Server {
    /// Checks that `url` is reachable and returns the server.
    pub async fn connect(url: &str) -> Result<Server> {
        let server = Server {
            url: url.to_string(),
            created: Mutex::new(Vec::new()),
        };
        server.admin().await?;
        Ok(server)
    }

    /// A connection to the database named in the server's URL.
    pub async fn admin(&self) -> Result<Conn> {
        connect(&self.url, "bellows-bench")
            .await
            .with_context(|| match is_mysql_url(&self.url) {
                true => format!(
                    "cannot connect to MySQL/MariaDB at {}; {MYSQL_START_HINT}",
                    redact(&self.url)
                ),
                false => format!(
                    "cannot connect to PostgreSQL at {}; {START_HINT}",
                    redact(&self.url)
                ),
            })
    }

    /// Creates a new empty database `bellows_bench_<pid>_<label>` and returns its URL.
    pub async fn create_database(&self, label: &str) -> Result<String> {
        let name = format!("bellows_bench_{}_{label}", std::process::id());
        let mut admin = self.admin().await?;
        drop_database(&mut admin, &name).await?;
        admin
            .execute(&format!("CREATE DATABASE {}", quote_ident(&admin, &name)))
            .await
            .with_context(|| format!("cannot create the scratch database {name}"))?;
        self.created.lock().unwrap().push(name.clone());
        Ok(database_url(&self.url, &name))
    }

    /// Drops a database made by [`Server::create_database`], given its URL.
    pub async fn drop_database(&self, url: &str) -> Result<()> {
        let name = database_name(url).unwrap_or_default().to_string();
        let mut admin = self.admin().await?;
        drop_database(&mut admin, &name).await?;
        self.created.lock().unwrap().retain(|n| *n != name);
        Ok(())
    }

    /// Drops every scratch database still there; returns the names it could not drop.
    pub async fn drop_all(&self) -> Vec<String> {
        let names = self.created.lock().unwrap().clone();
        let mut left = Vec::new();
        for name in names {
            let url = database_url(&self.url, &name);
            if self.drop_database(&url).await.is_err() {
                left.push(name);
            }
        }
        left
    }
}

/// Connects (see [`Conn::connect`]).
pub async fn connect(url: &str, application_name: &str) -> Result<Conn> {
    Conn::connect(url, application_name).await
}

async fn drop_database(admin: &mut Conn, name: &str) -> Result<()> {
    if let Conn::Postgres(pg) = admin {
        // NOTE: `DROP DATABASE … WITH (FORCE)` exists only from PostgreSQL 13; ending the
        // sessions first works from 12 on (a workload connection left over by an interrupted
        // run, say).
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(name)
        .execute(&mut *pg)
        .await?;
    }
    let sql = format!("DROP DATABASE IF EXISTS {}", quote_ident(admin, name));
    admin
        .execute(&sql)
        .await
        .with_context(|| format!("cannot drop the scratch database {name}"))?;
    Ok(())
}

fn quote_ident(conn: &Conn, name: &str) -> String {
    match conn {
        Conn::Postgres(_) => format!("\"{}\"", name.replace('"', "\"\"")),
        Conn::Mysql(_) => format!("`{}`", name.replace('`', "``")),
    }
}

/// `url` with its database (the path) replaced by `name`; the query string is kept.
pub fn database_url(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{}", &base[..path_start], name);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// The database named in `url`'s path, if any.
pub fn database_name(url: &str) -> Option<&str> {
    let base = url.split('?').next()?;
    let authority_start = base.find("://")? + 3;
    let path = &base[authority_start..];
    let name = &path[path.find('/')? + 1..];
    (!name.is_empty()).then_some(name)
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &authority[..colon],
            &url[scheme_end + at..]
        ),
        _ => url.to_string(),
    }
}
