//! The browser app's files: [built into the binary](Frontend::Embedded)
//! from the repository's `frontend/` (the `frontend` link in this crate's
//! directory, which `cargo package` follows), or [read from a
//! directory](Frontend::Dir) on every request while developing it.
//!
//! Embedded files carry a strong `ETag` (the SHA-256 of their bytes, taken
//! at build time), so a browser revalidating with `If-None-Match` gets
//! `304 Not Modified` without the body. HTML is `no-cache` (always
//! revalidated: it names the modules to load); the other files may be used
//! for five minutes before revalidating, since their names carry no content
//! hash: the same policy as the compose nginx's (`compose/nginx/nginx.conf`).

use std::borrow::Cow;
use std::path::PathBuf;

use warp::filters::BoxedFilter;
use warp::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use warp::http::{HeaderValue, StatusCode};
use warp::path::Tail;
use warp::reply::Response;
use warp::{Filter, Reply};

/// Every file under `frontend/` at build time (`build.rs` rebuilds the
/// crate when one is added, changed or removed).
#[derive(rust_embed::RustEmbed)]
#[folder = "frontend/"]
struct Embedded;

/// `Cache-Control` of the app's HTML: always revalidate.
const HTML_CACHE: &str = "no-cache";
/// `Cache-Control` of the app's other files: five minutes, then revalidate.
const ASSET_CACHE: &str = "public, max-age=300, must-revalidate";

/// Where the browser app served at `/` comes from
/// ([`AppBuilder::frontend`](crate::AppBuilder::frontend)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frontend {
    /// No app: the API alone (the share page `/p/{id}` is then a small page
    /// of its own).
    #[default]
    None,
    /// The app built into the binary: the `polling-server` binary's default.
    Embedded,
    /// The files of this directory, read on every request (`--frontend-dir`:
    /// edits show on the next reload, without a rebuild).
    Dir(PathBuf),
}

impl Frontend {
    /// The paths of the files built into the binary (`index.html`,
    /// `js/main.js`, …), sorted.
    pub fn embedded_files() -> Vec<String> {
        let mut files: Vec<String> = Embedded::iter().map(Cow::into_owned).collect();
        files.sort();
        files
    }

    /// The app's `index.html`, if an app is served and it has one.
    pub(crate) async fn index_html(&self) -> Option<String> {
        match self {
            Self::None => None,
            Self::Embedded => {
                let file = Embedded::get("index.html")?;
                String::from_utf8(file.data.into_owned()).ok()
            }
            Self::Dir(dir) => {
                let path = dir.join("index.html");
                match tokio::fs::read_to_string(&path).await {
                    Ok(page) => Some(page),
                    Err(error) => {
                        tracing::warn!(path = %path.display(), %error, "the app's index.html cannot be read");
                        None
                    }
                }
            }
        }
    }

    /// What serves the app's files to `GET` and `HEAD`; rejects with warp's
    /// "not found" whatever names no file, for the routes' own refusals.
    pub(crate) fn filter(&self) -> BoxedFilter<(Response,)> {
        match self.clone() {
            Self::None => warp::any()
                .and_then(|| async { Err::<Response, _>(warp::reject::not_found()) })
                .boxed(),
            Self::Embedded => warp::get()
                .or(warp::head())
                .unify()
                .and(warp::path::tail())
                .and(warp::header::optional::<String>(IF_NONE_MATCH.as_str()))
                .and_then(|tail: Tail, if_none_match: Option<String>| async move {
                    embedded(tail.as_str(), if_none_match.as_deref())
                        .ok_or_else(warp::reject::not_found)
                })
                .boxed(),
            // While developing the app: never stale.
            Self::Dir(dir) => warp::fs::dir(dir)
                .map(|file: warp::fs::File| {
                    let mut response = file.into_response();
                    response
                        .headers_mut()
                        .insert(CACHE_CONTROL, HeaderValue::from_static(HTML_CACHE));
                    response
                })
                .boxed(),
        }
    }
}

