//! Minting access tokens (RFC 9068 JWT or opaque), ID tokens (OIDC Core 2)
//! and refresh tokens. Signing happens here, outside the store's lock; the
//! caller records what was minted.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};

use super::faults::IdTokenDefect;
use super::fixtures::{ClientConfig, TokenFormat, UserConfig};
use super::keys::SigningKey;
use super::quirks::Quirk;
use super::records::{AccessDraft, FamilyId, RefreshDraft, TokenId};
use super::state::{Grant, IdpState, Scope};
use crate::clock::Instant;
use crate::secret::random_token;

/// OIDC Core 5.4: which claims each scope releases.
const SCOPE_CLAIMS: [(&str, &[&str]); 4] = [
    (
        "profile",
        &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
    ),
    ("email", &["email", "email_verified"]),
    ("address", &["address"]),
    ("phone", &["phone_number", "phone_number_verified"]),
];

/// The user's claims released by `scope`. Claims outside the standard
/// sets (brand-specific ones from the fixtures) are always released.
pub fn claims_for(user: &UserConfig, scope: &Scope) -> Map<String, Value> {
    user.claims
        .iter()
        .filter(|(name, _)| {
            let owner = SCOPE_CLAIMS
                .iter()
                .find(|(_, claims)| claims.contains(&name.as_str()));
            match owner {
                Some((s, _)) => scope.contains(s),
                None => true,
            }
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The signing key for a client, or the RS256 key when its algorithm has
/// none (refused at registration, so only reachable after key removal).
fn key_for(state: &IdpState, client: &ClientConfig) -> std::sync::Arc<SigningKey> {
    let keys = state.keys();
    keys.active(client.signing_alg)
        .or_else(|| keys.active(super::keys::SigningAlg::RS256))
        .or_else(|| keys.algorithms().first().and_then(|a| keys.active(*a)))
        .expect("the IdP starts with at least one signing key")
}

#[derive(Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: Instant,
    iat: Instant,
    nbf: Instant,
    jti: &'a str,
    client_id: &'a str,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<Instant>,
    /// RFC 8705 3.1: the certificate the token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Value>,
}

/// What an access token is minted for.
pub struct AccessGrant<'a> {
    pub client: &'a ClientConfig,
    pub sub: Option<&'a str>,
    pub scope: &'a Scope,
    pub grant: Grant,
    pub family: Option<FamilyId>,
    pub auth_time: Option<Instant>,
}

/// Mint an access token; returns the value and what to record of it. A
/// token for a client that authenticated with a certificate is bound to it
/// (`cnf`, RFC 8705 3.1), and its record says so.
pub fn mint_access<'a>(state: &IdpState, g: AccessGrant<'a>) -> (String, AccessDraft<'a>) {
    let now = state.now();
    let ttl = Duration::from_secs(g.client.access_token_ttl_secs);
    let value = match g.client.access_token_format {
        TokenFormat::Opaque => random_token(32),
        TokenFormat::Jwt => {
            let jti = random_token(16);
            let claims = AccessClaims {
                iss: &state.issuer,
                // RFC 9068 2.2: for client credentials, sub is the client.
                sub: g.sub.unwrap_or(g.client.id.as_str()),
                aud: &g.client.audience,
                exp: now + ttl,
                iat: now,
                nbf: now,
                jti: &jti,
                client_id: g.client.id.as_str(),
                scope: g.scope.to_string(),
                auth_time: g.auth_time,
                cnf: g
                    .client
                    .certificate_thumbprint
                    .as_ref()
                    .map(|t| serde_json::json!({ "x5t#S256": t })),
            };
            key_for(state, g.client).sign_jwt("at+jwt", &claims)
        }
    };
    let draft = AccessDraft {
        id: TokenId::of(&value),
        client_id: g.client.id.as_str(),
        sub: g.sub,
        scope: g.scope.as_str(),
        audience: &g.client.audience,
        format: g.client.access_token_format,
        grant: g.grant,
        issued_at: now,
        expires_at: now + ttl,
        auth_time: g.auth_time,
        family: g.family,
        revoked: false,
        binding: g.client.certificate_thumbprint.as_deref(),
    };
    (value, draft)
}

/// Mint a refresh token in `family`.
pub fn mint_refresh<'a>(
    state: &IdpState,
    client: &'a ClientConfig,
    sub: &'a str,
    scope: &'a Scope,
    family: FamilyId,
    auth_time: Instant,
) -> (String, RefreshDraft<'a>) {
    let now = state.now();
    let value = random_token(32);
    let ttl = Duration::from_secs(client.refresh_token_ttl_secs);
    let draft = RefreshDraft {
        id: TokenId::of(&value),
        client_id: client.id.as_str(),
        sub,
        scope: scope.as_str(),
        family,
        auth_time,
        issued_at: now,
        expires_at: now + ttl,
    };
    (value, draft)
}

/// What an ID token is minted for.
pub struct IdTokenFor<'a> {
    pub client: &'a ClientConfig,
    pub user: &'a UserConfig,
    pub scope: &'a Scope,
    pub nonce: Option<&'a str>,
    pub auth_time: Instant,
    pub access_token: &'a str,
}

