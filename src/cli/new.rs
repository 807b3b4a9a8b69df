//! `bellows new`: write the next numbered plan (`plans/NNNN_NAME.toml`) from a template.

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::args::{NewArgs, Template};
use super::templates::{self, Field, Need, Values};
use super::{Exit, ExitError};
use crate::plan::load::load_str;
use crate::plan::render::render;

pub fn run(args: NewArgs) -> anyhow::Result<Exit> {
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let name = match args.name {
        Some(name) => name,
        None if terminal => ask_name()?,
        None => {
            return Err(invalid(
                "bellows new needs a NAME for the plan (there is no terminal to ask on): \
                 `bellows new users_email_verified`",
            ))
        }
    };
    check_name(&name).map_err(invalid)?;
    let template = match args.template {
        Some(template) => template,
        None if terminal => ask_template()?,
        None => Template::AddColumn,
    };
    let values = Values {
        table: args.table,
        column: args.column,
        to: args.to,
        type_: args.type_,
        from: args.from,
        copy_and_sync: args.dialect != crate::dialect::DialectKind::Postgres,
        mysql: args.dialect == crate::dialect::DialectKind::Mysql,
    };
    let values = complete(template, values)?;
    if values.to.is_some() && values.to == values.column {
        return Err(invalid("--new-column must differ from --column"));
    }

    let number = next_number(&args.dir, &name)?;
    let path = args.dir.join(format!("{number:04}_{name}.toml"));
    let text = plan_text(template, &name, &path, &values)?;
    create(&args.dir, &path, &text)?;

    let shown = path.display();
    println!("{shown}");
    eprintln!("next: edit it, then `bellows check {shown}` and `bellows plan {shown}`");
    Ok(Exit::Success)
}

/// Checks the values given by flags, then asks for the missing ones on a terminal; without a
/// terminal a missing required value is an error naming its flag.
fn complete(template: Template, mut values: Values) -> anyhow::Result<Values> {
    let template_name = templates::template_name(template);
    for (field, _) in templates::fields(template, values.copy_and_sync) {
        if let Some(value) = values.get(*field) {
            templates::check_value(*field, value).map_err(invalid)?;
        }
    }
    let missing: Vec<(Field, Need)> = templates::fields(template, values.copy_and_sync)
        .iter()
        .copied()
        .filter(|(field, _)| values.get(*field).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(values);
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        for (field, need) in missing {
            let answer = ask(templates::prompt(template, field), field, need)?;
            values.set(field, answer);
        }
        return Ok(values);
    }
    let flags: Vec<&str> = missing
        .iter()
        .filter(|(_, need)| *need == Need::Required)
        .map(|(field, _)| field.flag())
        .collect();
    if !flags.is_empty() {
        return Err(invalid(format!(
            "the {template_name} template needs {} (there is no terminal to ask on)",
            join_flags(&flags)
        )));
    }
    Ok(values)
}

/// The plan's TOML text, refused unless the loader finds it valid (the values are the user's;
/// the loader has the last word on whether they make a plan).
fn plan_text(
    template: Template,
    name: &str,
    path: &Path,
    values: &Values,
) -> anyhow::Result<String> {
    let shown = path.display().to_string();
    let text = templates::render(template, name, &shown, values).map_err(|field| {
        invalid(format!(
            "the {} template needs {}",
            templates::template_name(template),
            field.flag()
        ))
    })?;
    let loaded = load_str(path, &text);
    if loaded.has_errors() {
        let rendered: Vec<String> = loaded
            .diagnostics
            .iter()
            .map(|d| render(&loaded.source, d))
            .collect();
        return Err(invalid(format!(
            "the values given do not make a valid plan; nothing was written:\n{}",
            rendered.join("\n")
        )));
    }
    Ok(text)
}

/// Writes `text` to a new file at `path` in `dir`; never overwrites a plan.
fn create(dir: &Path, path: &Path, text: &str) -> anyhow::Result<()> {
    let shown = path.display();
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    let mut file = match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(invalid(format!(
                "{shown} already exists; bellows new never overwrites a plan"
            )))
        }
        Err(error) => return Err(error).with_context(|| format!("cannot create {shown}")),
    };
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {shown}"))
}

fn invalid(message: impl Into<String>) -> anyhow::Error {
    ExitError::new(Exit::Invalid, message).into()
}

