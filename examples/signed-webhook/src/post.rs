//! One webhook request: a `POST` over a connection of its own.
//!
//! Plain HTTP through hyper, as the workspace's own clients do; a
//! production sender posting to `https://` URLs uses a client with TLS
//! (reqwest, or hyper with hyper-rustls) and keeps its connections.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST, USER_AGENT};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use polling_core::BoxError;
use tokio::net::TcpStream;

/// The `User-Agent` of every delivery.
const AGENT: &str = "polling-webhook/0.0";

/// A webhook target: an `http://` URL with a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// The URL, checked when the target was made.
    uri: Uri,
    /// `host:port` to connect to and to send as `Host`.
    authority: String,
}

impl Target {
    /// The target at `url`.
    ///
    /// # Errors
    ///
    /// When `url` is not an `http://` URL with a host.
    pub(crate) fn parse(url: &str) -> Result<Self, BoxError> {
        let uri: Uri = url.parse()?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("`{url}`: this example's client speaks plain http:// only").into());
        }
        let host = uri.host().ok_or_else(|| format!("`{url}` names no host"))?;
        let authority = format!("{host}:{}", uri.port_u16().unwrap_or(80));
        Ok(Self { uri, authority })
    }
}

/// Posts `body` as JSON to `target` with `headers`; the status it answered.
///
/// # Errors
///
/// When the connection or the exchange fails (no answer at all).
pub(crate) async fn post(
    target: &Target,
    headers: &[(HeaderName, HeaderValue)],
    body: Bytes,
) -> Result<StatusCode, BoxError> {
    let stream = TcpStream::connect(&target.authority).await?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    // The connection is driven beside the request and ends with it.
    tokio::spawn(connection);
    let path = target.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = Request::post(path)
        .header(HOST, &target.authority)
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, AGENT);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = sender.send_request(request.body(Full::new(body))?).await?;
    let status = response.status();
    // Read to the end, so the receiver is not cut off mid-answer.
    response.into_body().collect().await?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_plain_http_urls_with_a_host() {
        let target = Target::parse("http://127.0.0.1:9000/hooks/votes?src=polls").unwrap();
        assert_eq!(target.authority, "127.0.0.1:9000");
        assert_eq!(
            Target::parse("http://hooks.example/").unwrap().authority,
            "hooks.example:80"
        );
        assert!(Target::parse("https://hooks.example/").is_err());
        assert!(Target::parse("/relative").is_err());
        assert!(Target::parse("not a url").is_err());
    }
}
