//! The JWT bearer authorization grant (RFC 7523 section 2.1), the way a
//! Google service account gets an access token: it signs a JWT with its
//! private key and posts it to the token endpoint as
//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`.
//!
//! [`verify_assertion`] decides, apart from HTTP; every refusal is
//! `invalid_grant` with a description naming the check (RFC 7523 3.1),
//! except a missing `assertion` (`invalid_request`) and a scope problem
//! (`invalid_scope`). The checks, in order:
//! 1. a JWT: three base64url parts, a JSON header and payload;
//! 2. the header's `alg` is `RS256` (`none`, HMAC and every other
//!    algorithm refused: service-account keys are RSA);
//! 3. `iss` names a known service account (its `client_email`);
//! 4. the header's `kid`, if present, is one of that account's
//!    `private_key_id`s (absent: each of its keys is tried);
//! 5. the signature verifies with that key (`jsonwebtoken`);
//! 6. `aud` is this IdP's token endpoint (`{issuer}/token`);
//! 7. `exp` and `iat` are present (Google requires both), `exp` is not
//!    past, `iat` not in the future, `nbf` (if any) not in the future, all
//!    on the shared clock with [`LEEWAY_SECS`]; `exp - iat` is at most an
//!    hour and `exp` at most an hour ahead;
//! 8. `sub`, if present, is the account itself (impersonating a user
//!    through domain-wide delegation is not offered);
//! 9. the scope, from the `scope` claim (Google style) or the `scope`
//!    parameter (the same if both), is within the account's scopes.
//!
//! `jti` replay is not tracked (RFC 7523 3 makes it optional; Google does
//! not refuse a replayed assertion within its lifetime). No client
//! authentication is needed: the assertion is the credential (RFC 7523
//! 3.1); client credentials sent along are ignored.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::TokenError;
use super::service_accounts::ServiceAccountConfig;
use super::service_token::{ServiceGrant, issue};
use super::state::{Grant, IdpState, Scope};
use super::token::TokenResponse;

/// The grant type URN (RFC 7523 2.1).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Clock skew tolerated on `exp`, `iat` and `nbf`, in seconds.
pub const LEEWAY_SECS: i64 = 30;

/// The longest assertion lifetime accepted (`exp - iat`), in seconds.
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 3600;

/// What a verified assertion grants.
#[derive(Debug, Clone)]
pub struct Verified {
    pub account: ServiceAccountConfig,
    pub scope: Scope,
}

fn refuse(description: impl Into<String>) -> TokenError {
    TokenError::invalid_grant(description)
}

/// `aud`: one string or an array of them (RFC 7519 4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, wanted: &str) -> bool {
        match self {
            Audience::One(a) => a == wanted,
            Audience::Many(all) => all.iter().any(|a| a == wanted),
        }
    }
}

/// The claims read from a verified assertion; others are ignored.
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    /// NumericDate: seconds, possibly fractional (RFC 7519 2).
    #[serde(default)]
    exp: Option<f64>,
    #[serde(default)]
    iat: Option<f64>,
    #[serde(default)]
    nbf: Option<f64>,
    #[serde(default)]
    scope: Option<String>,
}

