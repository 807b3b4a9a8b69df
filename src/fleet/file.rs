//! The databases file (`--databases FILE`): the fleet's databases by name, each with its URL or
//! the environment variable that holds it, and optional groups. Mistakes are diagnostics with
//! spans, rendered like a plan's (file:line:col, the line, a caret, "did you mean").
//!
//! ```toml
//! [databases.tenant-001]
//! url_env = "TENANT_001_URL"
//!
//! [databases.staging]
//! url = "postgres://app@staging-db/app"
//!
//! [groups]
//! canary = ["tenant-001"]
//! ```

use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{Database, Fleet};
use crate::dialect::DialectKind;
use crate::plan::load::Source;
use crate::vocab::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::vocab::reader::{describe, KeyKind, TableReader};
use crate::vocab::Span;

/// A databases file as read: the fleet when it has no errors, and every finding.
#[derive(Debug, Clone)]
pub struct LoadedFleet {
    pub source: Source,
    pub fleet: Option<Fleet>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads and loads a databases file; `env` looks up the variables `url_env` names.
pub fn load_file(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> std::io::Result<LoadedFleet> {
    let text = std::fs::read_to_string(path)?;
    Ok(load_str(path, &text, env))
}

/// Loads databases-file text as if read from `path`.
pub fn load_str(path: &Path, text: &str, env: &dyn Fn(&str) -> Option<String>) -> LoadedFleet {
    let source = Source {
        path: path.to_path_buf(),
        text: text.to_string(),
    };
    let mut diagnostics = Vec::new();
    let fleet = parse(text, env, &mut diagnostics);
    diagnostics.sort_by_key(|d| d.span.as_ref().map(|s| s.start).unwrap_or(0));
    let fleet = fleet.filter(|_| !diagnostics.iter().any(Diagnostic::is_error));
    LoadedFleet {
        source,
        fleet,
        diagnostics,
    }
}

fn parse(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Fleet> {
    let (document, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        diagnostics.extend(errors.into_iter().map(|error| {
            Diagnostic::error(
                Code::Syntax,
                error.span(),
                format!("invalid TOML: {}", error.message().trim()),
            )
            .with_help("see https://toml.io; each database is a table `[databases.NAME]`")
        }));
        return None;
    }
    let top = document.get_ref();
    let mut reader = TableReader::new(top, document.span(), "the databases file", diagnostics);
    reader.accept("databases", KeyKind::String, "the databases, by name");
    reader.accept("groups", KeyKind::String, "named lists of databases");
    reader.finish();

    let databases = match top.get("databases") {
        Some(value) => read_databases(value, env, diagnostics),
        None => {
            diagnostics.push(
                Diagnostic::error(Code::MissingKey, None, "the databases file lists no databases")
                    .with_help("add a table per database: `[databases.NAME]` with `url = \"postgres://…\"` or `url_env = \"VARIABLE\"`"),
            );
            Vec::new()
        }
    };
    let declared: Vec<String> = match top.get("databases").map(|v| v.get_ref()) {
        Some(DeValue::Table(table)) => table.iter().map(|(k, _)| k.get_ref().to_string()).collect(),
        _ => Vec::new(),
    };
    let groups = match top.get("groups") {
        Some(value) => read_groups(value, &declared, diagnostics),
        None => Vec::new(),
    };
    Some(Fleet { databases, groups })
}

const URL_DOC: &str = "the database URL: postgres://user@host/db or sqlite:path.db";
const URL_ENV_DOC: &str =
    "the environment variable that holds the database URL (keeps passwords out of the file)";

fn read_databases(
    value: &Spanned<DeValue<'_>>,
    env: &dyn Fn(&str) -> Option<String>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Database> {
    let DeValue::Table(table) = value.get_ref() else {
        diagnostics.push(not_a_table("databases", value));
        return Vec::new();
    };
    if table.is_empty() {
        diagnostics.push(
            Diagnostic::error(Code::MissingKey, Some(value.span()), "`databases` is empty")
                .with_help("add a table per database: `[databases.NAME]` with `url` or `url_env`"),
        );
    }
    let mut databases = Vec::new();
    for (key, item) in table.iter() {
        let name = key.get_ref().to_string();
        let DeValue::Table(entry) = item.get_ref() else {
            diagnostics.push(not_a_table(&format!("databases.{name}"), item));
            continue;
        };
        if let Some(url) = read_url(&name, entry, item.span(), env, diagnostics) {
            databases.push(Database { name, url });
        }
    }
    databases
}

/// The URL of one database: `url`, or the value of the variable `url_env` names.
fn read_url(
    name: &str,
    entry: &DeTable<'_>,
    span: Span,
    env: &dyn Fn(&str) -> Option<String>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<String> {
    let context = format!("database `{name}`");
    let mut reader = TableReader::new(entry, span.clone(), context.clone(), diagnostics);
    let url = reader.opt_str("url", KeyKind::String, URL_DOC);
    let variable = reader.opt_str("url_env", KeyKind::String, URL_ENV_DOC);
    let (has_url, has_env) = (reader.has("url"), reader.has("url_env"));
    reader.finish();
    let value_span = |key: &str| entry.get(key).map(|v| v.span());
    let url = match (url, variable) {
        (Some(_), Some(_)) => {
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    value_span("url_env"),
                    format!("{context} has both `url` and `url_env`"),
                )
                .with_help("keep one: `url_env` keeps the password out of the file"),
            );
            return None;
        }
        (Some(url), None) => url,
        (None, Some(variable)) => match env(&variable) {
            Some(url) if !url.trim().is_empty() => url,
            _ => {
                diagnostics.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        value_span("url_env"),
                        format!("the environment variable `{variable}` ({context}) is not set"),
                    )
                    .with_help(format!(
                        "export {variable}=postgres://… before running bellows"
                    )),
                );
                return None;
            }
        },
        (None, None) => {
            if !has_url && !has_env {
                diagnostics.push(
                    Diagnostic::error(
                        Code::MissingKey,
                        Some(span),
                        format!("{context} has neither `url` nor `url_env`"),
                    )
                    .with_help("add `url_env = \"VARIABLE\"` (a variable that holds the URL) or `url = \"…\"`"),
                );
            }
            return None;
        }
    };
    if DialectKind::from_url(&url).is_none() {
        // NOTE: only the scheme is shown; the URL may hold a password.
        let scheme = url.split(':').next().unwrap_or_default();
        let key = if has_url { "url" } else { "url_env" };
        diagnostics.push(
            Diagnostic::error(
                Code::InvalidValue,
                value_span(key),
                format!(
                    "the URL of {context} has the scheme `{scheme}:`, which bellows does not know"
                ),
            )
            .with_help("use postgres://… (or postgresql://…) or sqlite:path.db"),
        );
        return None;
    }
    Some(url)
}

fn read_groups(
    value: &Spanned<DeValue<'_>>,
    declared: &[String],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(String, Vec<String>)> {
    let DeValue::Table(table) = value.get_ref() else {
        diagnostics.push(not_a_table("groups", value));
        return Vec::new();
    };
    let names: Vec<&str> = declared.iter().map(String::as_str).collect();
    let mut groups = Vec::new();
    for (key, item) in table.iter() {
        let group = key.get_ref().to_string();
        if names.contains(&group.as_str()) {
            diagnostics.push(
                Diagnostic::error(
                    Code::Duplicate,
                    Some(key.span()),
                    format!("the group `{group}` has the name of a database"),
                )
                .with_help("give the group another name, so `--canary` knows which is meant"),
            );
        }
        let DeValue::Array(items) = item.get_ref() else {
            diagnostics.push(Diagnostic::error(
                Code::InvalidValue,
                Some(item.span()),
                format!(
                    "the group `{group}` must be a list of database names, found {}",
                    describe(item.get_ref())
                ),
            ));
            continue;
        };
        let mut members = Vec::new();
        for member in items.iter() {
            match member.get_ref() {
                DeValue::String(text) if names.contains(&text.as_ref()) => {
                    members.push(text.to_string())
                }
                DeValue::String(text) => {
                    let help = match did_you_mean(text, names.iter().copied()) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => format!("the databases are: {}", names.join(", ")),
                    };
                    diagnostics.push(
                        Diagnostic::error(
                            Code::InvalidValue,
                            Some(member.span()),
                            format!("the group `{group}` lists `{text}`, which is not a database of the file"),
                        )
                        .with_help(help),
                    );
                }
                other => diagnostics.push(Diagnostic::error(
                    Code::InvalidValue,
                    Some(member.span()),
                    format!(
                        "the group `{group}` must list database names, found {}",
                        describe(other)
                    ),
                )),
            }
        }
        groups.push((group, members));
    }
    groups
}

fn not_a_table(name: &str, value: &Spanned<DeValue<'_>>) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidValue,
        Some(value.span()),
        format!("`{name}` must be a table, found {}", describe(value.get_ref())),
    )
    .with_help("write `[databases.NAME]` with `url` or `url_env`; groups as `[groups]` with `NAME = [\"database\", …]`")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::render::render_with;

