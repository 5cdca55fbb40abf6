//! The authorization endpoint (RFC 6749 3.1, 4.1.1; OIDC Core 3.1.2).
//!
//! Order matters: the client and the exact redirect URI are checked before
//! anything can send the browser away (RFC 6749 4.1.2.1; RFC 9700 4.1).
//! Only then do errors go back to the client as `error=...&state=...&iss=...`
//! (RFC 9207).

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::{AuthorizeError, ErrorPage};
use super::fixtures::{ClientConfig, GrantType};
use super::http::{Params, RawBody, cookie, form_params, html, see_other, set_cookie};
use super::pages;
use super::quirks::Quirk;
use super::records::CodeDraft;
use super::state::{
    AuthRequest, IdpState, Pkce, PkceMethod, Scope, Session, Store, TokenId, Transaction,
};
use crate::clock::Instant;
use crate::secret::{Secret, random_token};

pub const SESSION_COOKIE: &str = "standin_session";
pub const CSRF_COOKIE: &str = "standin_csrf";

/// What the authorization endpoint does next.
#[derive(Debug)]
pub enum Outcome {
    /// Send the browser to the client (a code or an error).
    Redirect(String),
    /// Refuse on our own page: the client or redirect URI is not trusted.
    Refuse(ErrorPage),
    /// Show the login form for transaction `txn`.
    Login {
        txn: String,
        csrf: String,
        client_name: String,
        login_hint: Option<String>,
        error: Option<String>,
    },
    /// Show the consent form for transaction `txn`.
    Consent {
        txn: String,
        csrf: String,
        client_name: String,
        scope: Scope,
    },
}

/// The `iss` of `state`'s authorization responses (RFC 9207), as its
/// quirks have it.
fn response_iss(state: &IdpState) -> Option<String> {
    if state.quirk(Quirk::IssMissing) {
        None
    } else if state.quirk(Quirk::IssWrong) {
        Some(format!(
            "{}/another-issuer",
            state.issuer.trim_end_matches('/')
        ))
    } else {
        Some(state.issuer.to_string())
    }
}

/// [`redirect_to`] with `state`'s `iss`.
fn redirect_from(state: &IdpState, redirect_uri: &str, params: &[(&str, &str)]) -> String {
    match response_iss(state) {
        Some(iss) => redirect_to(&iss, redirect_uri, params),
        None => redirect_without_iss(redirect_uri, params),
    }
}

/// The redirect of the `iss_missing` quirk.
fn redirect_without_iss(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => return redirect_uri.to_string(),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

/// Build the redirect to the client: the registered URI with `params`
/// appended to whatever query it already has, plus `iss` (RFC 9207).
pub fn redirect_to(issuer: &str, redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => return redirect_uri.to_string(),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        q.append_pair("iss", issuer);
    }
    url.to_string()
}

/// Where an error goes once the redirect URI is trusted: `error`,
/// `error_description`, `state` (unchanged) and `iss`.
fn error_location(
    state: &IdpState,
    redirect_uri: &str,
    request_state: Option<&str>,
    error: AuthorizeError,
) -> String {
    let description = error.description();
    let mut params = vec![
        ("error", error.code()),
        ("error_description", description.as_str()),
    ];
    if let Some(s) = request_state {
        params.push(("state", s));
    }
    redirect_from(state, redirect_uri, &params)
}

pub fn error_redirect(state: &IdpState, request: &AuthRequest, error: AuthorizeError) -> Outcome {
    Outcome::Redirect(error_location(
        state,
        &request.redirect_uri,
        request.state.as_deref(),
        error,
    ))
}

fn client_name(client: &ClientConfig) -> String {
    client.name.clone().unwrap_or_else(|| client.id.to_string())
}

