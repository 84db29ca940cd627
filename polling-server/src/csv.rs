//! [`Csv`]: CSV text (RFC 4180) that is safe to open in a spreadsheet.

/// Builds CSV text row by row: fields are quoted when they hold a comma,
/// quote, or line break (quotes doubled), rows end with CRLF, and a field
/// that a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
/// `@`, tab or carriage return) is prefixed with `'`, as OWASP advises
/// against CSV injection: poll texts are written by anyone.
///
/// ```ignore
/// let mut csv = Csv::new();
/// csv.row(["option", "votes"]);
/// csv.row(["=1+1", "3"]);
/// assert_eq!(csv.finish(), "option,votes\r\n'=1+1,3\r\n");
/// ```
#[derive(Debug, Default)]
pub(crate) struct Csv {
    /// The text so far.
    text: String,
}

impl Csv {
    /// No rows yet.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Appends one row.
    pub(crate) fn row<I, F>(&mut self, fields: I)
    where
        I: IntoIterator<Item = F>,
        F: AsRef<str>,
    {
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            self.field(field.as_ref());
        }
        self.text.push_str("\r\n");
    }

    fn field(&mut self, value: &str) {
        let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
        let quoted = formula || value.contains([',', '"', '\n', '\r']);
        if quoted {
            self.text.push('"');
        }
        if formula {
            self.text.push('\'');
        }
        for c in value.chars() {
            if c == '"' {
                self.text.push('"');
            }
            self.text.push(c);
        }
        if quoted {
            self.text.push('"');
        }
    }

    /// The CSV text.
    pub(crate) fn finish(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(rows: &[&[&str]]) -> String {
        let mut csv = Csv::new();
        for row in rows {
            csv.row(row.iter());
        }
        csv.finish()
    }

    #[test]
    fn plain_fields_are_written_as_they_are() {
        assert_eq!(csv(&[&["a", "b c"], &["1", ""]]), "a,b c\r\n1,\r\n");
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted() {
        assert_eq!(
            csv(&[&["a,b", "say \"hi\"", "two\nlines"]]),
            "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(
            csv(&[&["=HYPERLINK(\"x\")", "+1", "-1", "@SUM(A1)", "\tx", "a=b"]]),
            "\"'=HYPERLINK(\"\"x\"\")\",\"'+1\",\"'-1\",\"'@SUM(A1)\",\"'\tx\",a=b\r\n"
        );
    }
}