    fn env(name: &str) -> Option<String> {
        match name {
            "TENANT_2_URL" => Some("postgres://app:secret@db/tenant_2".into()),
            _ => None,
        }
    }

    fn load(text: &str) -> LoadedFleet {
        load_str(Path::new("databases.toml"), text, &env)
    }

    /// Every error of the file, rendered as the CLI prints it.
    fn errors(text: &str) -> String {
        let loaded = load(text);
        assert!(loaded.fleet.is_none(), "expected errors in {text}");
        loaded
            .diagnostics
            .iter()
            .map(|d| render_with(&loaded.source, d, false))
            .collect()
    }

    #[test]
    fn a_fleet_is_read_in_file_order_with_urls_from_the_environment() {
        let loaded = load(
            r#"
[databases.tenant-1]
url = "postgres://app@db/tenant_1"

[databases.tenant-2]
url_env = "TENANT_2_URL"

[databases.local]
url = "sqlite:local.db"

[groups]
canary = ["tenant-2"]
"#,
        );
        assert_eq!(loaded.diagnostics, vec![]);
        let fleet = loaded.fleet.unwrap();
        let names: Vec<&str> = fleet.databases.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["tenant-1", "tenant-2", "local"]);
        assert_eq!(fleet.databases[1].url, "postgres://app:secret@db/tenant_2");
        assert_eq!(
            fleet.groups,
            vec![("canary".to_string(), vec!["tenant-2".to_string()])]
        );
    }

    #[test]
    fn mistakes_are_reported_like_plan_errors() {
        insta::assert_snapshot!(errors(
            r#"
[databases.tenant-1]
url = "redis://root:pw@db/tenant_1"

[databases.tenant-2]
url_env = "MISSING_URL"

[databases.tenant-3]
uri = "postgres://db/tenant_3"

[databases.tenant-4]
url = "sqlite:four.db"
url_env = "TENANT_2_URL"

[grups]
canary = ["tenant-1"]

[groups]
canary = ["tenant-l", 7]
"#
        ));
    }

    #[test]
    fn a_file_without_databases_says_how_to_write_one() {
        assert!(errors("").contains("lists no databases"));
        assert!(errors("databases = 3").contains("must be a table"));
        assert!(errors("[databases\n").contains("invalid TOML"));
    }
}
