//! The tokens the platform holds, and what happens when one expires: for
//! every token, the one place to look. A token obtained from a brand's IdP
//! is a [`HeldToken`] (the access token, an optional refresh token, when it
//! was obtained and when it expires on the shared clock); every expiry
//! decision reads the shared clock and goes through [`usable`].
//!
//! | token | held by | used until | then |
//! |---|---|---|---|
//! | access token of a Consumer Authentication sign-in | the conversation, nowhere else | its `expires_in` has passed ([`Margin::None`]) | the next integration call sends the consumer a new link (`token_expired`, `rechallenge (expired)`); a refresh token is never kept |
//! | the same, refused by the API (401 `invalid_token`) | | | dropped, a new link (`rechallenge (invalid_token)`) |
//! | access token of a Consumer Pre-Authentication session | the consumer session | its `expires_in` has passed ([`Margin::None`]) | refreshed with the session's refresh token, one refresh for concurrent calls; a refused refresh ends the session ("sign in again"); nothing after the session's own lifetime |
//! | token of an OAuth 2.0 authorization code credential | the vault, sealed | 30 s, or a quarter of its lifetime when shorter, before `expires_in` ([`Margin::Early`]) | refreshed with its refresh token, one refresh for concurrent calls; without one, or refused: "reauthorize credential X" |
//! | token of an OAuth 2.0 client credentials credential | the vault, sealed | as above ([`Margin::Early`]) | fetched anew, one request for concurrent calls; a 401 drops it |
//! | token of a third-party NLU credential | the vault, sealed | 60 s before `expires_in` ([`Margin::Fixed`]) | fetched anew, one request for concurrent calls; a token the engine refuses is dropped |
//! | bearer token the Get Tokens API issued a brand service | the platform | its lifetime ([`Margin::None`]) | 401 `invalid_token`; the service asks the platform's token endpoint again |
//!
//! A token whose response gave no `expires_in` has no expiry here: it is
//! used until the API answers 401 (the event log says no lifetime was
//! given). "One request for concurrent calls" is the platform's one single
//! flight ([`super::single_flight`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Instant;
use crate::secret::Secret;

/// A token obtained from a brand's IdP, as the platform keeps it: in a
/// conversation (access token only), in the vault for a credential (sealed,
/// this very JSON), for a consumer session. Secrets redact themselves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldToken {
    pub access_token: Secret,
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// On the shared clock; `None` when the token endpoint gave no
    /// `expires_in`.
    #[serde(default)]
    pub expires_at: Option<Instant>,
    /// The scope granted (the one asked for when the response named none).
    #[serde(default)]
    pub scope: Option<String>,
    pub obtained_at: Instant,
}

impl HeldToken {
    /// The token as the vault seals it: its JSON with the tokens in clear
    /// (everywhere else they serialise as `"[redacted]"`).
    pub fn sealed(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        value["access_token"] = self.access_token.expose().into();
        if let Some(r) = &self.refresh_token {
            value["refresh_token"] = r.expose().into();
        }
        value
    }

    /// An access token obtained at `now` that lives `expires_in` seconds.
    pub fn new(access_token: Secret, expires_in: Option<u64>, now: Instant) -> Self {
        Self {
            access_token,
            refresh_token: None,
            expires_at: expires_in.map(|s| now + Duration::from_secs(s)),
            scope: None,
            obtained_at: now,
        }
    }

    /// Whether it may still be presented at `now`.
    pub fn usable(&self, now: Instant, margin: Margin) -> bool {
        usable(self.expires_at, self.obtained_at, now, margin)
    }
}

/// How long before its expiry a token stops being used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Margin {
    /// Used up to its expiry.
    None,
    /// Renewed 30 s, or a quarter of its lifetime when that is shorter,
    /// before it expires: a token that expires while its request travels is
    /// refused by the API.
    Early,
    /// Renewed this long before it expires.
    Fixed(Duration),
}

/// The margin of [`Margin::Early`], at most, in seconds.
pub const EARLY_SECS: u64 = 30;

/// Whether a token obtained at `obtained_at` that expires at `expires_at`
/// (`None`: no `expires_in` was given) may still be presented at `now`.
pub fn usable(
    expires_at: Option<Instant>,
    obtained_at: Instant,
    now: Instant,
    margin: Margin,
) -> bool {
    let Some(expires_at) = expires_at else {
        return true;
    };
    let margin = match margin {
        Margin::None => Duration::ZERO,
        Margin::Early => {
            Duration::from_secs(EARLY_SECS).min(expires_at.duration_since(obtained_at) / 4)
        }
        Margin::Fixed(d) => d,
    };
    now < expires_at - margin
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Instant {
        Instant::from_unix_secs(secs)
    }

    #[test]
    fn one_rule_with_a_margin_per_use() {
        let t0 = at(0);
        // Used up to the last second, not at it.
        assert!(usable(Some(at(300)), t0, at(299), Margin::None));
        assert!(!usable(Some(at(300)), t0, at(300), Margin::None));
        // 30 s early for long tokens, a quarter of short ones.
        assert!(usable(Some(at(3600)), t0, at(3569), Margin::Early));
        assert!(!usable(Some(at(3600)), t0, at(3570), Margin::Early));
        assert!(usable(Some(at(40)), t0, at(29), Margin::Early));
        assert!(!usable(Some(at(40)), t0, at(30), Margin::Early));
        // A quarter of 41 s is 10 s, not 10.25.
        assert!(usable(Some(at(41)), t0, at(30), Margin::Early));
        let minute = Margin::Fixed(Duration::from_secs(60));
        assert!(!usable(Some(at(100)), t0, at(40), minute));
        assert!(usable(Some(at(100)), t0, at(39), minute));
        // No lifetime given: until the API says otherwise.
        assert!(usable(None, t0, Instant::MAX, Margin::Early));
        // Expiring before it was obtained: no margin, just the expiry.
        assert!(usable(Some(at(-5)), t0, at(-6), Margin::Early));
        assert!(!usable(Some(at(-5)), t0, at(-5), Margin::Early));
    }
}
