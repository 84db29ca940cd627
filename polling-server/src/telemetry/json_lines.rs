//! [`JsonLines`]: the server's JSON log line, written in one pass.
//!
//! The shape is tracing-subscriber's flattened JSON format, which the log
//! shippers' pipelines parse (`compose/promtail/`):
//!
//! ```text
//! {"timestamp":"2026-12-06T21:17:39.714341Z","level":"INFO","message":"request",
//!  "route":"/api/polls/{id}/votes","status":201,"latency_ms":0.21,
//!  "target":"polling_server::middleware::observe",
//!  "span":{"method":"POST","path":"/api/polls/…/votes","request_id":"…","name":"request"}}
//! ```
//!
//! tracing-subscriber writes that line through an `io::Write` adapter that
//! checks every fragment as UTF-8 (about ninety per access line) and
//! re-parses the span's stored fields for each event, and its span fields
//! go through a map of `serde_json` values: the access line and its span
//! cost a third of a vote's instructions (`valgrind --tool=callgrind`, see
//! `benches/README.md`). Here the event's fields are escaped straight into
//! one buffer, and a span's fields ([`JsonSpanFields`]) are kept as a JSON
//! object when the span is created and copied into each line as they are.

use std::fmt::{self, Write as _};
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::span::Record;
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats each event as one JSON object per line: `timestamp`, `level`,
/// the event's fields, `target`, and the innermost span's fields with its
/// `name` under `span`. Use with [`JsonSpanFields`] as the field formatter
/// (which keeps the spans' fields as JSON).
///
/// ```
/// use polling_server::telemetry::{JsonLines, JsonSpanFields};
///
/// let subscriber = tracing_subscriber::fmt()
///     .fmt_fields(JsonSpanFields)
///     .event_format(JsonLines)
///     .finish();
/// tracing::subscriber::with_default(subscriber, || tracing::info!(votes = 3, "counted"));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonLines;

impl<S> FormatEvent<S, JsonSpanFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonSpanFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::with_capacity(384);
        line.push_str("{\"timestamp\":\"");
        let _ = write!(
            line,
            "{}",
            humantime::format_rfc3339_micros(SystemTime::now())
        );
        line.push_str("\",\"level\":\"");
        line.push_str(event.metadata().level().as_str());
        line.push('"');
        event.record(&mut Fields { line: &mut line });
        line.push_str(",\"target\":");
        push_str(&mut line, event.metadata().target());
        if let Some(span) = ctx.lookup_current() {
            line.push_str(",\"span\":");
            let extensions = span.extensions();
            let stored = extensions
                .get::<FormattedFields<JsonSpanFields>>()
                .map(|fields| fields.fields.as_str())
                .and_then(|json| json.strip_suffix('}'))
                .filter(|open| open.starts_with('{'));
            match stored {
                Some("{") | None => line.push('{'),
                Some(open) => {
                    line.push_str(open);
                    line.push(',');
                }
            }
            line.push_str("\"name\":");
            push_str(&mut line, span.name());
            line.push('}');
        }
        line.push_str("}\n");
        writer.write_str(&line)
    }
}

/// Keeps a span's fields as one JSON object (`{"method":"POST",…}`), for
/// [`JsonLines`] to copy into each line of the span.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonSpanFields;

impl<'writer> FormatFields<'writer> for JsonSpanFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut object = String::with_capacity(128);
        fields.record(&mut Fields { line: &mut object });
        // Pairs were written each with a leading comma.
        let pairs = object.strip_prefix(',').unwrap_or(&object);
        writer.write_char('{')?;
        writer.write_str(pairs)?;
        writer.write_char('}')
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> fmt::Result {
        let mut added = String::new();
        fields.record(&mut Fields { line: &mut added });
        let object = &mut current.fields;
        match object.strip_suffix('}') {
            None => {
                object.clear();
                object.push('{');
                object.push_str(added.strip_prefix(',').unwrap_or(&added));
            }
            Some("{") => {
                object.truncate(1);
                object.push_str(added.strip_prefix(',').unwrap_or(&added));
            }
            Some(_) => {
                object.pop();
                object.push_str(&added);
            }
        }
        object.push('}');
        Ok(())
    }
}

