//! What every console page is made of: the frame (title, where you are,
//! the stylesheet and the one script), the policy it is served under, and
//! escaping.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Scripts and styles from the platform itself only; forms post to it
/// only; nothing frames it.
pub const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Escape text for an element's content.
pub fn text(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

/// Escape text for a double-quoted attribute.
pub fn attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

/// A path segment (organisation and credential names sit in paths).
pub fn segment(s: &str) -> String {
    crate::platform::integrations::template::encode_component(s)
}

/// Where a page sits in the console. Its breadcrumb follows from it, so
/// every page of one place shows the same trail.
#[derive(Clone, Copy, Debug)]
pub enum Place<'a> {
    /// A page of its own, outside the organisations (a refusal): no trail.
    Nowhere,
    /// The list of organisations.
    Organisations,
    /// Under the list of organisations, about none of them (an unknown
    /// organisation, a save that could not be read).
    UnderOrganisations,
    /// An organisation's credentials.
    Org(&'a str),
    /// Under an organisation, on no page of its own (a refusal, the
    /// outcome of Authorize).
    UnderOrg(&'a str),
    /// A page of an organisation: a credential, or Add credential.
    InOrg(&'a str, &'a str),
}

impl Place<'_> {
    /// The breadcrumb's links, the last one without `href` when it is the
    /// page itself.
    fn trail(self) -> Vec<(String, Option<String>)> {
        let top = |current: bool| {
            (
                "Organisations".to_string(),
                (!current).then(|| "/console".to_string()),
            )
        };
        let org = |id: &str, current: bool| {
            (
                id.to_string(),
                (!current).then(|| format!("/console/orgs/{}", segment(id))),
            )
        };
        match self {
            Place::Nowhere => Vec::new(),
            Place::Organisations => vec![top(true)],
            Place::UnderOrganisations => vec![top(false)],
            Place::Org(id) => vec![top(false), org(id, true)],
            Place::UnderOrg(id) => vec![top(false), org(id, false)],
            Place::InOrg(id, label) => {
                vec![top(false), org(id, false), (label.to_string(), None)]
            }
        }
    }
}

/// A console page. `body` is HTML already escaped.
pub fn page(status: StatusCode, title: &str, place: Place<'_>, body: &str) -> Response {
    let mut trail = String::from("<nav aria-label=\"You are here\"><ol class=\"crumbs\">");
    for (label, href) in place.trail() {
        match href {
            Some(href) => trail.push_str(&format!(
                "<li><a href=\"{}\">{}</a></li>",
                attr(&href),
                text(&label)
            )),
            None => trail.push_str(&format!("<li aria-current=\"page\">{}</li>", text(&label))),
        }
    }
    trail.push_str("</ol></nav>");
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t} · Bot Accounts</title>\
         <link rel=\"icon\" href=\"/console/icon.svg\">\
         <link rel=\"stylesheet\" href=\"/console/console.css\">\
         <script src=\"/console/console.js\" defer></script></head>\
         <body><header><p class=\"app\">Bot Accounts</p>{trail}</header>\
         <main><h1>{t}</h1>{body}</main></body></html>",
        t = text(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            // Not no-referrer: with it the browser sends `Origin: null` on
            // the console's own form posts, which then cannot be told from
            // a forged one.
            (header::REFERRER_POLICY, "same-origin"),
        ],
        html,
    )
        .into_response()
}

/// 303 to `to` (after a form post, the browser GETs it).
pub fn see_other(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// `GET /console/console.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("console.css"),
    )
        .into_response()
}

/// `GET /console/icon.svg`: the tab's icon (a key).
pub async fn icon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><circle cx=\"5\" cy=\"8\" r=\"3.5\" fill=\"none\" stroke=\"#16324f\" stroke-width=\"2\"/><path d=\"M8 8h7M13 8v3M11 8v2\" stroke=\"#16324f\" stroke-width=\"2\"/></svg>",
    )
        .into_response()
}

/// `GET /console/console.js`: the Copy buttons.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("console.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trail_of(place: Place<'_>) -> Vec<(String, Option<String>)> {
        place.trail()
    }

    fn linked(label: &str, href: &str) -> (String, Option<String>) {
        (label.to_string(), Some(href.to_string()))
    }

    fn current(label: &str) -> (String, Option<String>) {
        (label.to_string(), None)
    }

    #[test]
    fn each_place_has_one_trail_and_ends_on_the_page_itself() {
        assert_eq!(trail_of(Place::Nowhere), vec![]);
        assert_eq!(
            trail_of(Place::Organisations),
            vec![current("Organisations")]
        );
        assert_eq!(
            trail_of(Place::UnderOrganisations),
            vec![linked("Organisations", "/console")]
        );
        assert_eq!(
            trail_of(Place::Org("demo")),
            vec![linked("Organisations", "/console"), current("demo")]
        );
        assert_eq!(
            trail_of(Place::UnderOrg("demo")),
            vec![
                linked("Organisations", "/console"),
                linked("demo", "/console/orgs/demo")
            ]
        );
        assert_eq!(
            trail_of(Place::InOrg("a b/c", "Add credential")),
            vec![
                linked("Organisations", "/console"),
                linked("a b/c", "/console/orgs/a%20b%2Fc"),
                current("Add credential"),
            ]
        );
    }

    #[test]
    fn the_trail_is_escaped_and_marks_the_current_page() {
        let response = page(
            StatusCode::OK,
            "t",
            Place::InOrg("<org>", "<credential>"),
            "",
        );
        let body = body_text(response);
        assert!(
            body.contains("<li><a href=\"/console/orgs/%3Corg%3E\">&lt;org&gt;</a></li>"),
            "{body}"
        );
        assert!(
            body.contains("<li aria-current=\"page\">&lt;credential&gt;</li>"),
            "{body}"
        );
    }

    fn body_text(response: Response) -> String {
        let bytes = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }
}
