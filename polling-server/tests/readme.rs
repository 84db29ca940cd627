//! README.md's tables against the server they describe: the flag table
//! lists every long flag of [`Config`] with its environment variable and
//! default (and no flag the server lacks), and the error table lists every
//! error code the server can answer, in a row of its status.
//!
//! The flags come from clap ([`CommandFactory::command`]). The error codes
//! have no list in the code: their one mapping is the `code()` and
//! `status()` matches of `src/error.rs` (and `PollError::code` in
//! `polling-core`), so the test reads those matches from the source text
//! rather than keep a second list that could drift from them.

use std::collections::BTreeMap;

use clap::CommandFactory;
use polling_server::Config;
use warp::http::StatusCode;

const README: &str = include_str!("../../README.md");
const SERVER_ERRORS: &str = include_str!("../src/error.rs");
const CORE_ERRORS: &str = include_str!("../../polling-core/src/error.rs");

#[test]
fn the_flag_table_lists_every_flag_with_its_environment_variable_and_default() {
    let table = table_after(README, "| flag | environment | default |");
    let rows: BTreeMap<&str, &[String]> = table
        .iter()
        .map(|row| (row[0].as_str(), row.as_slice()))
        .collect();
    let mut problems = Vec::new();
    // The flags with a row, and how many flags the server has.
    let mut flags = Vec::new();
    let mut server_flags = 0;
    for arg in Config::command().get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        server_flags += 1;
        let flag = format!("`--{long}`");
        let Some(row) = rows.get(flag.as_str()) else {
            problems.push(format!("{flag} has no row"));
            continue;
        };
        flags.push(flag.clone());
        let env = match arg.get_env() {
            Some(env) => format!("`{}`", env.to_string_lossy()),
            None => "none".to_owned(),
        };
        if row[1] != env {
            problems.push(format!(
                "{flag}: environment {:?}, expected {env:?}",
                row[1]
            ));
        }
        for default in arg.get_default_values() {
            let default = format!("`{}`", default.to_string_lossy());
            if !row[2].contains(&default) {
                problems.push(format!(
                    "{flag}: the default {default} is not in {:?}",
                    row[2]
                ));
            }
        }
    }
    for row in &table {
        if !flags.contains(&row[0]) {
            problems.push(format!("{} is not a flag of polling-server", row[0]));
        }
    }
    assert!(
        server_flags >= 30,
        "only {server_flags} flags found: is Config read right?"
    );
    assert!(
        problems.is_empty(),
        "README.md's flag table:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_error_table_lists_every_code_in_the_row_of_its_status() {
    let codes = error_codes();
    // Guards the source reading itself: a refactor it cannot follow must
    // fail here, not find no codes and pass.
    for known in [
        "malformed_json",
        "not_found",
        "too_many_sockets",
        "unavailable",
    ] {
        assert!(
            codes.iter().any(|(code, _)| code == known),
            "{known} not read from error.rs: {codes:?}"
        );
    }
    let table = table_after(README, "| status | codes |");
    let mut problems = Vec::new();
    for (code, status) in &codes {
        let listed = format!("`{code}`");
        let in_row = table.iter().any(|row| {
            row[0]
                .split(|c: char| !c.is_ascii_digit())
                .any(|s| s == status.as_str())
                && row[1].contains(&listed)
        });
        if !in_row {
            problems.push(format!("{listed} ({status}) is not in the row of {status}"));
        }
    }
    assert!(
        problems.is_empty(),
        "README.md's error table:\n{}",
        problems.join("\n")
    );
}

/// Every `(code, status)` the server can answer, read from the `code()` and
/// `status()` matches of `ApiError`, `PollError`'s codes standing in for
/// `ApiError::Poll`.
fn error_codes() -> Vec<(String, String)> {
    let server_codes = match_arms(function(SERVER_ERRORS, "fn code(&self)"));
    let core_codes = match_arms(function(CORE_ERRORS, "fn code(&self)"));
    let statuses = match_arms(function(SERVER_ERRORS, "fn status(&self)"));
    let poll_statuses = statuses
        .iter()
        .find(|(variants, _)| variants == &["Poll"])
        .map(|(_, value)| match_arms(value))
        .expect("status() has an arm for ApiError::Poll");

    let mut codes = Vec::new();
    for (variants, value) in &server_codes {
        if variants == &["Poll"] {
            for (poll_variants, poll_value) in &core_codes {
                for variant in poll_variants {
                    let status = status_of(&poll_statuses, variant);
                    codes.push((string_literal(poll_value), status));
                }
            }
            continue;
        }
        for variant in variants {
            codes.push((string_literal(value), status_of(&statuses, variant)));
        }
    }
    codes.sort();
    codes.dedup();
    codes
}