/// Appends an event's fields as `,"name":value` pairs.
struct Fields<'a> {
    line: &'a mut String,
}

impl Fields<'_> {
    fn key(&mut self, field: &Field) {
        self.line.push(',');
        push_str(self.line, field.name());
        self.line.push(':');
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        push_str(self.line, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.line.push_str(if value { "true" } else { "false" });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            let _ = write!(self.line, "{value}");
        } else {
            // JSON has no NaN or infinity.
            self.line.push_str("null");
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        self.line.push('"');
        let _ = write!(Escaped(self.line), "{value:?}");
        self.line.push('"');
    }
}

/// Appends `value` as a JSON string.
fn push_str(line: &mut String, value: &str) {
    line.push('"');
    let _ = Escaped(line).write_str(value);
    line.push('"');
}

/// Writes text into a JSON string's contents, escaping what JSON requires.
struct Escaped<'a>(&'a mut String);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain = 0;
        for (at, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1F => "",
                _ => continue,
            };
            self.0.push_str(&text[plain..at]);
            if escape.is_empty() {
                let _ = write!(self.0, "\\u{byte:04x}");
            } else {
                self.0.push_str(escape);
            }
            plain = at + 1;
        }
        self.0.push_str(&text[plain..]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// The lines written while `log` runs, parsed.
    fn lines_of(log: impl FnOnce()) -> Vec<Value> {
        let buffer = crate::telemetry::LogBuffer::default();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(JsonSpanFields)
            .event_format(JsonLines)
            .with_writer(buffer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        buffer
            .text()
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is JSON"))
            .collect()
    }

    #[test]
    fn an_event_in_a_span_is_one_line_of_the_flattened_shape() {
        let lines = lines_of(|| {
            let span = tracing::info_span!("request", method = "POST", request_id = "r-1");
            let _entered = span.enter();
            tracing::info!(
                route = "/api/polls",
                status = 201u16,
                latency_ms = 0.25,
                ok = true,
                delta = -3i64,
                "request"
            );
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "request");
        assert_eq!(line["route"], "/api/polls");
        assert_eq!(line["status"], 201);
        assert_eq!(line["latency_ms"], 0.25);
        assert_eq!(line["ok"], true);
        assert_eq!(line["delta"], -3);
        assert_eq!(line["target"], module_path!());
        assert_eq!(
            line["span"],
            serde_json::json!({"method": "POST", "request_id": "r-1", "name": "request"})
        );
        let stamp = line["timestamp"].as_str().unwrap();
        assert!(humantime::parse_rfc3339(stamp).is_ok(), "{stamp}");
    }

    #[test]
    fn text_that_json_must_escape_survives_and_odd_numbers_are_null() {
        let nasty = "quote \" backslash \\ newline \n tab \t bell \u{7} é ✓";
        let lines = lines_of(|| {
            tracing::warn!(text = nasty, debug = ?nasty, nan = f64::NAN, "with {}", "args");
        });
        let line = &lines[0];
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["text"], nasty);
        assert_eq!(line["debug"], format!("{nasty:?}"));
        assert_eq!(line["nan"], Value::Null);
        assert_eq!(line["message"], "with args");
        assert!(line.get("span").is_none(), "no span, no span key");
    }

    #[test]
    fn fields_recorded_later_join_the_span() {
        let lines = lines_of(|| {
            let span = tracing::info_span!("job", id = 7u64, late = tracing::field::Empty);
            span.record("late", "yes");
            let _entered = span.enter();
            tracing::info!("inside");
            let bare = tracing::info_span!("bare", later = tracing::field::Empty);
            bare.record("later", 1u64);
            let _bare = bare.enter();
            tracing::info!("inside bare");
        });
        assert_eq!(
            lines[0]["span"],
            serde_json::json!({"id": 7, "late": "yes", "name": "job"})
        );
        assert_eq!(
            lines[1]["span"],
            serde_json::json!({"later": 1, "name": "bare"})
        );
    }

    #[test]
    fn a_span_without_fields_still_has_its_name() {
        let lines = lines_of(|| {
            let span = tracing::info_span!("quiet");
            let _entered = span.enter();
            tracing::info!("inside");
        });
        assert_eq!(lines[0]["span"], serde_json::json!({"name": "quiet"}));
    }
}