/// Steps 1 and 2: the client and its redirect URI, checked without redirecting.
fn trusted_redirect(
    store: &Store,
    params: &Params,
    prefix: bool,
) -> Result<(ClientConfig, String, bool), ErrorPage> {
    if let Some(r) = params.first_repeated(&["client_id", "redirect_uri"]) {
        return Err(ErrorPage::bad_request(
            "invalid_request",
            format!("The parameter `{}` appears more than once.", r.0),
        ));
    }
    let client_id = params.get("client_id").ok().flatten().ok_or_else(|| {
        ErrorPage::bad_request("invalid_request", "The request has no client_id.")
    })?;
    let client = store.clients.get(client_id).ok_or_else(|| {
        ErrorPage::bad_request(
            "invalid_client",
            "No client is registered with this client_id.",
        )
    })?;
    let redirect_uri = match params.get("redirect_uri").ok().flatten() {
        Some(given) => {
            // Exact string comparison (RFC 9700 4.1.3): no prefix, no query
            // or port changes, no case folding, no normalisation.
            // The `redirect_prefix` quirk matches by prefix.
            if !client
                .redirect_uris
                .iter()
                .any(|r| r == given || (prefix && given.starts_with(r.as_str())))
            {
                return Err(ErrorPage::bad_request(
                    "invalid_redirect_uri",
                    "The redirect_uri is not registered for this client (it must match exactly).",
                ));
            }
            (given.to_string(), true)
        }
        None => match client.redirect_uris.as_slice() {
            [only] => (only.clone(), false),
            [] => {
                return Err(ErrorPage::bad_request(
                    "invalid_redirect_uri",
                    "This client has no registered redirect URI.",
                ));
            }
            _ => {
                return Err(ErrorPage::bad_request(
                    "invalid_request",
                    "This client registered several redirect URIs: the request must name one (RFC 6749 3.1.2.3).",
                ));
            }
        },
    };
    Ok((client.clone(), redirect_uri.0, redirect_uri.1))
}

