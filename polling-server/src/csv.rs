//! [`Csv`]: CSV text (RFC 4180) that is safe to open in a spreadsheet.

/// Builds CSV text row by row, following OWASP's guidance on CSV injection
/// in full (poll texts are written by anyone): every field is wrapped in
/// double quotes (quotes inside doubled); and a character that would make
/// a spreadsheet run a cell as a formula (`=`, `+`, `-`, `@`, tab, carriage
/// return or line feed, or the full-width `＝`, `＋`, `－`, `＠`) gets a `'`
/// before it at the start of a field *and* after any character where a
/// reader with another list separator than ours could start a cell (`,`,
/// `;`, tab, quotes, line breaks): a file opened in a locale whose separator
/// is `;` splits an unquoted-looking `x;=HYPERLINK(…)` there. Rows end with
/// CRLF.
///
/// ```ignore
/// let mut csv = Csv::new();
/// csv.row(["option", "votes"]);
/// csv.row(["=1+1", "3"]);
/// assert_eq!(csv.finish(), "\"option\",\"votes\"\r\n\"'=1+1\",\"3\"\r\n");
/// ```
#[derive(Debug, Default)]
pub(crate) struct Csv {
    /// The text so far.
    text: String,
}

/// The first characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 11] = ['=', '+', '-', '@', '\t', '\r', '\n', '＝', '＋', '－', '＠'];

/// The characters after which some spreadsheet, in some locale, starts a
/// new cell: the list separators (`,` `;` tab), quotes and line breaks.
const CELL_BREAKS: [char; 7] = [',', ';', '\t', '"', '\'', '\r', '\n'];

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
        self.text.push('"');
        // The field's start, and every place a reader with another
        // separator (or one that reads quotes differently) could start a
        // cell: a formula there is neutralised too.
        let mut cell_start = true;
        for c in value.chars() {
            if cell_start && FORMULA_STARTS.contains(&c) {
                self.text.push('\'');
            }
            if c == '"' {
                self.text.push('"');
            }
            self.text.push(c);
            cell_start = CELL_BREAKS.contains(&c);
        }
        self.text.push('"');
    }

    /// The bytes of CSV text so far.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
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
    fn every_field_is_quoted() {
        assert_eq!(
            csv(&[&["a", "b c"], &["1", ""]]),
            "\"a\",\"b c\"\r\n\"1\",\"\"\r\n"
        );
    }

    #[test]
    fn quotes_are_doubled_and_line_breaks_kept_inside_the_quotes() {
        assert_eq!(
            csv(&[&["a,b", "say \"hi\"", "two\nlines"]]),
            "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(
            csv(&[&["=HYPERLINK(\"x\")", "+1", "-1", "@SUM(A1)", "\tx", "＝1", "a=b"]]),
            "\"'=HYPERLINK(\"\"x\"\")\",\"'+1\",\"'-1\",\"'@SUM(A1)\",\"'\tx\",\"'＝1\",\"a=b\"\r\n"
        );
    }

    /// Whatever list separator the spreadsheet's locale uses, no cell it
    /// reads starts a formula (with ours, every cell is one of ours).
    #[test]
    fn no_separator_of_any_locale_splits_a_field_into_a_formula() {
        let hostile = [
            "x;=HYPERLINK(\"http://evil\")",
            "y,=1+1",
            "z\t@SUM(A1)",
            "w;+1;-1",
            "=cmd|' /C calc'!A0",
        ];
        let text = csv(&[&hostile, &["plain", "1", "2", "3", "4"]]);
        for separator in [b',', b';', b'\t'] {
            let mut reader = ::csv::ReaderBuilder::new()
                .delimiter(separator)
                .flexible(true)
                .has_headers(false)
                .from_reader(text.as_bytes());
            let rows: Vec<::csv::StringRecord> =
                reader.records().map(|r| r.expect("parses")).collect();
            assert_eq!(rows.len(), 2);
            if separator == b',' {
                assert!(rows.iter().all(|row| row.len() == 5), "{rows:?}");
            }
            for row in &rows {
                for cell in row {
                    assert!(
                        !cell.starts_with(FORMULA_STARTS),
                        "separator {:?}: the cell {cell:?} is a formula",
                        separator as char
                    );
                }
            }
        }
    }
}
