//! The Consumer Pre-Authentication credential (source document 004): the
//! consumer is authenticated on the brand's side before the conversation,
//! and the platform keeps the consumer's tokens per consumer id
//! ([`crate::platform::consumer_sessions`]).
//!
//! It has only a name: the code exchange and the refreshes go to the
//! organisation's delegated access provider ([`crate::platform::org`]).
//! That provider must be an OpenID Connect issuer, because the consumer id
//! is the `sub` of a validated ID token; a bare token endpoint cannot
//! identify anyone. An organisation has at most one such credential (the
//! vault refuses a second with `one_per_organisation`).
//!
//! Applied to an integration ([`crate::platform::integrations::apply`]), it
//! authorises the call with the access token
//! of the session the conversation is authenticated for (it was opened
//! with that session's handle, see
//! [`crate::platform::conversations::http`]), refreshed first if it has
//! expired, and never challenges the consumer. A conversation that only
//! names a consumer id gets no one's token; neither does one whose session
//! has ended, even if the same consumer has signed in again since (the new
//! sign-in's handle opens a new conversation): the bot says, without a
//! link, that the consumer must sign in on the brand's side and continue
//! in a new conversation.

use serde::{Deserialize, Serialize};

use super::{FieldError, SaveContext, err};

/// A saved Consumer Pre-Authentication credential: nothing beyond its name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreAuth {}

/// The fields as saved: none.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {}

/// Validate: the organisation's provider can identify consumers.
pub fn from_input(_input: Input, ctx: &SaveContext<'_>) -> Result<PreAuth, Vec<FieldError>> {
    if ctx.org.provider.issuer.is_none() {
        return Err(vec![err(
            "provider",
            "no_issuer",
            format!(
                "organisation {} reaches its provider by a bare token endpoint; Consumer Pre-Authentication identifies consumers by the sub of a validated ID token, so give the organisation's provider an issuer (OpenID Connect discovery)",
                ctx.org.id
            ),
        )]);
    }
    Ok(PreAuth {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_must_be_an_issuer() {
        let mut org = super::super::basic_authentication::tests::ctx_org();
        let ctx = SaveContext {
            org: &org,
            platform_url: "http://127.0.0.1:8402",
            now: crate::clock::Instant::UNIX_EPOCH,
        };
        let errors = from_input(Input {}, &ctx).unwrap_err();
        assert_eq!((errors[0].field, errors[0].code), ("provider", "no_issuer"));
        org.provider.token_endpoint = None;
        org.provider.issuer =
            Some(crate::platform::org::Issuer::parse("http://127.0.0.1:8400").unwrap());
        let ctx = SaveContext {
            org: &org,
            platform_url: "http://127.0.0.1:8402",
            now: crate::clock::Instant::UNIX_EPOCH,
        };
        assert_eq!(from_input(Input {}, &ctx), Ok(PreAuth {}));
    }

    #[test]
    fn nothing_but_a_name_is_accepted() {
        let e = serde_json::from_value::<Input>(serde_json::json!({ "url": "x" }));
        assert!(e.is_err());
        assert!(serde_json::from_value::<Input>(serde_json::json!({})).is_ok());
    }
}
