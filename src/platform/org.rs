//! Organisations: the account that owns bots and credentials, and its
//! delegated access provider (the brand's authorization server, reached
//! server to server only).
//!
//! An organisation's id is the account id in the callback path
//! `/callback/{account}/redirectCode`.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::secret::Secret;

/// An organisation (account) id: 1 to 64 of `A-Z a-z 0-9 - _`, so it can
/// sit in a URL path unencoded.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct OrgId(String);

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

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OrgId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        OrgId::parse(&s).map_err(serde::de::Error::custom)
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
    pub issuer: Option<Url>,
    #[serde(default)]
    pub token_endpoint: Option<Url>,
    pub client_id: String,
    pub client_secret: Secret,
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
        if self.client_id.is_empty() {
            return Err("client_id is empty".into());
        }
        Ok(())
    }

    /// The issuer as it appears in tokens and RFC 9207 `iss` (no trailing slash).
    pub fn issuer_str(&self) -> Option<String> {
        self.issuer
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_string())
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
        };
        assert!(p.validate().is_err());
        p.issuer = Some(Url::parse("http://127.0.0.1:8400").unwrap());
        assert!(p.validate().is_ok());
        assert_eq!(p.issuer_str().as_deref(), Some("http://127.0.0.1:8400"));
        p.token_endpoint = Some(Url::parse("http://127.0.0.1:8400/token").unwrap());
        assert!(p.validate().is_err());
        assert!(!format!("{p:?}").contains("\"s\""));
    }
}
