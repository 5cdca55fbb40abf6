//! Organisations: the account that owns bots and credentials, and its
//! delegated access provider (the brand's authorization server, reached
//! server to server only).
//!
//! An organisation's id is the account id in the callback path
//! `/callback/{account}/redirectCode`.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::secret::Secret;
use crate::wire::ClientId;

/// An organisation (account) id: 1 to 64 of `A-Z a-z 0-9 - _`, so it can
/// sit in a URL path unencoded.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct OrgId(String);

crate::wire::text_id!(OrgId);

impl OrgId {
    pub fn parse(text: &str) -> Result<Self, String> {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(text.to_string()))
        } else {
            Err(format!(
                "organisation id {text:?} must be 1 to 64 characters of A-Z, a-z, 0-9, '-' or '_'"
            ))
        }
    }
}

impl<'de> Deserialize<'de> for OrgId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        OrgId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// HTTP Basic (RFC 6749 2.3.1), the default of RFC 8414 and OpenID
    /// Connect Discovery.
    #[default]
    ClientSecretBasic,
    /// In the request body (RFC 6749 2.3.1).
    ClientSecretPost,
}

impl ClientAuthMethod {
    /// As RFC 8414 names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }

    /// The method to use with a provider that advertises `supported`
    /// (`token_endpoint_auth_methods_supported`; absent means Basic only,
    /// RFC 8414 2): Basic when it is offered, else the body.
    pub fn choose(supported: Option<&[String]>) -> Result<Self, String> {
        let Some(supported) = supported else {
            return Ok(Self::ClientSecretBasic);
        };
        let has = |m: Self| supported.iter().any(|s| s == m.name());
        if has(Self::ClientSecretBasic) {
            Ok(Self::ClientSecretBasic)
        } else if has(Self::ClientSecretPost) {
            Ok(Self::ClientSecretPost)
        } else {
            Err(format!(
                "the provider's token endpoint accepts none of client_secret_basic and client_secret_post (it advertises {})",
                supported
                    .iter()
                    .map(|s| sanitise_method(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }
}

/// An issuer identifier exactly as configured: an absolute `http(s)` URL
/// without query or fragment. Kept as written, trailing slash and all:
/// OpenID Connect Discovery 1.0 section 4.3 and RFC 9207 compare issuers
/// as strings, so `https://idp.example/` and `https://idp.example` are
/// different issuers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuer(String);

impl Issuer {
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = Url::parse(text).map_err(|e| format!("issuer {text:?} is not a URL ({e})"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(format!("issuer {text:?} is not an http(s) URL"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "issuer {text:?} has a query or fragment (OpenID Connect Discovery 1.0 section 2 forbids both)"
            ));
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Issuer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Issuer::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Where the authorization code is exchanged: the brand's issuer (OpenID
/// Connect Discovery finds the token endpoint and the keys that sign ID
/// tokens), or a bare OAuth 2.0 token endpoint (no ID token validation is
/// possible then, and an ID token, if any, is ignored).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegatedAccessProvider {
    #[serde(default)]
    pub issuer: Option<Issuer>,
    #[serde(default)]
    pub token_endpoint: Option<Url>,
    pub client_id: ClientId,
    pub client_secret: Secret,
    /// How the platform authenticates at the token endpoint; when absent,
    /// Basic if the provider's discovery document offers it (or names no
    /// method), else `client_secret_post`.
    #[serde(default)]
    pub token_endpoint_auth: Option<ClientAuthMethod>,
}

impl DelegatedAccessProvider {
    /// Exactly one of `issuer` and `token_endpoint`, and a client id.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.issuer, &self.token_endpoint) {
            (None, None) => return Err("set issuer (for discovery) or token_endpoint".into()),
            (Some(_), Some(_)) => {
                return Err("set either issuer or token_endpoint, not both".into());
            }
            _ => {}
        }
        if self.client_id.as_str().is_empty() {
            return Err("client_id is empty".into());
        }
        Ok(())
    }

    /// The issuer exactly as configured: as it must appear in the
    /// discovery document, in ID tokens and in RFC 9207 `iss`.
    pub fn issuer_str(&self) -> Option<String> {
        self.issuer.as_ref().map(|i| i.as_str().to_string())
    }
}

/// An organisation and its delegated access provider.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Org {
    pub id: OrgId,
    #[serde(default)]
    pub name: Option<String>,
    pub provider: DelegatedAccessProvider,
    /// When set, the organisation's credential API wants
    /// `Authorization: Bearer <admin_token>`; when absent it is open (for a
    /// platform on loopback).
    #[serde(default)]
    pub admin_token: Option<Secret>,
}

/// Printable, bounded text from the other side.
fn sanitise_method(text: &str) -> String {
    text.chars()
        .filter(|c| (' '..='~').contains(c))
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_ids_are_path_safe() {
        assert!(OrgId::parse("demo").is_ok());
        assert!(OrgId::parse("acme_1-2").is_ok());
        assert!(OrgId::parse("").is_err());
        assert!(OrgId::parse("a/b").is_err());
        assert!(OrgId::parse("a b").is_err());
    }

    #[test]
    fn provider_needs_exactly_one_endpoint() {
        let mut p = DelegatedAccessProvider {
            issuer: None,
            token_endpoint: None,
            client_id: "c".into(),
            client_secret: Secret::new("s"),
            token_endpoint_auth: None,
        };
        assert!(p.validate().is_err());
        p.issuer = Some(Issuer::parse("http://127.0.0.1:8400").unwrap());
        assert!(p.validate().is_ok());
        assert_eq!(p.issuer_str().as_deref(), Some("http://127.0.0.1:8400"));
        // As configured, a trailing slash included.
        p.issuer = Some(Issuer::parse("https://idp.example/").unwrap());
        assert_eq!(p.issuer_str().as_deref(), Some("https://idp.example/"));
        assert!(Issuer::parse("https://idp.example/?tenant=x").is_err());
        assert!(Issuer::parse("ftp://idp.example").is_err());
        p.token_endpoint = Some(Url::parse("http://127.0.0.1:8400/token").unwrap());
        assert!(p.validate().is_err());
        assert!(!format!("{p:?}").contains("\"s\""));
    }
}