/// One base64url JSON object of a compact JWT, or `None`.
fn json_part(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Decide an assertion (checks 1 to 9 above). `scope_param` is the
/// request's `scope` parameter. Never panics, whatever the input.
pub fn verify_assertion(
    state: &IdpState,
    assertion: &str,
    scope_param: Option<&str>,
) -> Result<Verified, TokenError> {
    // 1. Structure.
    let parts: Vec<&str> = assertion.split('.').collect();
    if parts.len() != 3 {
        return Err(refuse(
            "the assertion is not a signed JWT (RFC 7523 2.1: three base64url parts)",
        ));
    }
    let header = json_part(parts[0])
        .ok_or_else(|| refuse("the assertion's header is not base64url JSON"))?;
    let payload = json_part(parts[1])
        .ok_or_else(|| refuse("the assertion's payload is not base64url JSON"))?;

    // 2. Algorithm.
    match header.get("alg").and_then(Value::as_str) {
        None => return Err(refuse("the assertion's header has no alg")),
        Some(alg) if alg.eq_ignore_ascii_case("none") => {
            return Err(refuse("unsigned assertions (alg none) are refused"));
        }
        Some("RS256") => {}
        Some(_) => {
            return Err(refuse(
                "the assertion must be signed with RS256, the service account's key algorithm",
            ));
        }
    }
    if parts[2].is_empty() {
        return Err(refuse("the assertion has no signature"));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(refuse("the assertion's kid is not a string")),
    };

    // 3. Issuer.
    let iss = match payload.get("iss") {
        Some(Value::String(iss)) if !iss.is_empty() => iss,
        Some(_) => return Err(refuse("the assertion's iss is not a string")),
        None => {
            return Err(refuse(
                "the assertion has no iss: it must be the service account's client_email",
            ));
        }
    };
    let account = state
        .service_account(iss)
        .ok_or_else(|| refuse("the assertion's iss is not a known service account"))?;

    // 4 and 5. Key and signature.
    let candidates: Vec<_> = account
        .keys
        .iter()
        .filter(|k| kid.is_none_or(|kid| k.private_key_id == kid))
        .collect();
    if candidates.is_empty() {
        return Err(refuse(
            "the assertion's kid is not a key of this service account (deleted, or never issued)",
        ));
    }
    let mut validation = Validation::new(Algorithm::RS256);
    // Time and audience are checked below, on the shared clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let verified = candidates
        .iter()
        .filter_map(|k| k.decoding_key())
        .find_map(|key| jsonwebtoken::decode::<Value>(assertion, &key, &validation).ok())
        .ok_or_else(|| {
            refuse("the assertion's signature does not verify with the service account's key")
        })?;
    let claims: Claims = serde_json::from_value(verified.claims).map_err(|e| {
        refuse(format!(
            "the assertion's claims are malformed (aud a string or array, exp/iat/nbf numbers, scope a string): {e}"
        ))
    })?;

    // 6. Audience.
    let token_endpoint = format!("{}/token", state.issuer);
    match &claims.aud {
        None => {
            return Err(refuse(format!(
                "the assertion has no aud: it must be this IdP's token endpoint {token_endpoint}"
            )));
        }
        Some(aud) if !aud.contains(&token_endpoint) => {
            return Err(refuse(format!(
                "the assertion's aud is not this IdP's token endpoint {token_endpoint}"
            )));
        }
        Some(_) => {}
    }

    // 7. Time.
    let now = state.now().unix_secs() as f64;
    let leeway = LEEWAY_SECS as f64;
    let exp = claims
        .exp
        .ok_or_else(|| refuse("the assertion has no exp"))?;
    let iat = claims
        .iat
        .ok_or_else(|| refuse("the assertion has no iat"))?;
    if !exp.is_finite() || !iat.is_finite() {
        return Err(refuse("the assertion's exp and iat must be finite numbers"));
    }
    if now >= exp + leeway {
        return Err(refuse("the assertion has expired (exp)"));
    }
    if iat > now + leeway {
        return Err(refuse("the assertion's iat is in the future"));
    }
    let lifetime = MAX_ASSERTION_LIFETIME_SECS as f64;
    if exp - iat > lifetime {
        return Err(refuse(
            "the assertion lives too long: exp may be at most one hour after iat",
        ));
    }
    if exp > now + lifetime + leeway {
        return Err(refuse("the assertion's exp is more than one hour ahead"));
    }
    if claims
        .nbf
        .is_some_and(|nbf| !nbf.is_finite() || nbf > now + leeway)
    {
        return Err(refuse("the assertion is not valid yet (nbf)"));
    }

    // 8. Subject.
    if claims.sub.as_deref().is_some_and(|sub| sub != iss) {
        return Err(refuse(
            "the assertion's sub is not the service account: acting for another principal is not offered",
        ));
    }

    // 9. Scope.
    let scope = match (claims.scope.as_deref(), scope_param) {
        (Some(claim), Some(param)) if Scope::parse(claim) != Scope::parse(param) => {
            return Err(TokenError::invalid_request(
                "the scope parameter differs from the assertion's scope claim",
            ));
        }
        (Some(s), _) | (None, Some(s)) => Scope::parse(s),
        (None, None) => Scope::default(),
    };
    if scope.is_empty() {
        return Err(TokenError::InvalidScope(
            "no scope: put a scope claim in the assertion (or a scope parameter)".into(),
        ));
    }
    let outside = scope.outside(&Scope::from_words(&account.scopes));
    if !outside.is_empty() {
        return Err(TokenError::InvalidScope(format!(
            "not allowed for this service account: {}",
            outside.join(" ")
        )));
    }
    Ok(Verified { account, scope })
}

/// Exchange a token request's assertion for an access token.
pub fn exchange(
    state: &IdpState,
    assertion: &str,
    scope: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    let Verified { account, scope } = verify_assertion(state, assertion, scope)?;
    let mut extra = Map::new();
    extra.insert("project_id".into(), account.project_id.clone().into());
    let issued = issue(
        state,
        ServiceGrant {
            grant: Grant::JwtBearer,
            grant_type: GRANT_TYPE,
            sub: &account.client_email,
            client_id: account.client_id(),
            audience: &account.audience,
            scope: &scope,
            ttl_secs: account.access_token_ttl_secs,
            extra,
        },
    )?;
    Ok(TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: scope.to_string(),
        refresh_token: None,
        id_token: None,
    })
}