fn join_flags(flags: &[&str]) -> String {
    match flags {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Asks for the plan's name on the terminal.
fn ask_name() -> anyhow::Result<String> {
    let answer: String = dialoguer::Input::<String>::new()
        .with_prompt("Plan name (letters, digits, _ and -; e.g. users_email_verified)")
        .validate_with(|text: &String| check_name(text.trim()))
        .interact_text()
        .context("cannot read the answer from the terminal")?;
    Ok(answer.trim().to_string())
}

/// Asks which template to start from (default add-column).
fn ask_template() -> anyhow::Result<Template> {
    use clap::ValueEnum;
    let templates = Template::value_variants();
    let items: Vec<String> = templates
        .iter()
        .map(|t| {
            let name = templates::template_name(*t);
            match templates::template_about(*t) {
                "" => name.to_string(),
                about => format!("{name:<14} {about}"),
            }
        })
        .collect();
    let chosen = dialoguer::Select::new()
        .with_prompt("Template")
        .items(&items)
        .default(0)
        .interact()
        .context("cannot read the answer from the terminal")?;
    Ok(templates[chosen])
}

/// Asks for one value on the terminal; an optional value may be left empty.
fn ask(prompt: &str, field: Field, need: Need) -> anyhow::Result<Option<String>> {
    let answer: String = dialoguer::Input::<String>::new()
        .with_prompt(prompt)
        .allow_empty(need == Need::Optional)
        .validate_with(|text: &String| -> Result<(), String> {
            if text.trim().is_empty() && need == Need::Optional {
                return Ok(());
            }
            templates::check_value(field, text.trim())
        })
        .interact_text()
        .context("cannot read the answer from the terminal")?;
    let answer = answer.trim().to_string();
    Ok((!answer.is_empty()).then_some(answer))
}

/// A plan name must be usable as a file stem on every system.
pub fn check_name(name: &str) -> Result<(), String> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > 100 || !valid_chars || !starts_well {
        return Err(format!(
            "`{name}` cannot be a plan name: use up to 100 letters, digits, `_` and `-`, \
             starting with a letter or digit (e.g. `users_email_verified`)"
        ));
    }
    Ok(())
}

/// The number after the highest `NNNN_*.toml` in `dir` (1 when there is none). Refuses a name
/// another plan in the directory already has.
fn next_number(dir: &Path, name: &str) -> anyhow::Result<u32> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(1),
        Err(error) => {
            return Err(error)
                .with_context(|| format!("cannot read the directory {}", dir.display()))
        }
    };
    let mut highest = 0;
    for entry in entries {
        let entry =
            entry.with_context(|| format!("cannot read the directory {}", dir.display()))?;
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let Some((number, stem)) = numbered_plan(&file_name) else {
            continue;
        };
        if stem == name {
            let existing: PathBuf = dir.join(file_name.as_ref());
            return Err(invalid(format!(
                "{} already has the name `{name}`; plans are told apart by name, choose another",
                existing.display()
            )));
        }
        highest = highest.max(number);
    }
    highest
        .checked_add(1)
        .ok_or_else(|| invalid(format!("{} has no plan number left", dir.display())))
}

/// `0003_users_x.toml` → `(3, "users_x")`.
fn numbered_plan(file_name: &str) -> Option<(u32, &str)> {
    let stem = file_name.strip_suffix(".toml")?;
    let (digits, rest) = stem.split_once('_')?;
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_file_stems() {
        for good in ["users_email_verified", "add-index", "2024_fix", "A1"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "../x",
            "a/b",
            "a b",
            "-x",
            "_x",
            ".hidden",
            "é",
            &"x".repeat(101),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbered_plans_are_recognised() {
        assert_eq!(numbered_plan("0003_users_x.toml"), Some((3, "users_x")));
        assert_eq!(numbered_plan("12345_big.toml"), Some((12345, "big")));
        assert_eq!(numbered_plan("notes.toml"), None);
        assert_eq!(numbered_plan("0003_x.md"), None);
        assert_eq!(numbered_plan("v2_x.toml"), None);
    }

    #[test]
    fn the_next_number_follows_the_highest() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(next_number(&dir.path().join("missing"), "x").unwrap(), 1);
        for file in [
            "0001_a.toml",
            "0007_b.toml",
            "0003_c.toml",
            "README.md",
            "9999_d.txt",
        ] {
            fs::write(dir.path().join(file), "").unwrap();
        }
        assert_eq!(next_number(dir.path(), "x").unwrap(), 8);
        assert!(next_number(dir.path(), "b").is_err());
    }

    #[test]
    fn flags_are_listed_in_words() {
        assert_eq!(join_flags(&["--table"]), "--table");
        assert_eq!(
            join_flags(&["--table", "--column", "--type"]),
            "--table, --column and --type"
        );
    }
}