/// Mint an ID token (OIDC Core 2, 3.1.3.6), applying a queued defect if any.
pub fn mint_id_token(state: &IdpState, t: IdTokenFor<'_>) -> String {
    let defect = state.faults().take_defect().or_else(|| {
        [
            (Quirk::IdTokenWrongIss, IdTokenDefect::WrongIss),
            (Quirk::IdTokenWrongAud, IdTokenDefect::WrongAud),
            (Quirk::IdTokenWrongNonce, IdTokenDefect::WrongNonce),
            (Quirk::IdTokenExpired, IdTokenDefect::Expired),
            (Quirk::IdTokenBadSignature, IdTokenDefect::BadSignature),
        ]
        .into_iter()
        .find(|(q, _)| state.quirk(*q))
        .map(|(_, d)| d)
    });
    let now = state.now();
    let ttl = Duration::from_secs(t.client.id_token_ttl_secs);
    let skew = Duration::from_secs(120);
    let ahead = Duration::from_secs(600);
    let key = key_for(state, t.client);
    let mut claims = claims_for(t.user, t.scope);
    let mut iss = state.issuer.to_string();
    let mut aud = t.client.id.to_string();
    let mut nonce = t.nonce.map(String::from);
    let (mut iat, mut exp) = (now, now + ttl);
    match defect {
        Some(IdTokenDefect::WrongIss) => iss.push_str("/not-the-issuer"),
        Some(IdTokenDefect::WrongAud) => aud = "someone-else".into(),
        Some(IdTokenDefect::WrongNonce) => nonce = Some("not-the-nonce-that-was-sent".into()),
        Some(IdTokenDefect::Expired) => {
            iat = now - ttl - skew;
            exp = now - skew;
        }
        Some(IdTokenDefect::FutureIat) => {
            iat = now + ahead;
            exp = now + ahead + ttl;
        }
        Some(IdTokenDefect::BadSignature) | None => {}
    }
    claims.insert("iss".into(), iss.into());
    claims.insert("sub".into(), t.user.sub().into());
    if state.quirk(Quirk::IdTokenExtraAudience) && defect.is_none() {
        claims.insert(
            "aud".into(),
            serde_json::json!([aud, "urn:standin:another-audience"]),
        );
    } else {
        claims.insert("aud".into(), aud.into());
    }
    claims.insert("azp".into(), t.client.id.as_str().into());
    claims.insert("exp".into(), exp.unix_secs().into());
    claims.insert("iat".into(), iat.unix_secs().into());
    claims.insert("auth_time".into(), t.auth_time.unix_secs().into());
    let hashed = if state.quirk(Quirk::IdTokenWrongAtHash) {
        "not-the-access-token"
    } else {
        t.access_token
    };
    claims.insert("at_hash".into(), key.alg().half_hash(hashed).into());
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), nonce.into());
    }
    if state.quirk(Quirk::IdTokenAlgNone) {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
        return format!("{header}.{body}.");
    }
    if state.quirk(Quirk::IdTokenHs256)
        && let Some(secret) = &t.client.secret
    {
        let key = jsonwebtoken::EncodingKey::from_secret(secret.expose().as_bytes());
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        if let Ok(jwt) = jsonwebtoken::encode(&header, &claims, &key) {
            return jwt;
        }
    }
    let jwt = if state.quirk(Quirk::IdTokenKidUnknown) {
        key.sign_jwt_as("JWT", &claims, "not-in-the-jwks")
    } else {
        key.sign_jwt("JWT", &claims)
    };
    if defect == Some(IdTokenDefect::BadSignature) {
        corrupt_signature(jwt)
    } else {
        jwt
    }
}

/// Flip bits in the first signature character: still base64url, no longer valid.
fn corrupt_signature(jwt: String) -> String {
    let Some(dot) = jwt.rfind('.') else {
        return jwt;
    };
    let (head, sig) = jwt.split_at(dot + 1);
    let mut chars: Vec<char> = sig.chars().collect();
    if let Some(first) = chars.first_mut() {
        *first = if *first == 'A' { 'B' } else { 'A' };
    }
    format!("{head}{}", chars.into_iter().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_decides_which_claims_are_released() {
        let mut user: UserConfig = toml::from_str(
            "username = \"a\"\npassword = \"p\"\n[claims]\nname = \"A\"\nemail = \"a@x\"\ntier = \"gold\"\n",
        )
        .unwrap();
        let only_email = claims_for(&user, &Scope::parse("openid email"));
        assert!(only_email.contains_key("email"));
        assert!(!only_email.contains_key("name"));
        assert!(
            only_email.contains_key("tier"),
            "brand claims are always released"
        );
        user.claims.clear();
        assert!(claims_for(&user, &Scope::parse("openid profile")).is_empty());
    }

    #[test]
    fn corrupted_signatures_differ() {
        assert_eq!(corrupt_signature("a.b.Acd".into()), "a.b.Bcd");
        assert_eq!(corrupt_signature("a.b.xcd".into()), "a.b.Acd");
    }
}
