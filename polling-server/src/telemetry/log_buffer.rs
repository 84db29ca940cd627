//! [`LogBuffer`]: log lines kept in memory, for tests that read what the
//! server logged.

use std::io;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

/// Everything written to it, in memory: a `tracing_subscriber` writer
/// (`.with_writer(buffer.clone())`) whose lines a test reads back with
/// [`text`](LogBuffer::text). Clones share the buffer.
///
/// ```
/// use polling_server::telemetry::{JsonLines, JsonSpanFields, LogBuffer};
///
/// let buffer = LogBuffer::default();
/// let subscriber = tracing_subscriber::fmt()
///     .fmt_fields(JsonSpanFields)
///     .event_format(JsonLines)
///     .with_writer(buffer.clone())
///     .finish();
/// tracing::subscriber::with_default(subscriber, || tracing::info!(votes = 3, "counted"));
/// assert!(buffer.text().contains(r#""votes":3"#));
/// ```
#[derive(Clone, Debug, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    /// What was written so far, as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogBuffer {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
