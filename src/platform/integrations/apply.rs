//! Applying a vault credential to an integration call: what each kind
//! puts on the request, and what a 401 from the API means for it.
//!
//! Consumer Authentication is not here: it challenges the consumer in the
//! conversation ([`crate::platform::delegation`]).

use crate::platform::PlatformState;
use crate::platform::consumer_sessions::Unavailable;
use crate::platform::conversations::ConvInfo;
use crate::platform::credentials::auth::Auth;
use crate::platform::credentials::{self, Credential, Kind};

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
            credentials::oauth2_authorization_code::authorization(
                state,
                &conv.org,
                &credential.name,
                c,
            )
            .await
        }
        Kind::OAuth2ClientCredentials(c) => {
            credentials::oauth2_client_credentials::authorization(
                state,
                &conv.org,
                &credential.name,
                c,
            )
            .await
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
                credentials::mutual_authentication::client::authorize(&state, &org, &name, &m)
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
        Kind::ConsumerPreAuthentication(_) => pre_auth_authorize(state, conv).await,
    }
}

/// The API answered 401 to a call `credential` authorised: forget whatever
/// cached token it used, so the next call starts afresh.
pub fn unauthorized(state: &PlatformState, conv: &ConvInfo, credential: &Credential) {
    tracing::info!(credential = %credential.name, kind = credential.kind.type_name(), "brand API refused the credential");
    match &credential.kind {
        Kind::OAuth2AuthorizationCode(_) => {
            credentials::oauth2_authorization_code::unauthorized(state, &conv.org, &credential.name)
        }
        Kind::OAuth2ClientCredentials(_) => {
            credentials::oauth2_client_credentials::unauthorized(state, &conv.org, &credential.name)
        }
        Kind::ConsumerPreAuthentication(_) => pre_auth_unauthorized(state, conv),
        _ => {}
    }
}

/// Consumer Pre-Authentication: the authorisation for a call made in
/// `conv`, the access token of the
/// session `conv` is authenticated for, or a sentence for the consumer
/// saying why not.
async fn pre_auth_authorize(state: &PlatformState, conv: &ConvInfo) -> Result<Auth, String> {
    const SIGN_IN: &str =
        "please sign in on the brand's website and ask me again in the conversation it opens";
    let Some(signed_in) = &conv.authenticated else {
        return Err(format!("this conversation is not signed in; {SIGN_IN}"));
    };
    match state
        .consumer_sessions
        .current_for(state, &conv.org, signed_in)
        .await
    {
        Ok(tokens) => Ok(Auth::bearer(&tokens.access_token)),
        Err(Unavailable::NoSession) => Err(format!("you are not signed in any more; {SIGN_IN}")),
        Err(Unavailable::SignInAgain) => {
            Err(format!("your sign-in has ended at the brand; {SIGN_IN}"))
        }
        Err(Unavailable::Temporarily) => Err(
            "the brand's sign-in service is not available right now; please try again in a moment"
                .into(),
        ),
    }
}

/// The brand API refused the access token of the session `conv` is
/// authenticated for: the next call refreshes it instead of presenting it
/// again.
fn pre_auth_unauthorized(state: &PlatformState, conv: &ConvInfo) {
    if let Some(signed_in) = &conv.authenticated {
        state.consumer_sessions.access_refused(&conv.org, signed_in);
    }
}