/// The embedded file at `path` (a directory's `index.html` for a path that
/// ends with `/`), or `304` when `if_none_match` names its `ETag`.
fn embedded(path: &str, if_none_match: Option<&str>) -> Option<Response> {
    let path = if path.is_empty() || path.ends_with('/') {
        Cow::Owned(format!("{path}index.html"))
    } else {
        Cow::Borrowed(path)
    };
    let file = Embedded::get(&path)?;
    let etag = etag(&file.metadata.sha256_hash());
    let cache = if path.ends_with(".html") {
        HTML_CACHE
    } else {
        ASSET_CACHE
    };
    let mut response = if if_none_match.is_some_and(|header| matches_etag(header, &etag)) {
        let mut response = Response::default();
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let mut response = Response::new(match file.data {
            Cow::Borrowed(bytes) => bytes.into(),
            Cow::Owned(bytes) => bytes.into(),
        });
        response
            .headers_mut()
            .insert(CONTENT_TYPE, content_type(file.metadata.mimetype()));
        response
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, value);
    }
    Some(response)
}

/// The strong entity tag of a file with this SHA-256: its hex digits, quoted.
fn etag(hash: &[u8; 32]) -> String {
    let mut tag = String::with_capacity(66);
    tag.push('"');
    for byte in hash {
        tag.push_str(&format!("{byte:02x}"));
    }
    tag.push('"');
    tag
}

/// Whether an `If-None-Match` header names `etag` (`*`, or one of its
/// comma-separated tags; weak comparison, as RFC 9110 has it for this header).
fn matches_etag(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

/// The `Content-Type` of a file of `mime` (as guessed from its name), with
/// `charset=utf-8` for text: every file of the app is UTF-8.
fn content_type(mime: &str) -> HeaderValue {
    let texty = mime.starts_with("text/")
        || matches!(
            mime,
            "application/javascript" | "application/json" | "image/svg+xml"
        );
    let value = if texty && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Every file under `dir`, relative to `root`, with `/` separators.
    fn files_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files_under(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap();
                out.push(relative.to_str().unwrap().replace('\\', "/"));
            }
        }
    }

    #[test]
    fn the_binary_holds_exactly_the_files_of_frontend() {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend"));
        let mut on_disk = Vec::new();
        files_under(root, root, &mut on_disk);
        on_disk.sort();
        assert_eq!(Frontend::embedded_files(), on_disk);
        assert!(on_disk.iter().any(|f| f == "index.html"));
        assert!(on_disk.iter().any(|f| f.starts_with("js/")));
        assert!(!on_disk.iter().any(|f| f.contains("frontend-tests")));
    }

    #[test]
    fn a_module_is_javascript_in_utf_8_and_cached_briefly() {
        let response = embedded("js/main.js", None).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        let content_type = headers[CONTENT_TYPE].to_str().unwrap();
        assert!(
            content_type.ends_with("javascript; charset=utf-8"),
            "{content_type}"
        );
        assert_eq!(headers[CACHE_CONTROL], ASSET_CACHE);
        let etag = headers[ETAG].to_str().unwrap();
        assert_eq!(etag.len(), 66, "{etag}");
        assert!(
            etag.starts_with('"') && etag.ends_with('"'),
            "a strong tag: {etag}"
        );
    }

    #[test]
    fn the_root_is_index_html_and_never_used_unrevalidated() {
        let response = embedded("", None).unwrap();
        assert_eq!(response.headers()[CACHE_CONTROL], "no-cache");
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(
            response.headers()[ETAG],
            embedded("index.html", None).unwrap().headers()[ETAG]
        );
    }

    #[test]
    fn a_matching_if_none_match_is_304_with_the_tag_and_no_body() {
        let etag = embedded("app.css", None).unwrap().headers()[ETAG]
            .to_str()
            .unwrap()
            .to_owned();
        for header in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"x\", {etag}"),
            "*".into(),
        ] {
            let response = embedded("app.css", Some(&header)).unwrap();
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{header}");
            assert_eq!(response.headers()[ETAG], etag.as_str());
            assert!(response.headers().get(CONTENT_TYPE).is_none());
        }
        let response = embedded("app.css", Some("\"stale\"")).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[test]
    fn paths_outside_the_app_name_no_file() {
        for path in [
            "nope.js",
            "../Cargo.toml",
            "js",
            "frontend-tests/server.mjs",
        ] {
            assert!(embedded(path, None).is_none(), "{path}");
        }
    }
}
