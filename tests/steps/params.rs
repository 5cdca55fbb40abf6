//! Parameter types of the step expressions (`{pkce}`, `{which}` ...).

use std::str::FromStr;

use cucumber::Parameter;
use standin::conformance::control::{CodeState, Grant as GrantKind, TokenState};

/// `FromStr` for a parameter enum: each word of the step text names a
/// variant; `what` names the parameter in the refusal of any other word.
macro_rules! from_words {
    ($ty:ident, $what:literal, { $($word:literal => $variant:ident,)+ }) => {
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok(Self::$variant),)+
                    other => Err(format!(concat!("unknown ", $what, " {:?}"), other)),
                }
            }
        }
    };
}

/// `FromStr` for a newtype over an IdP type that deserializes from the
/// words, spaces as underscores (`active`, `authorization code` ...).
macro_rules! from_serde_word {
    ($ty:ident, $what:literal) => {
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                serde_json::from_value(serde_json::Value::String(s.replace(' ', "_")))
                    .map($ty)
                    .map_err(|_| format!(concat!("unknown ", $what, " {:?}"), s))
            }
        }
    };
}

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

from_words!(PkceMethod, "PKCE method", {
    "S256" => S256,
    "plain" => Plain,
});

/// Which of the token responses a scenario received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(name = "which", regex = "first|previous|latest")]
pub enum Which {
    First,
    Previous,
    Latest,
}

from_words!(Which, "position", {
    "first" => First,
    "previous" => Previous,
    "latest" => Latest,
});

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

from_words!(TokenKind, "token kind", {
    "access token" => Access,
    "refresh token" => Refresh,
});

/// The lifecycle state of a token in the IdP's records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(name = "state", regex = "active|rotated|revoked|expired")]
pub struct StateParam(pub TokenState);

from_serde_word!(StateParam, "token state");

/// The lifecycle state of an authorization code in the IdP's records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(name = "code_state", regex = "unused|used|expired")]
pub struct CodeStateParam(pub CodeState);

from_serde_word!(CodeStateParam, "code state");

/// An OAuth 2.0 grant type, in words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(
    name = "grant",
    regex = "authorization code|refresh token|client credentials"
)]
pub struct Grant(pub GrantKind);

from_serde_word!(Grant, "grant");

/// How a client authenticates at the token endpoint (RFC 6749 2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(name = "auth", regex = "a Basic header|the request body")]
pub enum AuthStyle {
    Basic,
    Body,
}

from_words!(AuthStyle, "client authentication", {
    "a Basic header" => Basic,
    "the request body" => Body,
});

/// A way of forging a JWT access token from a real one (RFC 8725 3.1, 3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Parameter)]
#[param(
    name = "forgery",
    regex = "alg none|alg none with the signature kept|alg None without a kid|\
             HMAC signed with the public key|HMAC signed with the public key in DER|\
             HMAC signed with the public JWK|unknown kid|unknown kid signed by another key|\
             no kid signed by another key|published kid signed by another key|tampered payload"
)]
pub enum Forgery {
    /// `alg: none` and no signature.
    AlgNone,
    /// `alg: none`, the real signature left in place.
    AlgNoneSignatureKept,
    /// `alg: None` (another spelling a lax parser may take for `none`),
    /// no `kid`, no signature.
    AlgNoneCapitalNoKid,
    /// `alg: HS256`, the MAC keyed with the published public key as PEM.
    HmacWithPublicKey,
    /// `alg: HS256`, the MAC keyed with the public key's DER
    /// (SubjectPublicKeyInfo).
    HmacWithPublicKeyDer,
    /// `alg: HS256`, the MAC keyed with the published JWK's JSON text.
    HmacWithPublicJwk,
    /// The header names a key the JWKS does not publish; real signature.
    UnknownKid,
    /// Validly signed by a key the JWKS does not publish, named by a kid
    /// the JWKS does not publish either.
    UnknownKidOtherKey,
    /// Validly signed by a key the JWKS does not publish, no kid.
    NoKidOtherKey,
    /// A kid the JWKS publishes (an ES256 key's where there is one), signed
    /// by another key.
    PublishedKidOtherKey,
    /// A claim changed after signing, the signature kept.
    TamperedPayload,
}

from_words!(Forgery, "forgery", {
    "alg none" => AlgNone,
    "alg none with the signature kept" => AlgNoneSignatureKept,
    "alg None without a kid" => AlgNoneCapitalNoKid,
    "HMAC signed with the public key" => HmacWithPublicKey,
    "HMAC signed with the public key in DER" => HmacWithPublicKeyDer,
    "HMAC signed with the public JWK" => HmacWithPublicJwk,
    "unknown kid" => UnknownKid,
    "unknown kid signed by another key" => UnknownKidOtherKey,
    "no kid signed by another key" => NoKidOtherKey,
    "published kid signed by another key" => PublishedKidOtherKey,
    "tampered payload" => TamperedPayload,
});

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

from_words!(IdTokenCheck, "ID token check", {
    "signature" => Signature,
    "issuer" => Issuer,
    "audience" => Audience,
    "expiry" => Expiry,
    "nonce" => Nonce,
});
