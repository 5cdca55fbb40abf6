//! The ID token check (OpenID Connect Core 1.0 section 3.1.3.7), complete
//! and strict, on the shared clock.
//!
//! Through the `openidconnect` crate's verifier, with the discovered
//! metadata: the signature against the discovered JWKS with an algorithm
//! the provider advertises (`id_token_signing_alg_values_supported`: RS256,
//! PS256, ES256, EdDSA...; HS256 with the client secret when advertised; a
//! JWKS of one key without `kid` works), `iss` exactly the discovered
//! issuer, `aud` containing the client id (a string or an array; another
//! audience beside it needs `azp`). Here, on the shared clock: `exp` not
//! passed, `iat` not in the future beyond the leeway; the `nonce` when one
//! was sent; `at_hash` when present. Unusual but legal claims (a string
//! `updated_at`, extra claims) are accepted.

use std::str::FromStr as _;

use openidconnect::core::{CoreClient, CoreIdToken};
use openidconnect::{AccessToken, AccessTokenHash, ClientId, ClientSecret, Nonce};

use super::Metadata;
use crate::secret::Secret;

/// What the check needs beside the token.
pub struct Expect<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a Secret,
    /// The nonce sent in the authorization request, if one was.
    pub nonce: Option<&'a Secret>,
    /// The access token of the same response (for `at_hash`).
    pub access_token: &'a Secret,
    /// Now on the shared clock, and the tolerated clock difference.
    pub now: i64,
    pub leeway_secs: i64,
}

/// Check `raw` and return its `sub`.
pub fn check(raw: &Secret, meta: &Metadata, expect: &Expect<'_>) -> Result<String, String> {
    let token = CoreIdToken::from_str(raw.expose())
        .map_err(|e| format!("the id_token is not a JWT ({e})"))?;
    let client = CoreClient::from_provider_metadata(
        meta.clone(),
        ClientId::new(expect.client_id.to_string()),
        Some(ClientSecret::new(expect.client_secret.expose().to_string())),
    );
    let verifier = client.id_token_verifier();
    let wanted = expect.nonce.map(|n| n.expose().to_string());
    let nonce_check = move |got: Option<&Nonce>| match (&wanted, got) {
        (None, _) => Ok(()),
        (Some(want), Some(got)) if Secret::new(want.clone()).matches(got.secret()) => Ok(()),
        (Some(_), Some(_)) => {
            Err("the nonce claim is not the one sent (OIDC Core 3.1.3.7 11)".to_string())
        }
        (Some(_), None) => Err("the nonce claim is missing (OIDC Core 3.1.3.7 11)".to_string()),
    };
    let claims = token
        .claims(&verifier, nonce_check)
        .map_err(|e| e.to_string())?;
    // The crate reads system time; every time decision here reads the
    // shared clock.
    let exp = claims.expiration().timestamp();
    if exp <= expect.now - expect.leeway_secs {
        return Err(format!(
            "the ID token expired {} s ago on the shared clock (OIDC Core 3.1.3.7 9)",
            expect.now - exp
        ));
    }
    let iat = claims.issue_time().timestamp();
    if iat > expect.now + expect.leeway_secs {
        return Err(format!(
            "the ID token's iat is {} s in the future, beyond the {} s leeway (OIDC Core 3.1.3.7 10): the IdP's clock is wrong, or the token is not fresh",
            iat - expect.now,
            expect.leeway_secs
        ));
    }
    if let Some(expected) = claims.access_token_hash() {
        let alg = token.signing_alg().map_err(|e| e.to_string())?;
        let key = token.signing_key(&verifier).map_err(|e| e.to_string())?;
        let access = AccessToken::new(expect.access_token.expose().to_string());
        let actual = AccessTokenHash::from_token(&access, alg, key).map_err(|e| e.to_string())?;
        if &actual != expected {
            return Err("at_hash does not match the access token (OIDC Core 3.2.2.9)".into());
        }
    }
    Ok(claims.subject().as_str().to_string())
}
