//! Parameter types of the step expressions (`{pkce}`, `{which}` ...).

use std::str::FromStr;

use cucumber::Parameter;
use standin::conformance::control::{CodeState, Grant as GrantKind, TokenState};

/// PKCE `code_challenge_method` (RFC 7636 4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(name = "pkce", regex = "S256|plain")]
pub enum PkceMethod {
    S256,
    Plain,
}

impl PkceMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PkceMethod::S256 => "S256",
            PkceMethod::Plain => "plain",
        }
    }
}

impl FromStr for PkceMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "S256" => Ok(Self::S256),
            "plain" => Ok(Self::Plain),
            other => Err(format!("unknown PKCE method {other:?}")),
        }
    }
}

/// Which of the token responses a scenario received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(name = "which", regex = "first|previous|latest")]
pub enum Which {
    First,
    Previous,
    Latest,
}

impl FromStr for Which {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "first" => Ok(Self::First),
            "previous" => Ok(Self::Previous),
            "latest" => Ok(Self::Latest),
            other => Err(format!("unknown position {other:?}")),
        }
    }
}

impl Which {
    /// Index into a history of `len` items.
    pub fn index(self, len: usize) -> Option<usize> {
        match self {
            Which::First => (len > 0).then_some(0),
            Which::Previous => len.checked_sub(2),
            Which::Latest => len.checked_sub(1),
        }
    }
}

/// A kind of token the IdP keeps a record of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(name = "kind", regex = "access token|refresh token")]
pub enum TokenKind {
    Access,
    Refresh,
}

impl FromStr for TokenKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "access token" => Ok(Self::Access),
            "refresh token" => Ok(Self::Refresh),
            other => Err(format!("unknown token kind {other:?}")),
        }
    }
}

/// The lifecycle state of a token in the IdP's records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(name = "state", regex = "active|rotated|revoked|expired")]
pub struct StateParam(pub TokenState);

impl FromStr for StateParam {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.into()))
            .map(StateParam)
            .map_err(|_| format!("unknown token state {s:?}"))
    }
}

/// The lifecycle state of an authorization code in the IdP's records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(name = "code_state", regex = "unused|used|expired")]
pub struct CodeStateParam(pub CodeState);

impl FromStr for CodeStateParam {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.into()))
            .map(CodeStateParam)
            .map_err(|_| format!("unknown code state {s:?}"))
    }
}

/// An OAuth 2.0 grant type, in words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(
    name = "grant",
    regex = "authorization code|refresh token|client credentials"
)]
pub struct Grant(pub GrantKind);

impl FromStr for Grant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.replace(' ', "_")))
            .map(Grant)
            .map_err(|_| format!("unknown grant {s:?}"))
    }
}

/// How a client authenticates at the token endpoint (RFC 6749 2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(name = "auth", regex = "a Basic header|the request body")]
pub enum AuthStyle {
    Basic,
    Body,
}

impl FromStr for AuthStyle {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "a Basic header" => Ok(Self::Basic),
            "the request body" => Ok(Self::Body),
            other => Err(format!("unknown client authentication {other:?}")),
        }
    }
}

/// A way of forging a JWT access token from a real one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(
    name = "forgery",
    regex = "alg none|HMAC signed with the public key|unknown kid|tampered payload"
)]
pub enum Forgery {
    /// `alg: none` and no signature (RFC 8725 3.1).
    AlgNone,
    /// `alg: HS256`, the MAC keyed with the published public key (RFC 8725 3.1).
    HmacWithPublicKey,
    /// The header names a key the JWKS does not publish.
    UnknownKid,
    /// A claim changed after signing, the signature kept.
    TamperedPayload,
}

impl FromStr for Forgery {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "alg none" => Ok(Self::AlgNone),
            "HMAC signed with the public key" => Ok(Self::HmacWithPublicKey),
            "unknown kid" => Ok(Self::UnknownKid),
            "tampered payload" => Ok(Self::TamperedPayload),
            other => Err(format!("unknown forgery {other:?}")),
        }
    }
}

/// One of the checks a client makes on an ID token (OIDC Core 3.1.3.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(name = "id_check", regex = "signature|issuer|audience|expiry|nonce")]
pub enum IdTokenCheck {
    /// Signed by a key the JWKS publishes, with that key's algorithm.
    Signature,
    /// `iss` is the discovered issuer.
    Issuer,
    /// `aud` contains the client.
    Audience,
    /// `exp` is in the future.
    Expiry,
    /// `nonce` is the one the authorization link carried.
    Nonce,
}

impl FromStr for IdTokenCheck {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "signature" => Ok(Self::Signature),
            "issuer" => Ok(Self::Issuer),
            "audience" => Ok(Self::Audience),
            "expiry" => Ok(Self::Expiry),
            "nonce" => Ok(Self::Nonce),
            other => Err(format!("unknown ID token check {other:?}")),
        }
    }
}
