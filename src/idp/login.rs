//! The login and consent forms' POST handlers.
//!
//! Each form carries a transaction id and a CSRF token; the token must also
//! match the `standin_csrf` cookie set when the form was shown (double
//! submit), so another site cannot post the form in the consumer's name.

use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::authorize::{self, CSRF_COOKIE, Outcome, SESSION_COOKIE};
use super::error::{AuthorizeError, ErrorPage};
use super::http::{Params, RawBody, cookie, form_params, see_other, set_cookie};
use super::state::{IdpState, Session, Store, TokenId, Transaction};
use crate::secret::random_token;

/// Find the transaction a form belongs to, checking CSRF and expiry.
fn transaction(
    state: &IdpState,
    store: &mut Store,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(String, Transaction), ErrorPage> {
    let get = |name: &str| params.get(name).ok().flatten();
    let txn_id = get("txn")
        .ok_or_else(|| ErrorPage::bad_request("invalid_request", "The form has no transaction."))?;
    let key = TokenId::of(txn_id);
    let txn = store.transactions.get(&key).cloned().ok_or_else(|| {
        ErrorPage::bad_request(
            "invalid_request",
            "This sign-in form is no longer valid. Start again from the application.",
        )
    })?;
    let csrf_ok = get("csrf").is_some_and(|c| txn.csrf.matches(c))
        && cookie(headers, CSRF_COOKIE).is_some_and(|c| txn.csrf.matches(&c));
    if !csrf_ok {
        return Err(ErrorPage::bad_request(
            "invalid_request",
            "The form's CSRF token is missing or wrong. Start again from the application.",
        ));
    }
    if state.now() >= txn.expires_at {
        store.transactions.remove(&key);
        return Err(ErrorPage::bad_request(
            "invalid_request",
            "This sign-in form has expired. Start again from the application.",
        ));
    }
    Ok((txn_id.to_string(), txn))
}

/// `POST /login`.
pub async fn login(State(state): State<IdpState>, headers: HeaderMap, body: RawBody) -> Response {
    let params = match form_params(&headers, &body) {
        Ok(p) => p,
        Err(reason) => return ErrorPage::bad_request("invalid_request", reason).into_response(),
    };
    let mut store = state.store();
    let (txn_id, txn) = match transaction(&state, &mut store, &headers, &params) {
        Ok(t) => t,
        Err(page) => return page.into_response(),
    };
    let username = params.get("username").ok().flatten().unwrap_or("");
    let password = params.get("password").ok().flatten();
    // The login form again, for `username`, with `error` if any.
    let again = |store: std::sync::MutexGuard<'_, Store>, error: Option<&str>| {
        let client_name = store
            .clients
            .get(&txn.request.client_id)
            .map(|c| c.name.clone().unwrap_or_else(|| c.id.to_string()))
            .unwrap_or_default();
        drop(store);
        let outcome = Outcome::Login {
            txn: txn_id.clone(),
            csrf: txn.csrf.expose().to_string(),
            client_name,
            login_hint: Some(username.to_string()),
            error: error.map(str::to_string),
        };
        authorize::respond(&state, outcome)
    };
    if state.quirk(super::quirks::Quirk::LoginTwoStep) && password.is_none() {
        // The first step of a two-step login: ask for the password.
        return again(store, None);
    }
    let password = password.unwrap_or("");
    let user = store
        .users
        .get(username)
        .filter(|u| u.password.matches(password))
        .cloned();
    let Some(user) = user else {
        tracing::info!("sign-in refused: wrong user name or password");
        return again(store, Some("Wrong user name or password."));
    };
    store.transactions.remove(&TokenId::of(&txn_id));
    let now = state.now();
    let ttl = state.fixtures.idp.session_ttl_secs;
    let session = Session {
        sub: user.sub().to_string(),
        auth_time: now,
        expires_at: now + Duration::from_secs(ttl),
    };
    let session_id = random_token(32);
    store
        .sessions
        .insert(TokenId::of(&session_id), session.clone());
    let outcome = authorize::proceed(&state, &mut store, txn.request, session);
    drop(store);
    let mut response = authorize::respond(&state, outcome);
    set_cookie(&mut response, SESSION_COOKIE, &session_id, ttl);
    response
}

/// `POST /consent`: `decision=allow` or `decision=deny`.
pub async fn consent(State(state): State<IdpState>, headers: HeaderMap, body: RawBody) -> Response {
    let params = match form_params(&headers, &body) {
        Ok(p) => p,
        Err(reason) => return ErrorPage::bad_request("invalid_request", reason).into_response(),
    };
    let mut store = state.store();
    let (txn_id, txn) = match transaction(&state, &mut store, &headers, &params) {
        Ok(t) => t,
        Err(page) => return page.into_response(),
    };
    let Some(session) = txn.signed_in.clone() else {
        return ErrorPage::bad_request("invalid_request", "Sign in before giving consent.")
            .into_response();
    };
    let decision = params.get("decision").ok().flatten();
    let request = txn.request;
    match decision {
        Some("allow") => {
            store.transactions.remove(&TokenId::of(&txn_id));
            let key = (session.sub.clone(), request.client_id.clone());
            let granted = store.consents.remove(&key).unwrap_or_default();
            store.consents.insert(key, granted.union(&request.scope));
            let location = authorize::issue_code(&state, &mut store, &request, &session);
            see_other(&location)
        }
        Some("deny") => {
            store.transactions.remove(&TokenId::of(&txn_id));
            let error = AuthorizeError::AccessDenied("the user denied consent".into());
            drop(store);
            authorize::respond(&state, authorize::error_redirect(&state, &request, error))
        }
        _ => ErrorPage::bad_request("invalid_request", "Choose Allow or Deny.").into_response(),
    }
}
