//! The fields `compose/promtail/promtail.yml` extracts from the backend's
//! JSON log lines, computed the way its `json` stage does.

use std::collections::BTreeMap;

use serde_json::Value;

/// The `json` stage expressions (field name → path) that the pipeline
/// applies to the `backend` service's lines.
///
/// # Errors
///
/// When the file is not YAML or has no such stage.
pub fn backend_json_expressions(config: &str) -> Result<BTreeMap<String, String>, String> {
    let config: serde_yaml::Value = serde_yaml::from_str(config).map_err(|e| e.to_string())?;
    let scrape_configs = config["scrape_configs"]
        .as_sequence()
        .ok_or("no scrape_configs")?;
    for scrape in scrape_configs {
        for stage in scrape["pipeline_stages"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            let matched = &stage["match"];
            let selector = matched["selector"].as_str().unwrap_or_default();
            if !selector.contains(r#"service="backend""#) {
                continue;
            }
            for inner in matched["stages"].as_sequence().into_iter().flatten() {
                if let Some(expressions) = inner["json"]["expressions"].as_mapping() {
                    return expressions
                        .iter()
                        .map(|(k, v)| {
                            let k = k.as_str().ok_or("a non-string field name")?;
                            // An empty expression means "the field of the same name".
                            let v = v.as_str().unwrap_or(k);
                            Ok((k.to_owned(), v.to_owned()))
                        })
                        .collect();
                }
            }
        }
    }
    Err("no json stage for the backend service".to_owned())
}

/// The values `expressions` extract from one JSON log `line` (dotted paths,
/// as Promtail's JMESPath expressions of this shape read them); fields the
/// line lacks are absent.
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
}
