//! Compose-file variable interpolation, as `docker compose` does it before
//! reading the file: `${NAME}`, `${NAME:-default}`, `${NAME-default}`,
//! `${NAME:?error}`, `${NAME?error}`, `$$`.

use std::collections::BTreeMap;

/// `text` with every variable replaced from `vars`, or its default.
///
/// # Errors
///
/// An unterminated `${`, a variable with neither a value nor a default, or
/// a required one (`:?`, `?`) without a value: its message.
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
            let name_len = expression
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(expression.len());
            let (name, operator) = expression.split_at(name_len);
            let set = vars.get(name).map(String::as_str);
            let set_non_empty = set.filter(|v| !v.is_empty());
            let value = match operator {
                "" => set,
                _ if operator.starts_with(":-") => set_non_empty.or(Some(&operator[2..])),
                _ if operator.starts_with('-') => set.or(Some(&operator[1..])),
                _ if operator.starts_with(":?") => {
                    Some(set_non_empty.ok_or_else(|| format!("${{{name}}}: {}", &operator[2..]))?)
                }
                _ if operator.starts_with('?') => {
                    Some(set.ok_or_else(|| format!("${{{name}}}: {}", &operator[1..]))?)
                }
                _ => return Err(format!("unknown operator in ${{{expression}}}")),
            }
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
        assert_eq!(interpolate("${SET:?need it}", &vars).unwrap(), "x");
        assert_eq!(interpolate("${EMPTY?need it}", &vars).unwrap(), "");
        assert_eq!(
            interpolate("${EMPTY:?set EMPTY in .env}", &vars).unwrap_err(),
            "${EMPTY}: set EMPTY in .env"
        );
        assert!(interpolate("${UNSET?need-it}", &vars).is_err());
        assert_eq!(interpolate("${UNSET:-a-b}", &vars).unwrap(), "a-b");
        assert!(interpolate("${OPEN", &vars).is_err());
    }
}
