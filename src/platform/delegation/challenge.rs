//! The authentication link: the credential's URL plus a fresh `state`,
//! PKCE S256 challenge (RFC 7636 4.2) and `nonce` (OIDC Core 3.1.2.1).

use openidconnect::{PkceCodeChallenge, PkceCodeVerifier};
use tracing::instrument;

use super::Challenge;
use crate::platform::PlatformState;
use crate::platform::conversations::{ConvInfo, Reply};
use crate::platform::credentials::ConsumerAuth;
use crate::platform::events::{AuthorizationRequest, EventKind, RechallengeReason};
use crate::platform::integrations::PreparedCall;
use crate::secret::{self, random_token};

/// Issue a link for `conv`, keeping `call` to run once the consumer has
/// signed in; returns the bot's message with the link.
#[instrument(skip_all, fields(conversation = %conv.id))]
pub fn issue(
    state: &PlatformState,
    conv: &ConvInfo,
    name: &str,
    credential: &ConsumerAuth,
    call: PreparedCall,
    reason: Option<RechallengeReason>,
) -> Reply {
    let now = state.clock.now();
    let state_value = random_token(32);
    let verifier = PkceCodeVerifier::new(random_token(32));
    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
    let nonce = random_token(16);

    let mut link = credential.url.clone();
    link.query_pairs_mut()
        .append_pair("state", &state_value)
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256")
        .append_pair("nonce", &nonce);

    state.challenges.insert(
        state_value,
        conv.org.clone(),
        Challenge {
            conversation: conv.id.clone(),
            credential: name.to_string(),
            redirect_uri: credential.redirect_uri.clone(),
            verifier: secret::PkceVerifier::new(verifier.secret().clone()),
            nonce: secret::Nonce::new(nonce),
            openid: credential
                .url
                .query_pairs()
                .any(|(k, v)| k == "scope" && v.split(' ').any(|w| w == "openid")),
            call,
        },
        now + crate::clock::secs(state.options.state_ttl_secs),
        now,
    );
    if let Some(reason) = reason {
        state
            .conversations
            .event(&conv.id, now, EventKind::Rechallenge { reason });
    }
    state.conversations.event(
        &conv.id,
        now,
        EventKind::ChallengeSent {
            credential: name.to_string(),
            authorization_request: AuthorizationRequest::of(&link),
        },
    );
    let text = match reason {
        None => "To do that I need you to sign in with the brand. Please open this link:",
        Some(RechallengeReason::Expired) => {
            "Your sign-in has expired. Please sign in again with this link:"
        }
        Some(RechallengeReason::InvalidToken) => {
            "The brand no longer accepts your sign-in. Please sign in again with this link:"
        }
        Some(RechallengeReason::ExchangeFailed) => {
            "Signing you in failed at the brand's side. Please try again with this new link:"
        }
    };
    Reply {
        text: text.to_string(),
        link: Some(link.to_string()),
    }
}
