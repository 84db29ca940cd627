//! Sharing a poll: its QR code, and the share page `/p/{id}` that link
//! previews (Open Graph) read and the browser app opens.

use polling_core::Poll;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use warp::filters::BoxedFilter;
use warp::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, VARY};
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::{parse_poll_id, with_app};
use crate::app::App;
use crate::config::public_url::share_base;
use crate::error::ApiError;
use crate::http::route;

pub(super) fn routes(app: &App) -> BoxedFilter<(Response,)> {
    let qr = route::on_poll(&route::QR_CODE)
        .and(with_app(app))
        .and(warp::header::headers_cloned())
        .and_then(qr_svg);
    let page = route::on_poll(&route::SHARE_PAGE)
        .and(with_app(app))
        .and(warp::header::headers_cloned())
        .and_then(share_page);
    qr.or(page).unify().boxed()
}

/// The poll and its share link, `<public base>/p/<id>`.
async fn poll_and_link(
    app: &App,
    raw_id: &str,
    headers: &HeaderMap,
) -> Result<(Poll, String), ApiError> {
    let poll = app.parts.store.get(parse_poll_id(raw_id)?).await?;
    let base = share_base(app.parts.public_url.as_ref(), headers)?;
    Ok((poll.clone(), format!("{base}/p/{}", poll.id)))
}

/// The share link as a QR code in SVG; cacheable for a day (it changes
/// only with the public URL).
async fn qr_svg(raw_id: String, app: App, headers: HeaderMap) -> Result<Response, Rejection> {
    let (_, link) = poll_and_link(&app, &raw_id, &headers).await?;
    let code = QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M)
        .map_err(|e| ApiError::BadRequest(format!("the share link does not fit a QR code: {e}")))?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    let mut response = image.into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    response_headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response_headers.insert(VARY, HeaderValue::from_static("Host, X-Forwarded-Proto"));
    Ok(response)
}

/// The browser app's `index.html` with the poll's Open Graph tags, which
/// then shows the poll; a small page of its own when no app is served. An
/// unknown poll is 404: the app's page (which says so) for browsers, the
/// JSON error for other clients.
async fn share_page(raw_id: String, app: App, headers: HeaderMap) -> Result<Response, Rejection> {
    let (poll, link) = match poll_and_link(&app, &raw_id, &headers).await {
        Ok(found) => found,
        Err(error) if error.status() == StatusCode::NOT_FOUND && wants_html(&headers) => {
            if let Some(page) = app.parts.frontend.index_html().await {
                return Ok(html(page, StatusCode::NOT_FOUND));
            }
            return Err(error.into());
        }
        Err(error) => return Err(error.into()),
    };
    let tags = meta_tags(&poll, &link);
    let page = match app.parts.frontend.index_html().await {
        Some(page) => inject(&page, &poll.question, &tags),
        None => standalone_page(&poll, &link, &tags),
    };
    Ok(html(page, StatusCode::OK))
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

fn html(page: String, status: StatusCode) -> Response {
    let mut response = warp::reply::with_status(warp::reply::html(page), status).into_response();
    // The page names the poll's current question: always revalidate.
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The Open Graph and Twitter card tags of the poll, HTML-escaped.
fn meta_tags(poll: &Poll, link: &str) -> String {
    let description = format!(
        "Vote: {}",
        poll.options
            .iter()
            .map(|o| o.text.as_str())
            .collect::<Vec<_>>()
            .join(" · ")
    );
    [
        ("property", "og:type", "website"),
        ("property", "og:title", poll.question.as_str()),
        ("property", "og:description", description.as_str()),
        ("property", "og:url", link),
        ("property", "og:site_name", "Polling"),
        ("name", "twitter:card", "summary"),
        ("name", "twitter:title", poll.question.as_str()),
        ("name", "twitter:description", description.as_str()),
        ("name", "description", description.as_str()),
    ]
    .iter()
    .map(|(attribute, name, content)| {
        format!(
            "<meta {attribute}=\"{name}\" content=\"{}\">\n",
            escape(content)
        )
    })
    .collect()
}

/// `page` with `tags` before `</head>` and the question as its title.
fn inject(page: &str, question: &str, tags: &str) -> String {
    let title = format!("<title>{} · Polling</title>", escape(question));
    let page = match (page.find("<title>"), page.find("</title>")) {
        (Some(start), Some(end)) if start < end => {
            format!(
                "{}{title}{}",
                &page[..start],
                &page[end + "</title>".len()..]
            )
        }
        _ => page.to_owned(),
    };
    match page.find("</head>") {
        Some(at) => format!("{}{tags}{}", &page[..at], &page[at..]),
        None => format!("{tags}{page}"),
    }
}

/// A page of its own, when the server serves no browser app.
fn standalone_page(poll: &Poll, link: &str, tags: &str) -> String {
    let options: String = poll
        .options
        .iter()
        .map(|o| format!("<li>{}</li>", escape(&o.text)))
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{question} · Polling</title>\n{tags}</head>\n<body>\n<h1>{question}</h1>\n\
         <ul>{options}</ul>\n<p><a href=\"{link}\">{link}</a></p>\n</body>\n</html>\n",
        question = escape(&poll.question),
        link = escape(link),
    )
}

/// `text` safe inside HTML text and double-quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_text_and_attributes() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn tags_go_before_head_end_and_the_title_is_the_question() {
        let page = "<html><head><title>Polling</title></head><body></body></html>";
        let out = inject(page, "Tabs <or> spaces?", "<meta x>\n");
        assert_eq!(
            out,
            "<html><head><title>Tabs &lt;or&gt; spaces? · Polling</title><meta x>\n</head><body></body></html>"
        );
    }

    #[test]
    fn meta_tags_escape_the_poll_texts() {
        let mut poll = polling_core::testing::sample_poll(2, false, None);
        poll.question = "\"><script>alert(1)</script>".into();
        let tags = meta_tags(&poll, "http://x/p/1");
        assert!(!tags.contains("<script>"), "{tags}");
        assert!(tags.contains("content=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
        assert!(tags.contains("<meta property=\"og:url\" content=\"http://x/p/1\">"));
        assert!(tags
            .contains("<meta property=\"og:description\" content=\"Vote: Option 1 · Option 2\">"));
    }
}
