//! Compose-file variable interpolation, as `docker compose` does it before
//! reading the file: `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `$$`.

use std::collections::BTreeMap;

/// `text` with every variable replaced from `vars`, or its default.
///
/// # Errors
///
/// An unterminated `${`, or a variable with neither a value nor a default.
pub fn interpolate(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unterminated ${{ in {body:.20}"))?;
            let expression = &body[..end];
            let (name, default, empty_counts) = match expression.split_once(":-") {
                Some((name, default)) => (name, Some(default), true),
                None => match expression.split_once('-') {
                    Some((name, default)) => (name, Some(default), false),
                    None => (expression, None, false),
                },
            };
            let value = vars
                .get(name)
                .filter(|v| !(empty_counts && v.is_empty()))
                .map(String::as_str)
                .or(default)
                .ok_or_else(|| format!("${{{name}}} has no value and no default"))?;
            out.push_str(value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_defaults_and_escapes() {
        let vars = BTreeMap::from([
            ("SET".to_owned(), "x".to_owned()),
            ("EMPTY".to_owned(), String::new()),
        ]);
        let text = "a=${SET} b=${UNSET:-d} c=${EMPTY:-e} d=${EMPTY-f} e=$$HOME f=$5";
        assert_eq!(
            interpolate(text, &vars).unwrap(),
            "a=x b=d c=e d= e=$HOME f=$5"
        );
        assert!(interpolate("${UNSET}", &vars).is_err());
        assert!(interpolate("${OPEN", &vars).is_err());
    }
}
