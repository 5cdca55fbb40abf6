//! Quirk modes: the mock IdP departing from the standards in one way each,
//! as real IdPs do, persistently (unlike the one-shot faults of
//! [`super::faults`]). A platform team tests its own client against a
//! misbehaving IdP with them, and `standin conform` is tested against each:
//! the check the departure breaks must fail, and nothing else.
//!
//! Set at start (`standin idp --quirk NAME`, repeatable; [`super::IdpOptions`]),
//! at run time (`PUT /admin/quirks {"quirks": [...]}`, `GET /admin/quirks`)
//! or through the embedding handle ([`super::IdpState::set_quirks`]).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// One departure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quirk {
    /// The authorization response omits `state`.
    StateDropped,
    /// The authorization response's `state` is not the request's.
    StateAltered,
    /// No `iss` in authorization responses, although discovery advertises
    /// `authorization_response_iss_parameter_supported`.
    IssMissing,
    /// Another issuer as `iss` in authorization responses.
    IssWrong,
    /// An authorization code can be exchanged more than once.
    CodeReusable,
    /// Redirect URIs are matched by prefix, not exactly.
    RedirectPrefix,
    /// `code_verifier` is not checked.
    PkceNotEnforced,
    /// Any client secret is accepted.
    WrongSecretAccepted,
    /// Token errors come with HTTP 200.
    #[serde(rename = "error_with_200")]
    ErrorWith200,
    /// Token responses without `Cache-Control: no-store`.
    NoCacheControl,
    /// Token responses without `token_type` (tolerated, as Bearer).
    TokenTypeMissing,
    /// `expires_in` as a string (tolerated).
    ExpiresInString,
    /// ID tokens of another issuer.
    IdTokenWrongIss,
    /// ID tokens for another audience.
    IdTokenWrongAud,
    /// ID tokens with another nonce.
    IdTokenWrongNonce,
    /// ID tokens that have expired.
    IdTokenExpired,
    /// ID tokens whose signature does not verify.
    IdTokenBadSignature,
    /// Userinfo names another subject than the ID token.
    UserinfoSubDiffers,
    /// The JWKS endpoint answers 500.
    JwksFailing,
    /// The token endpoint answers after [`SLOW_TOKEN`].
    SlowToken,
    /// A two-step login: a user name page, then a password page (legal).
    LoginTwoStep,
    /// The login form is built by JavaScript: an HTTP agent sees no form.
    LoginNeedsJavascript,
    /// Unsigned ID tokens (`alg: none`).
    IdTokenAlgNone,
    /// ID tokens signed with HS256 and the client secret, although
    /// discovery does not advertise HS256.
    IdTokenHs256,
    /// ID tokens naming a `kid` the JWKS does not hold.
    IdTokenKidUnknown,
    /// ID tokens whose `at_hash` is another token's.
    IdTokenWrongAtHash,
    /// Token responses form-encoded, not JSON (tolerated).
    FormEncodedToken,
    /// `scope` as a JSON array (tolerated).
    ScopeArray,
    /// ID tokens for the client and another audience beside it, with
    /// `azp` the client, as Oracle IDCS and Zitadel issue them. OIDC Core
    /// 2 lets an IdP do it, and 3.1.3.7 step 3 has a client reject
    /// audiences it does not trust: the platform trusts none but itself.
    IdTokenExtraAudience,
}

/// How long the `slow_token` quirk keeps the token endpoint silent.
pub const SLOW_TOKEN: std::time::Duration = std::time::Duration::from_secs(3);

impl Quirk {
    pub const ALL: [Quirk; 29] = [
        Quirk::StateDropped,
        Quirk::StateAltered,
        Quirk::IssMissing,
        Quirk::IssWrong,
        Quirk::CodeReusable,
        Quirk::RedirectPrefix,
        Quirk::PkceNotEnforced,
        Quirk::WrongSecretAccepted,
        Quirk::ErrorWith200,
        Quirk::NoCacheControl,
        Quirk::TokenTypeMissing,
        Quirk::ExpiresInString,
        Quirk::IdTokenWrongIss,
        Quirk::IdTokenWrongAud,
        Quirk::IdTokenWrongNonce,
        Quirk::IdTokenExpired,
        Quirk::IdTokenBadSignature,
        Quirk::UserinfoSubDiffers,
        Quirk::JwksFailing,
        Quirk::SlowToken,
        Quirk::LoginTwoStep,
        Quirk::LoginNeedsJavascript,
        Quirk::IdTokenAlgNone,
        Quirk::IdTokenHs256,
        Quirk::IdTokenKidUnknown,
        Quirk::IdTokenWrongAtHash,
        Quirk::FormEncodedToken,
        Quirk::ScopeArray,
        Quirk::IdTokenExtraAudience,
    ];

    /// Its name in the admin API and on the command line.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

impl std::str::FromStr for Quirk {
    type Err = String;

    /// `state_dropped`, `state-dropped` or `state dropped`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.trim().replace([' ', '-'], "_")))
            .map_err(|_| {
                format!(
                    "unknown quirk {s:?}; the quirks are {}",
                    Quirk::ALL.map(Quirk::name).join(", ")
                )
            })
    }
}

/// The set in force.
pub type Quirks = BTreeSet<Quirk>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quirk_has_a_name_that_parses_back() {
        for q in Quirk::ALL {
            assert_eq!(q.name().parse::<Quirk>(), Ok(q));
        }
        assert_eq!("state-dropped".parse(), Ok(Quirk::StateDropped));
        let e = "nope".parse::<Quirk>().unwrap_err();
        assert!(e.contains("code_reusable"), "{e}");
    }
}