/// The status number of `variant` in the arms of a `status()` match (its
/// `_` arm when it has none of its own).
fn status_of(arms: &[(Vec<String>, String)], variant: &str) -> String {
    let (_, value) = arms
        .iter()
        .find(|(variants, _)| variants.iter().any(|v| v == variant))
        .or_else(|| arms.iter().find(|(variants, _)| variants == &["_"]))
        .unwrap_or_else(|| panic!("no status for {variant}"));
    let name = value
        .split("StatusCode::")
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                .next()
        })
        .unwrap_or_else(|| panic!("no StatusCode in {value:?}"));
    (100..600)
        .filter_map(|n| StatusCode::from_u16(n).ok())
        .find(|status| {
            status
                .canonical_reason()
                .is_some_and(|reason| reason.to_uppercase().replace([' ', '-'], "_") == name)
        })
        .unwrap_or_else(|| panic!("StatusCode::{name} is no status this test knows"))
        .as_str()
        .to_owned()
}

/// The text of `source` from `signature` on.
fn function<'a>(source: &'a str, signature: &str) -> &'a str {
    let start = source
        .find(signature)
        .unwrap_or_else(|| panic!("no {signature:?} in the source"));
    &source[start..]
}

/// The arms of the first `match` in `text`: the variant names of each arm's
/// pattern (`Self::A(_) | Self::B` gives `A`, `B`; `_` gives `_`) and its
/// value's text.
fn match_arms(text: &str) -> Vec<(Vec<String>, String)> {
    let start = text.find("match ").expect("a match");
    let open = start + text[start..].find('{').expect("a match block");
    let mut arms = Vec::new();
    let mut pattern: Option<String> = None;
    let mut current = String::new();
    let mut depth = 0usize;
    let mut chars = text[open + 1..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' => {
                current.push(c);
                while let Some(c) = chars.next() {
                    current.push(c);
                    match c {
                        '\\' => current.extend(chars.next()),
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '(' | '[' | '{' => {
                depth += 1;
                current.push(c);
            }
            ')' | ']' | '}' if depth == 0 => break,
            ')' | ']' | '}' => {
                depth -= 1;
                current.push(c);
                if depth == 0 && c == '}' && pattern.is_some() {
                    arms.push(arm(pattern.take(), &mut current));
                }
            }
            '=' if depth == 0 && chars.peek() == Some(&'>') => {
                chars.next();
                pattern = Some(std::mem::take(&mut current));
            }
            ',' if depth == 0 => {
                if pattern.is_some() {
                    arms.push(arm(pattern.take(), &mut current));
                }
                current.clear();
            }
            _ => current.push(c),
        }
    }
    if pattern.is_some() {
        arms.push(arm(pattern, &mut current));
    }
    arms
}

fn arm(pattern: Option<String>, value: &mut String) -> (Vec<String>, String) {
    let variants = pattern
        .unwrap_or_default()
        .split('|')
        .map(|alternative| {
            let path = alternative.trim();
            let name = path.rsplit("::").next().unwrap_or(path);
            name.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or(name)
                .to_owned()
        })
        .collect();
    (variants, std::mem::take(value).trim().to_owned())
}

/// The first string literal of `value`.
fn string_literal(value: &str) -> String {
    value
        .split('"')
        .nth(1)
        .unwrap_or_else(|| panic!("no string literal in {value:?}"))
        .to_owned()
}

/// The body rows of the Markdown table whose header line is `header`, as
/// trimmed cells.
fn table_after(markdown: &str, header: &str) -> Vec<Vec<String>> {
    let mut lines = markdown
        .lines()
        .skip_while(|line| line.trim() != header)
        .skip(2);
    let mut rows = Vec::new();
    for line in lines.by_ref() {
        let Some(inner) = line.trim().strip_prefix('|') else {
            break;
        };
        let inner = inner.strip_suffix('|').unwrap_or(inner);
        rows.push(
            inner
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect(),
        );
    }
    assert!(!rows.is_empty(), "no table under {header:?} in README.md");
    rows
}
