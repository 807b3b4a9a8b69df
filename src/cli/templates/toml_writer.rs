//! The TOML writer of the templates: a commented plan document built step by step, with
//! strings, keys and inline tables escaped for TOML.

/// The plan text being written.
pub struct Doc {
    out: String,
    /// The template's name on the command line.
    template: &'static str,
    name: String,
    path: String,
}

impl Doc {
    pub fn new(template: &'static str, name: &str, path: &str) -> Doc {
        Doc {
            out: String::new(),
            template,
            name: name.to_string(),
            path: path.to_string(),
        }
    }

    /// The plan text written so far.
    pub fn finish(self) -> String {
        self.out
    }

    pub fn header(&mut self, description: &str) {
        let template = self.template;
        let path = &self.path;
        self.out.push_str(&format!(
            "# Written by `bellows new --template {template}`. Read it, adjust it, then:\n\
             #   bellows check {path}\n\
             #       validates it;\n\
             #   bellows plan {path}\n\
             #       shows the exact SQL, lock and undo of every step;\n\
             #   bellows apply {path} --to PHASE\n\
             #       applies the phases up to PHASE (expand, backfill, switch, contract);\n\
             #       apply them one at a time, redeploying the application in between.\n\
             \n\
             name = {}\n\
             description = {}\n\
             \n\
             [settings]\n\
             lock_timeout = \"500ms\"      # each DDL attempt waits at most this long for its lock\n\
             lock_retries = 20           # then retries, with exponential backoff and jitter\n",
            s(&self.name),
            s(description),
        ));
    }

    pub fn phase(&mut self, phase: &str, what: &str) {
        self.out
            .push_str(&format!("\n# {:=<78}\n", format!("=== {phase} ")));
        let mut first = true;
        for line in what.lines() {
            let mut chars = line.chars();
            let line = match chars.next() {
                Some(c) if first => c.to_uppercase().chain(chars).collect(),
                _ => line.to_string(),
            };
            first = false;
            self.out.push_str(&format!("# {line}\n"));
        }
    }

    pub fn comment(&mut self, text: &str) {
        for line in text.lines() {
            if line.is_empty() {
                self.out.push('\n');
            } else {
                self.out.push_str(&format!("# {line}\n"));
            }
        }
    }

    /// One `[[phase]]` table; values are TOML already; comments trail their key.
    pub fn step(&mut self, phase: &str, keys: &[(&str, String, Option<&str>)]) {
        self.out.push_str(&format!("\n[[{phase}]]\n"));
        for (key, value, comment) in keys {
            let line = format!("{} = {value}", toml_key(key));
            match comment {
                Some(comment) if line.len() < 28 => {
                    self.out.push_str(&format!("{line:<28}# {comment}\n"))
                }
                Some(comment) => self.out.push_str(&format!("{line}  # {comment}\n")),
                None => self.out.push_str(&format!("{line}\n")),
            }
        }
    }

    pub fn backfill(&mut self, table: &str, set: &[(&str, &str)], filter: &str) {
        let set = inline(
            &set.iter()
                .map(|(column, expression)| (*column, s(expression)))
                .collect::<Vec<_>>(),
        );
        self.step(
            "backfill",
            &[
                ("table", s(table), None),
                ("set", set, Some("column = SQL expression")),
                ("where", s(filter), Some("only rows not done yet")),
                (
                    "batch_size",
                    "1000".to_string(),
                    Some("rows per batch and transaction"),
                ),
                ("pause", s("10ms"), Some("sleep between batches")),
            ],
        );
        self.comment(
            "target_batch_time = \"200ms\"   # adapt batch_size so a batch takes about this long\n\
             throttle_query = \"SELECT …\"    # pause while this query returns true",
        );
    }
}

/// A TOML string: a literal string when that needs no escaping, else a basic string.
pub fn s(text: &str) -> String {
    if !text.contains('\'') && !text.chars().any(char::is_control) && text.contains('"') {
        return format!("'{text}'");
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be, else quoted.
pub fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        s(key)
    }
}

/// A TOML inline table of already-TOML values.
pub fn inline(pairs: &[(&str, String)]) -> String {
    let body = pairs
        .iter()
        .map(|(key, value)| format!("{} = {value}", toml_key(key)))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{{ {body} }}")
}
