//! The fields `compose/alloy/config.alloy` extracts from the backend's JSON
//! log lines, computed the way its `stage.json` does, and the blocks of the
//! Alloy configuration the tests look into.

use std::collections::BTreeMap;

use serde_json::Value;

/// The `stage.json` expressions (field name → path) that the pipeline
/// applies to the `backend` service's lines: the one inside the
/// `stage.match` whose selector is `{service="backend"}`.
///
/// # Errors
///
/// When there is no such stage, or its expressions are not `name = "path"`
/// lines.
pub fn backend_json_expressions(config: &str) -> Result<BTreeMap<String, String>, String> {
    let config = without_comments(config);
    let mut rest = config.as_str();
    while let Some(at) = rest.find("stage.match") {
        let matched = block(&rest[at..], "stage.match").ok_or("an unclosed stage.match")?;
        rest = &rest[at + "stage.match".len()..];
        if !matched.contains(r#"selector = "{service=\"backend\"}""#) {
            continue;
        }
        let json = block(matched, "stage.json").ok_or("no stage.json for the backend")?;
        let expressions = block(json, "expressions =").ok_or("a stage.json without expressions")?;
        return expressions
            .lines()
            .map(|line| line.trim().trim_end_matches(','))
            .filter(|line| !line.is_empty())
            .map(|line| {
                let (name, path) = line
                    .split_once('=')
                    .ok_or_else(|| format!("not `name = \"path\"`: {line}"))?;
                let path = path
                    .trim()
                    .strip_prefix('"')
                    .and_then(|p| p.strip_suffix('"'))
                    .ok_or_else(|| format!("not a string: {line}"))?;
                let name = name.trim();
                // An empty expression means "the field of the same name".
                let path = if path.is_empty() { name } else { path };
                Ok((name.to_owned(), path.to_owned()))
            })
            .collect();
    }
    Err("no stage.match for the backend service".to_owned())
}

/// The text between the braces of the first block that starts with
/// `header` in `text` (`discovery.docker "polling"`, `stage.json`,
/// `expressions =`), braces inside string literals left alone; `None` when
/// there is none or it is not closed.
pub fn block<'a>(text: &'a str, header: &str) -> Option<&'a str> {
    let start = text.find(header)? + header.len();
    let open = start + text[start..].find('{')?;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, c) in text[open..].char_indices() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, _) => {}
            (false, _, '"') => in_string = true,
            (false, _, '{') => depth += 1,
            (false, _, '}') => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[open + 1..open + offset]);
                }
            }
            (false, _, _) => {}
        }
    }
    None
}

/// `config` without its `//` comment lines.
pub fn without_comments(config: &str) -> String {
    config
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The values `expressions` extract from one JSON log `line` (dotted paths,
/// as the JMESPath expressions of this shape read them); fields the line
/// lacks are absent.
pub fn extract(expressions: &BTreeMap<String, String>, line: &Value) -> BTreeMap<String, Value> {
    expressions
        .iter()
        .filter_map(|(field, path)| {
            let value = path
                .split('.')
                .try_fold(line, |value, key| value.get(key))?;
            Some((field.clone(), value.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths_reach_into_objects_and_missing_fields_are_absent() {
        let expressions = BTreeMap::from([
            ("id".to_owned(), "span.request_id".to_owned()),
            ("status".to_owned(), "status".to_owned()),
            ("gone".to_owned(), "no.such".to_owned()),
        ]);
        let line = serde_json::json!({"status": 200, "span": {"request_id": "r1"}});
        let fields = extract(&expressions, &line);
        assert_eq!(fields["id"], "r1");
        assert_eq!(fields["status"], 200);
        assert!(!fields.contains_key("gone"));
    }

    #[test]
    fn only_the_backends_json_stage_is_read_and_braces_in_strings_are_text() {
        let config = r#"
            // stage.match { selector = "{service=\"backend\"}" } in a comment
            loki.process "p" {
              stage.match {
                selector = "{service=\"nginx\"}"
                stage.json { expressions = { uri = "uri" } }
              }
              stage.match {
                selector = "{service=\"backend\"}"
                stage.json {
                  expressions = {
                    level      = "level",
                    request_id = "span.request_id",
                    route      = "",
                  }
                }
              }
            }
        "#;
        let expressions = backend_json_expressions(config).unwrap();
        assert_eq!(
            expressions,
            BTreeMap::from([
                ("level".to_owned(), "level".to_owned()),
                ("request_id".to_owned(), "span.request_id".to_owned()),
                ("route".to_owned(), "route".to_owned()),
            ])
        );
        assert_eq!(block(r#"a { b = "}" }"#, "a"), Some(r#" b = "}" "#));
        assert_eq!(block("a { b", "a"), None);
        assert!(backend_json_expressions("loki.process \"p\" {}").is_err());
    }
}
