//! Fleets: one plan over many databases (a service's shards, its tenants, its environments).
//!
//! A fleet is a list of named databases, from a databases file ([`file`]) or from `-d` given
//! more than once ([`Fleet::from_urls`]). [`schedule`] decides, as pure functions, which
//! database starts next, when the run stops and what its exit is; [`runner`] runs the ordinary
//! single-database `apply`, `rollback` or `status` of the engine for each database, several at
//! a time, and reports every event tagged with the database's name (never its URL).

pub mod file;
pub mod runner;
pub mod schedule;

/// One database of a fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    /// The name everything shows (the URL may hold a password).
    pub name: String,
    pub url: String,
}

/// The databases a command runs over, in order, and the named groups of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fleet {
    pub databases: Vec<Database>,
    /// `[groups]` of the databases file: a name and the databases it lists, in file order.
    pub groups: Vec<(String, Vec<String>)>,
}

impl Fleet {
    /// A fleet of URLs given with `-d`, each named from its URL without the password (the
    /// database's name, or its host and path when two would share one).
    pub fn from_urls(urls: &[String]) -> Fleet {
        let short: Vec<String> = urls.iter().map(|u| short_name(u)).collect();
        let long: Vec<String> = urls.iter().map(|u| long_name(u)).collect();
        let mut names: Vec<String> = Vec::new();
        for (i, name) in short.iter().enumerate() {
            let shared = short.iter().filter(|other| *other == name).count() > 1;
            let mut name = if shared {
                long[i].clone()
            } else {
                name.clone()
            };
            if names.contains(&name) {
                name = format!("{name}#{}", i + 1);
            }
            names.push(name);
        }
        Fleet {
            databases: names
                .into_iter()
                .zip(urls)
                .map(|(name, url)| Database {
                    name,
                    url: url.clone(),
                })
                .collect(),
            groups: Vec::new(),
        }
    }

    /// The databases `--canary` names: a number (the first N), a group or a database.
    pub fn canaries(&self, spec: &str) -> Result<Vec<usize>, String> {
        if let Ok(count) = spec.parse::<usize>() {
            if count == 0 || count >= self.databases.len() {
                return Err(format!(
                    "--canary {count}: give a number of databases from 1 to {} (the fleet has {}), a group or a database name",
                    self.databases.len().saturating_sub(1),
                    self.databases.len()
                ));
            }
            return Ok((0..count).collect());
        }
        let names: Vec<&String> = match self.groups.iter().find(|(group, _)| group == spec) {
            Some((_, members)) => members.iter().collect(),
            None => self
                .databases
                .iter()
                .map(|d| &d.name)
                .filter(|n| *n == spec)
                .collect(),
        };
        if names.is_empty() {
            let known = self
                .groups
                .iter()
                .map(|(g, _)| g.as_str())
                .chain(self.databases.iter().map(|d| d.name.as_str()));
            let hint = match crate::vocab::diagnostic::did_you_mean(spec, known) {
                Some(near) => format!("; did you mean `{near}`?"),
                None => String::new(),
            };
            return Err(format!(
                "--canary {spec}: no group or database of the fleet is named `{spec}`{hint}"
            ));
        }
        Ok(self
            .databases
            .iter()
            .enumerate()
            .filter(|(_, d)| names.contains(&&d.name))
            .map(|(i, _)| i)
            .collect())
    }

    /// The length of the longest name, to line names up.
    pub fn name_width(&self) -> usize {
        self.databases
            .iter()
            .map(|d| d.name.chars().count())
            .max()
            .unwrap_or(0)
    }
}

/// The URL without its scheme, user, password and query: `db.internal:5432/tenant_7`.
fn long_name(url: &str) -> String {
    let rest = url.split_once("://").map_or_else(
        || url.split_once(':').map_or(url, |(_, path)| path),
        |(_, rest)| rest,
    );
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    rest.trim_end_matches('/').to_string()
}

/// The database's own name: the last part of the URL's path (`tenant_7`, `app.db`).
fn short_name(url: &str) -> String {
    let long = long_name(url);
    match long.rsplit_once('/') {
        Some((_, last)) if !last.is_empty() => last.to_string(),
        _ => long,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(urls: &[&str]) -> Vec<String> {
        let urls: Vec<String> = urls.iter().map(|u| u.to_string()).collect();
        Fleet::from_urls(&urls)
            .databases
            .into_iter()
            .map(|d| d.name)
            .collect()
    }

    #[test]
    fn databases_given_with_d_are_named_from_their_url_without_the_password() {
        let cases: &[(&[&str], &[&str])] = &[
            (
                &[
                    "postgres://app:secret@db/tenant_1",
                    "postgres://app@db/tenant_2",
                ],
                &["tenant_1", "tenant_2"],
            ),
            (
                &[
                    "postgres://a:pw@east/app?sslmode=require",
                    "postgres://west:5432/app",
                ],
                &["east/app", "west:5432/app"],
            ),
            (
                &["sqlite:data/one.db", "sqlite:///tmp/two.db"],
                &["one.db", "two.db"],
            ),
            (
                &["sqlite:same.db", "sqlite:same.db"],
                &["same.db", "same.db#2"],
            ),
        ];
        for (urls, expected) in cases {
            assert_eq!(names(urls), *expected, "{urls:?}");
            assert!(names(urls)
                .iter()
                .all(|n| !n.contains("secret") && !n.contains("pw")));
        }
    }

    fn fleet() -> Fleet {
        let mut fleet = Fleet::from_urls(&[
            "sqlite:a.db".to_string(),
            "sqlite:b.db".to_string(),
            "sqlite:c.db".to_string(),
        ]);
        fleet.groups = vec![("canary".into(), vec!["c.db".into(), "a.db".into()])];
        fleet
    }

    #[test]
    fn canaries_are_a_count_a_group_or_a_database() {
        let fleet = fleet();
        assert_eq!(fleet.canaries("2"), Ok(vec![0, 1]));
        assert_eq!(fleet.canaries("canary"), Ok(vec![0, 2]));
        assert_eq!(fleet.canaries("b.db"), Ok(vec![1]));
        assert!(fleet.canaries("3").unwrap_err().contains("from 1 to 2"));
        assert!(fleet.canaries("0").is_err());
        assert!(fleet
            .canaries("canari")
            .unwrap_err()
            .contains("did you mean `canary`?"));
    }
}
