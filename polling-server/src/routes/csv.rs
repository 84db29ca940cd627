//! [`Csv`]: CSV text (RFC 4180) that is safe to open in a spreadsheet.
//!
//! The quoting is the `csv` crate's: every field in double quotes, quotes
//! inside doubled, rows ended by CRLF. The formula neutralisation is ours
//! ([`neutralise`], applied to each field before the crate writes it): the
//! crate writes what it is given and knows nothing of spreadsheets, and
//! OWASP's guidance on CSV injection goes past the first character of a
//! field, to every place where a reader with another list separator could
//! start a cell.

use csv::{QuoteStyle, Terminator, Writer, WriterBuilder};

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
#[derive(Debug)]
pub(crate) struct Csv {
    /// The crate's writer, flushed into its `Vec` after every row so that
    /// [`Csv::text_len`] counts every byte written.
    writer: Writer<Vec<u8>>,
}

/// The first characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 11] = ['=', '+', '-', '@', '\t', '\r', '\n', '＝', '＋', '－', '＠'];

/// The characters after which some spreadsheet, in some locale, starts a
/// new cell: the list separators (`,` `;` tab), quotes and line breaks.
const CELL_BREAKS: [char; 7] = [',', ';', '\t', '"', '\'', '\r', '\n'];

/// Writing CSV into a `Vec` fails only on a bug: rows may differ in length
/// (the writer is flexible) and a `Vec` takes every write.
const INFALLIBLE: &str = "writing CSV into memory cannot fail";

impl Csv {
    /// No rows yet.
    pub(crate) fn new() -> Self {
        let writer = WriterBuilder::new()
            .quote_style(QuoteStyle::Always)
            .terminator(Terminator::CRLF)
            .flexible(true)
            .from_writer(Vec::new());
        Self { writer }
    }

    /// Appends one row. A row of no fields is written as one empty field
    /// (`""`), as the crate writes it (the hand-written writer before it
    /// wrote an empty line, which readers skip): no export writes one.
    pub(crate) fn row<I, F>(&mut self, fields: I)
    where
        I: IntoIterator<Item = F>,
        F: AsRef<str>,
    {
        for field in fields {
            let field = neutralise(field.as_ref());
            self.writer.write_field(field.as_bytes()).expect(INFALLIBLE);
        }
        self.writer.write_record(None::<&[u8]>).expect(INFALLIBLE);
        self.writer.flush().expect(INFALLIBLE);
    }

    /// The bytes of CSV text so far.
    pub(crate) fn text_len(&self) -> usize {
        self.writer.get_ref().len()
    }

    /// The CSV text.
    pub(crate) fn finish(self) -> String {
        let bytes = self.writer.into_inner().expect(INFALLIBLE);
        String::from_utf8(bytes).expect("CSV written from text is text")
    }
}

impl Default for Csv {
    fn default() -> Self {
        Self::new()
    }
}

/// `value` with a `'` before each character that could start a formula at
/// the field's start or right after a [`CELL_BREAKS`] character: every
/// place a reader with another separator (or one that reads quotes
/// differently) could start a cell.
fn neutralise(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut cell_start = true;
    for c in value.chars() {
        if cell_start && FORMULA_STARTS.contains(&c) {
            out.push('\'');
        }
        out.push(c);
        cell_start = CELL_BREAKS.contains(&c);
    }
    out
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

    /// The writer this module had before the `csv` crate did the quoting,
    /// kept as the reference the crate's output must match byte for byte.
    fn hand_written(rows: &[Vec<String>]) -> String {
        let mut text = String::new();
        for row in rows {
            for (i, value) in row.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                text.push('"');
                let mut cell_start = true;
                for c in value.chars() {
                    if cell_start && FORMULA_STARTS.contains(&c) {
                        text.push('\'');
                    }
                    if c == '"' {
                        text.push('"');
                    }
                    text.push(c);
                    cell_start = CELL_BREAKS.contains(&c);
                }
                text.push('"');
            }
            text.push_str("\r\n");
        }
        text
    }

    fn written(rows: &[Vec<String>]) -> String {
        let mut csv = Csv::new();
        for row in rows {
            csv.row(row);
        }
        csv.finish()
    }

    #[test]
    fn tricky_fields_are_written_byte_for_byte_as_before() {
        let fields = [
            "",
            "\"",
            "\"\"",
            "'",
            "'=1",
            "a,b",
            "a;b",
            "a\tb",
            "a\rb",
            "a\nb",
            "\r\n",
            "=1",
            "+1",
            "-1",
            "@A1",
            "\t=1",
            "\n-1",
            "\r+1",
            "＝1",
            "＋1",
            "－1",
            "＠A1",
            "x,＝1",
            "x;=1;+2,-3\t@4\"=5'=6\r=7\n=8",
            "==",
            "a=b",
            " =1",
            "é ü 投票 🗳️",
            "\"=HYPERLINK(\"\"x\"\")\"",
        ];
        let rows: Vec<Vec<String>> = [
            fields.iter().map(|f| (*f).to_owned()).collect(),
            vec![String::new()],
            vec![String::new(), String::new()],
            vec!["a".to_owned()],
        ]
        .into_iter()
        .chain(fields.iter().map(|f| vec![(*f).to_owned()]))
        .collect();
        assert_eq!(written(&rows), hand_written(&rows));
    }

    proptest::proptest! {
        /// Rows of at least one field: a row of none is the one difference
        /// (`a_row_of_no_fields_is_one_empty_field`).
        #[test]
        fn any_rows_are_written_byte_for_byte_as_before(
            rows in proptest::collection::vec(
                proptest::collection::vec("[a \"',;\t\r\n=+@＝＋－＠é投🗳-]{0,12}", 1..5),
                0..5,
            )
        ) {
            proptest::prop_assert_eq!(written(&rows), hand_written(&rows));
        }
    }

    #[test]
    fn a_row_of_no_fields_is_one_empty_field() {
        let rows = [Vec::new()];
        assert_eq!(written(&rows), "\"\"\r\n");
    }

    #[test]
    fn rows_may_differ_in_length_and_text_len_counts_every_byte() {
        let mut csv = Csv::new();
        csv.row(["a", "b"]);
        assert_eq!(csv.text_len(), "\"a\",\"b\"\r\n".len());
        csv.row(["c"]);
        assert_eq!(csv.text_len(), "\"a\",\"b\"\r\n\"c\"\r\n".len());
        assert_eq!(csv.finish(), "\"a\",\"b\"\r\n\"c\"\r\n");
        assert_eq!(Csv::default().text_len(), 0);
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