/// Steps 3 onwards: everything else, errors going back to the client.
fn parse_request(
    client: &ClientConfig,
    redirect_uri: String,
    redirect_uri_param: bool,
    params: &Params,
) -> Result<AuthRequest, AuthorizeError> {
    // `state` first, so that even errors about other parameters carry it.
    let mut request = AuthRequest {
        client_id: client.id.clone(),
        redirect_uri,
        redirect_uri_param,
        scope: Scope::default(),
        state: params.get("state").ok().flatten().map(String::from),
        nonce: None,
        pkce: None,
        login_hint: None,
        max_age: None,
        force_login: false,
        force_consent: false,
    };
    // RFC 6749 3.1: no parameter more than once (RFC 8707 lets
    // `resource` repeat). `response_mode` twice is as wrong as `state`
    // twice.
    if let Some(r) = params.any_repeated(&["resource"]) {
        let e = AuthorizeError::InvalidRequest(format!(
            "parameter `{}` is repeated (RFC 6749 3.1)",
            r.0
        ));
        return Err(e);
    }
    let get = |name: &str| params.get(name).ok().flatten();
    match get("response_type") {
        None => {
            return Err(AuthorizeError::InvalidRequest(
                "missing parameter `response_type`".into(),
            ));
        }
        Some("code") => {}
        Some(_) => {
            return Err(AuthorizeError::UnsupportedResponseType(
                "only response_type=code is supported".into(),
            ));
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(AuthorizeError::UnauthorizedClient(
            "this client is not registered for the authorization code grant".into(),
        ));
    }
    let scope = Scope::parse(get("scope").unwrap_or("openid"));
    let outside = scope.outside(&Scope::from_words(&client.scopes));
    if !outside.is_empty() {
        return Err(AuthorizeError::InvalidScope(format!(
            "not allowed for this client: {}",
            outside.join(" ")
        )));
    }
    if scope.is_empty() {
        return Err(AuthorizeError::InvalidScope("empty scope".into()));
    }
    request.scope = scope;
    request.nonce = get("nonce").map(String::from);
    request.login_hint = get("login_hint").map(String::from);
    request.pkce = match (get("code_challenge"), get("code_challenge_method")) {
        (None, Some(_)) => {
            return Err(AuthorizeError::InvalidRequest(
                "code_challenge_method without code_challenge".into(),
            ));
        }
        (None, None) => {
            if client.is_public() || client.require_pkce {
                return Err(AuthorizeError::InvalidRequest(
                    "this client must use PKCE: send code_challenge with method S256".into(),
                ));
            }
            None
        }
        (Some(challenge), method) => {
            // RFC 7636 4.3: the method defaults to plain.
            let method = match method.unwrap_or("plain") {
                "S256" => PkceMethod::S256,
                "plain" if client.allow_plain_pkce && !client.is_public() => PkceMethod::Plain,
                "plain" => {
                    return Err(AuthorizeError::InvalidRequest(
                        "PKCE method plain is not allowed for this client; use S256".into(),
                    ));
                }
                _ => {
                    return Err(AuthorizeError::InvalidRequest(
                        "unsupported code_challenge_method; use S256".into(),
                    ));
                }
            };
            let well_formed = (43..=128).contains(&challenge.len())
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            if !well_formed {
                return Err(AuthorizeError::InvalidRequest(
                    "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]".into(),
                ));
            }
            Some(Pkce {
                challenge: challenge.to_string(),
                method,
            })
        }
    };
    if let Some(max_age) = get("max_age") {
        match max_age.parse::<i64>() {
            Ok(v) if v >= 0 => request.max_age = Some(v),
            _ => {
                return Err(AuthorizeError::InvalidRequest(
                    "max_age must be a non-negative integer".into(),
                ));
            }
        }
    }
    let prompt: Vec<&str> = get("prompt")
        .map(|p| p.split(' ').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    for value in &prompt {
        match *value {
            "none" | "login" | "consent" | "select_account" => {}
            _ => {
                return Err(AuthorizeError::InvalidRequest(format!(
                    "unknown prompt value `{value}`"
                )));
            }
        }
    }
    if prompt.contains(&"none") && prompt.len() > 1 {
        return Err(AuthorizeError::InvalidRequest(
            "prompt=none cannot be combined with other values".into(),
        ));
    }
    request.force_login = prompt.contains(&"login") || prompt.contains(&"select_account");
    request.force_consent = prompt.contains(&"consent");
    Ok(request)
}

/// A valid, unexpired login session for the cookie value, if any.
fn session(store: &Store, cookie: Option<&str>, now: Instant) -> Option<Session> {
    store
        .sessions
        .get(&TokenId::of(cookie?))
        .filter(|s| now < s.expires_at)
        .cloned()
}

fn needs_consent(store: &Store, client: &ClientConfig, request: &AuthRequest, sub: &str) -> bool {
    if !client.consent {
        return false;
    }
    if request.force_consent {
        return true;
    }
    !store
        .consents
        .get(&(sub.to_string(), client.id.clone()))
        .is_some_and(|granted| request.scope.is_subset(granted))
}

/// Issue a code for a signed-in consumer and build the success redirect;
/// when the store is full of records it cannot forget, the error redirect
/// `temporarily_unavailable` (RFC 6749 4.1.2.1).
pub fn issue_code(
    state: &IdpState,
    store: &mut Store,
    request: &AuthRequest,
    session: &Session,
) -> String {
    let now = state.now();
    let code = random_token(32);
    let draft = CodeDraft {
        id: TokenId::of(&code),
        client_id: request.client_id.as_str(),
        sub: &session.sub,
        scope: &request.scope,
        redirect_uri_param: request
            .redirect_uri_param
            .then(|| request.redirect_uri.clone()),
        nonce: request.nonce.clone(),
        pkce: request.pkce.clone(),
        auth_time: session.auth_time,
        issued_at: now,
        expires_at: now + Duration::from_secs(state.fixtures.idp.code_ttl_secs),
    };
    if let Err(full) = store.records.insert_code(draft, now) {
        return error_location(
            state,
            &request.redirect_uri,
            request.state.as_deref(),
            AuthorizeError::TemporarilyUnavailable(full.to_string()),
        );
    }
    let mut params = vec![("code", code.as_str())];
    let altered = request.state.as_ref().map(|s| format!("{s}x"));
    match (&request.state, &altered) {
        _ if state.quirk(Quirk::StateDropped) => {}
        (Some(_), Some(a)) if state.quirk(Quirk::StateAltered) => params.push(("state", a)),
        (Some(s), _) => params.push(("state", s)),
        _ => {}
    }
    redirect_from(state, &request.redirect_uri, &params)
}

/// Open a login or consent transaction; returns its id and CSRF token.
fn open_transaction(
    state: &IdpState,
    store: &mut Store,
    request: AuthRequest,
    signed_in: Option<Session>,
) -> (String, String) {
    let txn = random_token(24);
    let csrf = random_token(24);
    let expires_at = state.now() + Duration::from_secs(state.fixtures.idp.form_ttl_secs);
    store.transactions.insert(
        TokenId::of(&txn),
        Transaction {
            csrf: Secret::new(csrf.clone()),
            request,
            signed_in,
            expires_at,
        },
    );
    (txn, csrf)
}

/// After login (or with a live session): consent if needed, else a code.
pub fn proceed(
    state: &IdpState,
    store: &mut Store,
    request: AuthRequest,
    session: Session,
) -> Outcome {
    let Some(client) = store.clients.get(&request.client_id).cloned() else {
        return Outcome::Refuse(ErrorPage::bad_request(
            "invalid_client",
            "The client was removed.",
        ));
    };
    if needs_consent(store, &client, &request, &session.sub) {
        let scope = request.scope.clone();
        let (txn, csrf) = open_transaction(state, store, request, Some(session));
        return Outcome::Consent {
            txn,
            csrf,
            client_name: client_name(&client),
            scope,
        };
    }
    Outcome::Redirect(issue_code(state, store, &request, &session))
}

/// Decide an authorization request.
pub fn begin(state: &IdpState, params: &Params, session_cookie: Option<&str>) -> Outcome {
    let now = state.now();
    let mut store = state.store();
    let (client, redirect_uri, redirect_uri_param) =
        match trusted_redirect(&store, params, state.quirk(Quirk::RedirectPrefix)) {
            Ok(t) => t,
            Err(page) => return Outcome::Refuse(page),
        };
    let prompt_none = params.get("prompt").ok().flatten() == Some("none");
    let state_param = params.get("state").ok().flatten();
    let request = match parse_request(&client, redirect_uri.clone(), redirect_uri_param, params) {
        Ok(r) => r,
        Err(error) => {
            return Outcome::Redirect(error_location(state, &redirect_uri, state_param, error));
        }
    };
    let live = session(&store, session_cookie, now).filter(|s| {
        // OIDC Core 3.1.2.1: max_age=0 is equivalent to prompt=login (WG issue #993).
        !request.force_login
            && request
                .max_age
                .is_none_or(|max| max > 0 && now.secs_since(s.auth_time) <= max)
    });
    match live {
        Some(session) => {
            if prompt_none && needs_consent(&store, &client, &request, &session.sub) {
                return error_redirect(
                    state,
                    &request,
                    AuthorizeError::ConsentRequired("consent is needed and prompt=none".into()),
                );
            }
            proceed(state, &mut store, request, session)
        }
        None if prompt_none => error_redirect(
            state,
            &request,
            AuthorizeError::LoginRequired("no signed-in session and prompt=none".into()),
        ),
        None => {
            let login_hint = request.login_hint.clone();
            let (txn, csrf) = open_transaction(state, &mut store, request, None);
            Outcome::Login {
                txn,
                csrf,
                client_name: client_name(&client),
                login_hint,
                error: None,
            }
        }
    }
}

/// Render an outcome as HTTP.
pub fn respond(state: &IdpState, outcome: Outcome) -> Response {
    match outcome {
        Outcome::Redirect(location) => see_other(&location),
        Outcome::Refuse(page) => page.into_response(),
        Outcome::Login {
            txn,
            csrf,
            client_name,
            login_hint,
            error,
        } => {
            let status = StatusCode::OK;
            let nonce = crate::secret::random_token(16);
            let page = if state.quirk(Quirk::LoginNeedsJavascript) {
                pages::scripted_login_page(&client_name, &txn, &csrf, &nonce)
            } else if state.quirk(Quirk::LoginTwoStep) && error.is_none() {
                match login_hint.as_deref() {
                    Some(user) if !user.is_empty() => {
                        pages::password_page(&client_name, &txn, &csrf, user)
                    }
                    _ => pages::username_page(&client_name, &txn, &csrf),
                }
            } else {
                pages::login_page(
                    &client_name,
                    &txn,
                    &csrf,
                    login_hint.as_deref(),
                    error.as_deref(),
                )
            };
            let mut response = html(status, page);
            if state.quirk(Quirk::LoginNeedsJavascript) {
                let policy = format!(
                    "{}; script-src 'nonce-{nonce}'",
                    super::http::PAGE_POLICY.get()
                );
                if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
                    response
                        .headers_mut()
                        .insert(axum::http::header::CONTENT_SECURITY_POLICY, value);
                }
            }
            set_cookie(
                &mut response,
                CSRF_COOKIE,
                &csrf,
                state.fixtures.idp.form_ttl_secs,
            );
            response
        }
        Outcome::Consent {
            txn,
            csrf,
            client_name,
            scope,
        } => {
            let mut response = html(
                StatusCode::OK,
                pages::consent_page(&client_name, &scope, &txn, &csrf),
            );
            set_cookie(
                &mut response,
                CSRF_COOKIE,
                &csrf,
                state.fixtures.idp.form_ttl_secs,
            );
            response
        }
    }
}

/// `GET /authorize` and `POST /authorize` (OIDC Core 3.1.2.1 requires both).
pub async fn handler(
    State(state): State<IdpState>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: RawBody,
) -> Response {
    let params = if method == Method::POST {
        match form_params(&headers, &body) {
            Ok(p) => p,
            Err(reason) => {
                return ErrorPage::bad_request("invalid_request", reason).into_response();
            }
        }
    } else {
        Params::parse(query.unwrap_or_default().as_bytes())
    };
    let session_cookie = cookie(&headers, SESSION_COOKIE);
    let outcome = begin(&state, &params, session_cookie.as_deref());
    respond(&state, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_the_registered_query_and_add_iss() {
        let url = redirect_to(
            "http://idp",
            "https://app.example/cb?tenant=a",
            &[("code", "c d"), ("state", "s&t")],
        );
        assert_eq!(
            url,
            "https://app.example/cb?tenant=a&code=c+d&state=s%26t&iss=http%3A%2F%2Fidp"
        );
    }
}
