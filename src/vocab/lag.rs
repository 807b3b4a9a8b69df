//! `max_lag`: how far a PostgreSQL standby may fall behind before a backfill waits, as a time
//! (`"2s"`) or as WAL not yet replayed (`"16MB"`).

use std::fmt;
use std::time::Duration;

use super::duration::{duration_pattern, parse_duration};

/// The most a standby may lag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxLag {
    /// Replay lag as time: `pg_stat_replication.replay_lag`, or how long replay has not
    /// advanced while WAL waits to be replayed.
    Time(Duration),
    /// WAL sent to a standby and not yet replayed, in bytes.
    Bytes(u64),
}

/// Byte units, powers of 1024 as PostgreSQL's own settings read them (`16MB`).
const BYTE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("kB", 1 << 10),
    ("MB", 1 << 20),
    ("GB", 1 << 30),
    ("TB", 1 << 40),
];

/// The grammar of [`parse_max_lag`] as a regular expression, for the JSON Schema.
pub fn max_lag_pattern() -> String {
    let units: Vec<&str> = BYTE_UNITS.iter().map(|(u, _)| *u).collect();
    let duration = duration_pattern();
    let duration = duration.trim_start_matches('^').trim_end_matches('$');
    format!(r"^(\s*[0-9]+\s*({})\s*|{duration})$", units.join("|"))
}

/// Parses a size (`"16MB"`, `"512kB"`, `"1GB"`, `"4096B"`) or a duration (`"2s"`).
pub fn parse_max_lag(text: &str) -> Result<MaxLag, String> {
    let trimmed = text.trim();
    let digits = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    if let Some((_, size)) = BYTE_UNITS.iter().find(|(u, _)| *u == unit.trim()) {
        let number: u64 = number
            .parse()
            .map_err(|_| format!("`{number}` is not a whole number"))?;
        return number
            .checked_mul(*size)
            .map(MaxLag::Bytes)
            .ok_or_else(|| "it is too large".to_string());
    }
    parse_duration(text).map(MaxLag::Time).map_err(|why| {
        format!("{why}; a size is a whole number with B, kB, MB, GB or TB (\"16MB\")")
    })
}

impl fmt::Display for MaxLag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxLag::Time(d) => write!(f, "{}", humantime::format_duration(*d)),
            MaxLag::Bytes(n) => f.write_str(&bytes(*n)),
        }
    }
}

/// A byte count in the largest unit that divides it (`16MB`, `1536kB`, `100B`).
pub fn bytes(n: u64) -> String {
    let (unit, size) = BYTE_UNITS
        .iter()
        .rev()
        .find(|(_, size)| n >= *size && n.is_multiple_of(*size))
        .unwrap_or(&BYTE_UNITS[0]);
    format!("{}{unit}", n / size)
}

impl serde::Serialize for MaxLag {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_parse_and_print_back() {
        assert_eq!(parse_max_lag("16MB"), Ok(MaxLag::Bytes(16 << 20)));
        assert_eq!(parse_max_lag(" 512 kB "), Ok(MaxLag::Bytes(512 << 10)));
        assert_eq!(parse_max_lag("4096B"), Ok(MaxLag::Bytes(4096)));
        assert_eq!(
            parse_max_lag("2s"),
            Ok(MaxLag::Time(Duration::from_secs(2)))
        );
        assert!(parse_max_lag("16mb").unwrap_err().contains("16MB"));
        assert!(parse_max_lag("1.5MB").is_err());
        assert!(parse_max_lag("").is_err());
        assert_eq!(MaxLag::Bytes(16 << 20).to_string(), "16MB");
        assert_eq!(MaxLag::Bytes(1536 << 10).to_string(), "1536kB");
        assert_eq!(MaxLag::Bytes(100).to_string(), "100B");
        assert_eq!(
            MaxLag::Time(Duration::from_millis(1500)).to_string(),
            "1s 500ms"
        );
        assert!(max_lag_pattern().contains("kB|MB|GB"));
    }
}
