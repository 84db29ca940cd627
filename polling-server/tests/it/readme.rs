//! README.md's tables against the server they describe: the flag table
//! lists every long flag of [`Config`] with its environment variable and
//! default (and no flag the server lacks), and the error table lists every
//! error code the server can answer, in a row of its status.
//!
//! And the links into `ARCHITECTURE.md` that files of the repository cite
//! name sections it has (no file cites the design notes outside it).
//!
//! The flags come from clap ([`CommandFactory::command`]). The error codes
//! have no list in the code: their one mapping is the `code()` and
//! `status()` matches of `src/error.rs` (and `PollError::code` in
//! `polling-core`), so the test reads those matches from the source text
//! rather than keep a second list that could drift from them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use polling_server::Config;
use warp::http::StatusCode;

const README: &str = include_str!("../../../README.md");
const SERVER_ERRORS: &str = include_str!("../../src/error.rs");
const CORE_ERRORS: &str = include_str!("../../../polling-core/src/error.rs");
const ARCHITECTURE: &str = include_str!("../../../ARCHITECTURE.md");

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

#[test]
fn the_openapi_error_schema_lists_every_code_the_server_answers() {
    let document: serde_json::Value =
        serde_json::from_str(polling_server::OPENAPI_DOCUMENT).expect("openapi.json is JSON");
    let pointer = "/components/schemas/Error/properties/error/properties/code/enum";
    let documented: BTreeSet<&str> = document
        .pointer(pointer)
        .and_then(serde_json::Value::as_array)
        .unwrap_or_else(|| panic!("openapi.json has no {pointer}"))
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    let answered: BTreeSet<String> = error_codes().into_iter().map(|(code, _)| code).collect();
    let missing: Vec<&String> = answered
        .iter()
        .filter(|code| !documented.contains(code.as_str()))
        .collect();
    let never_answered: Vec<&&str> = documented
        .iter()
        .filter(|code| !answered.contains(**code))
        .collect();
    assert!(
        missing.is_empty() && never_answered.is_empty(),
        "the Error schema's codes: missing {missing:?}, never answered {never_answered:?}"
    );
}

#[test]
fn every_architecture_anchor_the_repository_cites_names_a_section() {
    let sections: BTreeSet<String> = ARCHITECTURE
        .lines()
        .filter_map(|line| line.strip_prefix('#'))
        .map(|heading| slug(heading.trim_start_matches('#')))
        .collect();
    // Spelled in two parts, so that this file does not cite them itself.
    let cite = concat!("ARCHITECTURE", ".md#");
    let outside = [concat!("DESIGN ", "§"), concat!("DESIGN ", "section")];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut problems = Vec::new();
    let mut citations = 0;
    for path in files(&root) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let name = path.strip_prefix(&root).unwrap_or(&path).display();
        // Its own table of contents too.
        let link = if path.ends_with("ARCHITECTURE.md") {
            "](#"
        } else {
            cite
        };
        for (at, _) in text.match_indices(link) {
            let anchor: String = text[at + link.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            citations += 1;
            if !sections.contains(&anchor) {
                problems.push(format!(
                    "{name}: #{anchor} names no section of ARCHITECTURE.md"
                ));
            }
        }
        for old in outside {
            if text.contains(old) {
                problems.push(format!("{name} cites {old:?}, outside the repository"));
            }
        }
    }
    assert!(citations >= 10, "only {citations} citations found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The GitHub anchor of a Markdown heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every file under `dir`, build output, Git and npm packages left out.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if matches!(name.to_str(), Some("target" | ".git" | "node_modules")) {
            continue;
        }
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => found.extend(files(&path)),
            Ok(kind) if kind.is_file() => found.push(path),
            _ => {}
        }
    }
    found
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
