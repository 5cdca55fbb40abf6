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
use openidconnect::{AccessToken, AccessTokenHash, ClientId, ClientSecret, JsonWebKey as _, Nonce};

use super::Metadata;
use crate::clock::Instant;
use crate::secret::Secret;

/// What the check needs beside the token.
pub struct Expect<'a> {
    pub client_id: &'a crate::wire::ClientId,
    pub client_secret: &'a Secret,
    /// The nonce sent in the authorization request, if one was.
    pub nonce: Option<&'a crate::secret::Nonce>,
    /// The access token of the same response (for `at_hash`).
    pub access_token: &'a Secret,
    /// Now on the shared clock, and the tolerated clock difference.
    pub now: Instant,
    pub leeway_secs: i64,
}

/// What is wrong with the header of `raw`, said precisely, before the
/// crate's verifier says "Signature verification failed" about it: an
/// unsigned token, an algorithm discovery does not advertise, a `kid` the
/// JWKS does not hold. `None` when the header is as it should be (the
/// verifier still checks everything).
fn header_problem(raw: &str, meta: &Metadata) -> Option<String> {
    use base64::Engine as _;
    let header = raw.split('.').next()?;
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header.trim_end_matches('='))
            .ok()?,
    )
    .ok()?;
    let alg = header["alg"].as_str()?;
    if alg.eq_ignore_ascii_case("none") {
        return Some(
            "the ID token is unsigned (alg none), which is never accepted (OIDC Core 3.1.3.7 7)"
                .into(),
        );
    }
    let advertised: Vec<String> = meta
        .id_token_signing_alg_values_supported()
        .iter()
        .filter_map(|a| serde_json::to_value(a).ok()?.as_str().map(str::to_string))
        .collect();
    if !advertised.iter().any(|a| a == alg) {
        return Some(format!(
            "the ID token is signed with {alg}, which discovery does not advertise in id_token_signing_alg_values_supported ({}) (OIDC Core 3.1.3.7 7)",
            advertised.join(", ")
        ));
    }
    let kid = header["kid"].as_str()?;
    let keys = meta.jwks().keys();
    let kids: Vec<&str> = keys
        .iter()
        .filter_map(|k| k.key_id().map(|id| id.as_str()))
        .collect();
    if !alg.starts_with("HS")
        && !keys.is_empty()
        && kids.len() == keys.len()
        && !kids.contains(&kid)
    {
        return Some(format!(
            "the ID token names the key {kid:?}, which the IdP's JWKS (as last fetched) does not hold; the next sign-in fetches it again (OIDC Core 10.1)"
        ));
    }
    None
}

/// The claims whose values bind the token to a secret of the flow, and what
/// is shown instead: the nonce sent, the access token (`at_hash`), the code
/// (`c_hash`).
const HIDDEN_CLAIMS: [(&str, &str); 3] = [
    ("nonce", "(checked: the one sent with the link)"),
    ("at_hash", "(checked: matches the access token)"),
    (
        "c_hash",
        "(set: binds the code, not checked at the token endpoint)",
    ),
];

/// The payload of `raw`, an ID token [`check`] accepted, as people may see
/// it (a conversation's timeline): every claim, with the values of
/// `HIDDEN_CLAIMS` replaced by what was checked. `None` when the payload
/// is not a JSON object.
pub fn shown_claims(raw: &Secret) -> Option<serde_json::Value> {
    use base64::Engine as _;
    let payload = raw.expose().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let mut claims: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes).ok()?;
    for (name, shown) in HIDDEN_CLAIMS {
        if let Some(value) = claims.get_mut(name) {
            *value = shown.into();
        }
    }
    Some(claims.into())
}

/// Check `raw` and return its `sub`.
pub fn check(raw: &Secret, meta: &Metadata, expect: &Expect<'_>) -> Result<String, String> {
    if let Some(problem) = header_problem(raw.expose(), meta) {
        return Err(problem);
    }
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
    let exp = Instant::from_unix_secs(claims.expiration().timestamp());
    let expired_for = expect.now.secs_since(exp);
    if expired_for >= expect.leeway_secs {
        return Err(format!(
            "the ID token expired {expired_for} s ago on the shared clock (OIDC Core 3.1.3.7 9)"
        ));
    }
    let iat = Instant::from_unix_secs(claims.issue_time().timestamp());
    let ahead = iat.secs_since(expect.now);
    if ahead > expect.leeway_secs {
        return Err(format!(
            "the ID token's iat is {ahead} s in the future, beyond the {} s leeway (OIDC Core 3.1.3.7 10): the IdP's clock is wrong, or the token is not fresh",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_claims_hide_the_nonce_and_the_hashes() {
        use base64::Engine as _;
        let b64 = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let raw = Secret::new(format!(
            "{}.{}.sig",
            b64(serde_json::json!({"alg": "RS256"})),
            b64(serde_json::json!({
                "iss": "https://idp", "sub": "alice", "nonce": "n0nce-value",
                "at_hash": "at-hash-value", "c_hash": "c-hash-value", "tier": "gold"
            })),
        ));
        let shown = shown_claims(&raw).unwrap();
        assert_eq!(shown["sub"], "alice");
        assert_eq!(shown["tier"], "gold");
        let text = shown.to_string();
        for hidden in ["n0nce-value", "at-hash-value", "c-hash-value"] {
            assert!(!text.contains(hidden), "{text}");
        }
        assert!(shown["nonce"].as_str().unwrap().starts_with("(checked"));
        assert_eq!(shown_claims(&Secret::new("not-a-jwt")), None);
    }
}
