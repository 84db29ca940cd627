//! The HTTP side: the [`Target`] server and one keep-alive HTTP/1.1
//! [`Conn`]ection per load task.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderName, CONTENT_TYPE, COOKIE, HOST, RETRY_AFTER, SET_COOKIE};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long one request may take before it counts as an error.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The server under load: `http://host[:port]`.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    /// `host:port` to connect to and to send as `Host`.
    authority: String,
}

impl Target {
    /// Parses `http://host[:port]`; a path after the authority is ignored.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let uri: Uri = text
            .parse()
            .map_err(|e| format!("`{text}` is not a URL: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("`{text}`: only http:// targets are supported"));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("`{text}` has no host"))?;
        Ok(Self {
            authority: authority.as_str().to_owned(),
        })
    }

    /// The target's origin, `http://host[:port]`, for a same-origin `Origin`.
    pub(crate) fn origin(&self) -> String {
        format!("http://{}", self.authority)
    }

    /// The WebSocket URL of `path` on the target.
    pub(crate) fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.authority)
    }

    /// `host[:port]` as the URL gave it, for the `Host` header.
    pub(crate) fn authority(&self) -> &str {
        &self.authority
    }

    /// `host:port` to connect to (port 80 when the URL has none).
    pub(crate) fn address(&self) -> String {
        if self
            .authority
            .rsplit_once(':')
            .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        {
            self.authority.clone()
        } else {
            format!("{}:80", self.authority)
        }
    }
}

/// A response, read to its end.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status.
    pub(crate) status: StatusCode,
    /// The `name=value` of the first `Set-Cookie`, if any.
    pub(crate) cookie: Option<String>,
    /// The `Retry-After` of a refusal, in whole seconds, if any.
    pub(crate) retry_after: Option<Duration>,
    /// The whole body.
    pub(crate) body: Bytes,
}

/// One keep-alive HTTP/1.1 connection to the target, opened on first use and
/// again after the server or an error closed it.
pub(crate) struct Conn {
    /// Where to connect.
    target: Target,
    /// The open connection, if any.
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    /// A connection to `target`, not opened yet.
    pub(crate) fn new(target: Target) -> Self {
        Self {
            target,
            sender: None,
        }
    }

    /// Sends `method path` with a JSON `body` (if any) and `cookie` (if
    /// any), and reads the whole answer. An error is described in a few
    /// words, to be counted by kind; it closes the connection.
    pub(crate) async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        cookie: Option<&str>,
    ) -> Result<Answer, String> {
        let cookie = cookie.map(|c| (COOKIE, c));
        self.send_with(method, path, body, cookie.as_slice()).await
    }

    /// [`send`](Self::send) with any request `headers`.
    pub(crate) async fn send_with(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        headers: &[(HeaderName, &str)],
    ) -> Result<Answer, String> {
        let result =
            tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(method, path, body, headers))
                .await
                .unwrap_or_else(|_| Err("timeout".into()));
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    /// [`send`](Self::send) without the timeout.
    async fn exchange(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        headers: &[(HeaderName, &str)],
    ) -> Result<Answer, String> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.target.authority);
        if body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        for (name, value) in headers {
            builder = builder.header(name, *value);
        }
        let request = builder
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| format!("bad request: {e}"))?;

        let sender = self.ready().await?;
        let response = sender.send_request(request).await.map_err(describe)?;
        let status = response.status();
        let cookie = response
            .headers()
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_secs);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(describe)?
            .to_bytes();
        Ok(Answer {
            status,
            cookie,
            retry_after,
            body,
        })
    }

    /// The open connection, opening one if there is none or the server
    /// closed the last one.
    async fn ready(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, String> {
        if let Some(sender) = &mut self.sender {
            if sender.ready().await.is_err() {
                self.sender = None;
            }
        }
        if self.sender.is_none() {
            let stream = TcpStream::connect(self.target.address())
                .await
                .map_err(|e| connect_error(e.kind()))?;
            stream.set_nodelay(true).ok();
            let (sender, connection) = http1::handshake(TokioIo::new(stream))
                .await
                .map_err(describe)?;
            tokio::spawn(async move {
                // Its errors surface through the sender.
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        self.sender.as_mut().ok_or_else(|| "no connection".into())
    }
}

/// A hyper error in a few words.
fn describe(e: hyper::Error) -> String {
    if e.is_closed() || e.is_incomplete_message() {
        "connection closed".into()
    } else if e.is_timeout() {
        "timeout".into()
    } else if e.is_parse() {
        "bad response".into()
    } else {
        format!("http: {e}")
    }
}

/// A failed connect in a few words: `connect: connection refused`.
pub(crate) fn connect_error(kind: std::io::ErrorKind) -> String {
    format!("connect: {kind}")
}

/// Whether a request `error` (as [`Conn::send`] describes it) is a refused
/// connection: nothing listens there (a killed server).
pub(crate) fn refused_connection(error: &str) -> bool {
    error == connect_error(std::io::ErrorKind::ConnectionRefused)
}

/// What a results object shows: its version and its total of ballots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shown {
    /// `version`: grows by one with every recorded ballot.
    pub(crate) version: u64,
    /// `total`: the ballots counted.
    pub(crate) total: u64,
}

impl Shown {
    /// The `version` and `total` of a results object (`GET .../results`).
    pub(crate) fn of(results: &serde_json::Value) -> Option<Self> {
        Some(Self {
            version: results.get("version")?.as_u64()?,
            total: results.get("total")?.as_u64()?,
        })
    }
}

/// What the `results` of a vote response or a live message show.
pub(crate) fn results_shown(json: &[u8]) -> Option<Shown> {
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    Shown::of(value.get("results")?)
}

/// The `results.version` of a vote response or a live message.
pub(crate) fn results_version(json: &[u8]) -> Option<u64> {
    results_shown(json).map(|shown| shown.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = Target::parse("http://127.0.0.1:18080/").unwrap();
        assert_eq!(t.address(), "127.0.0.1:18080");
        assert_eq!(t.origin(), "http://127.0.0.1:18080");
        assert_eq!(t.ws_url("/x"), "ws://127.0.0.1:18080/x");
        assert_eq!(
            Target::parse("http://localhost").unwrap().address(),
            "localhost:80"
        );
        assert!(Target::parse("https://example.com").is_err());
        assert!(Target::parse("127.0.0.1:8080").is_err());
    }

    #[test]
    fn versions() {
        let vote = br#"{"receipt":{"version":3},"results":{"version":3,"total":3}}"#;
        assert_eq!(results_version(vote), Some(3));
        assert_eq!(results_version(br#"{"ok":true}"#), None);
        assert_eq!(results_version(b"not json"), None);
        let live = br#"{"type":"results","results":{"version":9,"total":8,"counts":[]}}"#;
        assert_eq!(
            results_shown(live),
            Some(Shown {
                version: 9,
                total: 8
            })
        );
        assert_eq!(results_shown(br#"{"type":"hidden"}"#), None);
    }

    #[tokio::test]
    async fn a_closed_port_is_a_refused_connection() {
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap();
        let target = Target::parse(&format!("http://{address}")).unwrap();
        let error = Conn::new(target)
            .send(Method::GET, "/", None, None)
            .await
            .unwrap_err();
        assert!(refused_connection(&error), "{error}");
        assert!(!refused_connection("timeout"));
    }
}
