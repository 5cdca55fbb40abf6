//! Applying a vault credential to an integration call: what each kind
//! puts on the request, and what a 401 from the API means for it.
//!
//! Consumer Authentication is not here: it challenges the consumer in the
//! conversation ([`crate::platform::delegation`]).

use super::{Credential, Kind};
use crate::platform::PlatformState;
use crate::platform::conversations::ConvInfo;
use crate::platform::integrations::Auth;

/// The authorisation `credential` gives a call made in `conv`, or why it
/// cannot give one now (a sentence for the conversation).
pub async fn authorize(
    state: &PlatformState,
    conv: &ConvInfo,
    credential: &Credential,
) -> Result<Auth, String> {
    match &credential.kind {
        Kind::BasicAuthentication(b) => Ok(Auth::header(b.authorization())),
        Kind::AccessToken(t) => Ok(Auth::header(t.authorization())),
        Kind::OAuth2AuthorizationCode(c) => {
            super::oauth_code::authorization(state, &conv.org, &credential.name, c).await
        }
        Kind::OAuth2ClientCredentials(c) => {
            super::client_credentials::authorization(state, &conv.org, &credential.name, c).await
        }
        Kind::MutualAuthentication(m) => {
            // Opening the key store (key derivation) the first time may
            // take a while: not on an async worker.
            let (state, org, name, m) = (
                state.clone(),
                conv.org.clone(),
                credential.name.clone(),
                m.clone(),
            );
            tokio::task::spawn_blocking(move || {
                super::mtls::client::authorize(&state, &org, &name, &m)
            })
            .await
            .unwrap_or_else(|_| Err("the client certificate could not be loaded".into()))
        }
        Kind::ThirdPartyNlu(_) => Err(format!(
            "credential {} is a third-party NLU credential: it trains domains and cannot authorise an API call",
            credential.name
        )),
        Kind::ConsumerAuthentication(_) => Err(format!(
            "credential {:?} signs the consumer in during the conversation",
            credential.name
        )),
        Kind::ConsumerPreAuthentication(_) => super::pre_auth::authorize(state, conv).await,
    }
}

/// The API answered 401 to a call `credential` authorised: forget whatever
/// cached token it used, so the next call starts afresh.
pub fn unauthorized(state: &PlatformState, conv: &ConvInfo, credential: &Credential) {
    tracing::info!(credential = %credential.name, kind = credential.kind.type_name(), "brand API refused the credential");
    match &credential.kind {
        Kind::OAuth2AuthorizationCode(_) => {
            super::oauth_code::unauthorized(state, &conv.org, &credential.name)
        }
        Kind::OAuth2ClientCredentials(_) => {
            super::client_credentials::unauthorized(state, &conv.org, &credential.name)
        }
        Kind::ConsumerPreAuthentication(_) => super::pre_auth::unauthorized(state, conv),
        _ => {}
    }
}
