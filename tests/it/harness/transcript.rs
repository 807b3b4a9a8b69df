//! Transcript snapshots, filtered in one place: times, checksums, process ids and the test's
//! temporary directories are replaced so a snapshot reads the same on every run.

/// The filters of every transcript snapshot; `dir` (a test's temporary directory) becomes
/// `[dir]`.
pub fn filters(dir: &str) -> Vec<(String, String)> {
    vec![
        (regex_escape(dir), "[dir]".into()),
        (r"\b\d+(\.\d+)?(ms|s)\b".into(), "[time]".into()),
        (r"\b\d+m \d+s\b".into(), "[time]".into()),
        (r"[0-9a-f]{64}".into(), "[checksum]".into()),
        (r"\bpid \d+\b".into(), "pid [pid]".into()),
    ]
}

/// `text` as a regular expression matching itself.
pub fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '/' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}
