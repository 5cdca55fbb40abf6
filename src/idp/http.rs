//! Small HTTP pieces every endpoint shares: parameter parsing that notices
//! repeats, HTML and JSON responses with the right headers, cookies.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Request parameters from a query string or an
/// `application/x-www-form-urlencoded` body, in order, repeats kept so they
/// can be refused (RFC 6749 3.1, 3.2: parameters MUST NOT be included more
/// than once).
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

/// A parameter that appeared more than once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeated(pub String);

impl Params {
    pub fn parse(input: &[u8]) -> Self {
        Params(
            url::form_urlencoded::parse(input)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The value of `name`; empty values count as absent (RFC 6749 3.1).
    pub fn get(&self, name: &str) -> Result<Option<&str>, Repeated> {
        let mut found = None;
        for (k, v) in &self.0 {
            if k == name && !v.is_empty() {
                if found.is_some() {
                    return Err(Repeated(name.to_string()));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found)
    }

    /// The first parameter that is repeated (with a value), other than
    /// those of `may_repeat`, if any (RFC 6749 3.1: request parameters
    /// MUST NOT be included more than once).
    pub fn any_repeated(&self, may_repeat: &[&str]) -> Option<Repeated> {
        let mut seen = std::collections::HashSet::new();
        self.0
            .iter()
            .filter(|(k, v)| !v.is_empty() && !may_repeat.contains(&k.as_str()))
            .find(|(k, _)| !seen.insert(k.as_str()))
            .map(|(k, _)| Repeated(k.clone()))
    }

    /// The first parameter (of `names`) that is repeated, if any.
    pub fn first_repeated(&self, names: &[&str]) -> Option<Repeated> {
        names.iter().find_map(|n| self.get(n).err())
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Is the body declared as a form? (`application/x-www-form-urlencoded`,
/// parameters such as charset allowed.)
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// A request body, or why it could not be read (too large, broken
/// stream), so each endpoint can answer in its own error format instead of
/// axum's plain-text rejection.
pub struct RawBody(pub Result<Bytes, String>);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(RawBody(Bytes::from_request(request, state).await.map_err(
            |rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    format!(
                        "the request body is too large ({} KiB at most)",
                        super::BODY_LIMIT / 1024
                    )
                } else {
                    "the request body could not be read".to_string()
                }
            },
        )))
    }
}

/// A form body, or the reason it is not one.
pub fn form_params(headers: &HeaderMap, body: &RawBody) -> Result<Params, String> {
    let body = body.0.as_ref().map_err(Clone::clone)?;
    if !is_form(headers) {
        return Err("the request body must be application/x-www-form-urlencoded".into());
    }
    if std::str::from_utf8(body).is_err() {
        return Err("the request body is not valid UTF-8".into());
    }
    Ok(Params::parse(body))
}

/// The parameters of a form-encoded protocol request (token, introspection,
/// revocation), each at most once (RFC 6749 3.2; RFC 7662 2.1 and RFC
/// 7009 2.1 use the same encoding); or why not, in words.
pub fn request_params(headers: &HeaderMap, body: &RawBody) -> Result<Params, String> {
    let params = form_params(headers, body)?;
    match params.any_repeated(&[]) {
        Some(Repeated(name)) => Err(format!(
            "parameter `{name}` is repeated (RFC 6749 3.2: parameters must not be included more than once)"
        )),
        None => Ok(params),
    }
}

/// The policy of the IdP's pages: nothing but their one stylesheet.
pub(super) static PAGE_POLICY: crate::server::page_policy::Policy =
    crate::server::page_policy::Policy::new(
        "default-src 'none'; style-src {style}; frame-ancestors 'none'; base-uri 'none'",
        super::pages::STYLE,
    );

/// Headers for every HTML page: no framing (clickjacking), no caching, a
/// strict content security policy (no scripts anywhere, no style but the
/// page's own).
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    static POLICY: std::sync::LazyLock<HeaderValue> = std::sync::LazyLock::new(|| {
        HeaderValue::from_str(PAGE_POLICY.get()).expect("a hash source is a valid header value")
    });
    h.insert(header::CONTENT_SECURITY_POLICY, POLICY.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// A JSON answer that must not be cached (RFC 6749 5.1).
pub fn no_store_json(status: StatusCode, value: impl serde::Serialize) -> Response {
    let mut response = (status, axum::Json(value)).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// A 303 See Other to `location`.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The value of cookie `name` in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Set an HttpOnly, SameSite=Lax cookie on `response`.
pub fn set_cookie(response: &mut Response, name: &str, value: &str, max_age_secs: u64) {
    let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Escape text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    html_escape::encode_double_quoted_attribute(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_noticed_and_empty_values_are_absent() {
        let p = Params::parse(b"a=1&b=&c=2&c=3");
        assert_eq!(p.get("a"), Ok(Some("1")));
        assert_eq!(p.get("b"), Ok(None));
        assert_eq!(p.get("c"), Err(Repeated("c".into())));
        assert_eq!(p.first_repeated(&["a", "c"]), Some(Repeated("c".into())));
        assert_eq!(p.any_repeated(&[]), Some(Repeated("c".into())));
        assert_eq!(p.any_repeated(&["c"]), None);
        assert_eq!(Params::parse(b"a=1&b=&b=&a=").any_repeated(&[]), None);
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("x=1; standin_session=abc; y=2"),
        );
        assert_eq!(cookie(&h, "standin_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "z"), None);
    }

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<a href=\"x\">&"),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
    }
}
