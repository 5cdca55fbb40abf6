//! A profile: the external IdP a conformance run is pointed at.
//!
//! ```toml
//! issuer = "https://login.brand.example"
//! client_id = "conversational-bot"
//! client_secret = "..."
//! redirect_uri = "https://platform.example/callback/acme/redirectCode"
//! scope = "openid profile"
//! # client_secret_basic (default) or client_secret_post
//! token_endpoint_auth = "client_secret_basic"
//!
//! [user]
//! username = "test.consumer@brand.example"
//! password = "..."
//!
//! # How the agent finds its way through the brand's pages (defaults shown).
//! [form]
//! username_field = "username"
//! password_field = "password"
//! allow_button = "allow"
//! deny_button = "deny"
//! ```
//!
//! The client secret and the password are [`Secret`]s: they never appear in
//! `Debug` output, so `cucumber -vv` can print the World safely.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

use super::agent::FormHints;
use crate::secret::Secret;

/// Why a profile could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("profile {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// How the client authenticates at the token endpoint (RFC 6749 2.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuth {
    /// HTTP Basic with the form-urlencoded id and secret.
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the request body.
    ClientSecretPost,
}

/// An external IdP under test.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The issuer identifier; discovery is fetched from
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: Url,
    pub client_id: String,
    pub client_secret: Secret,
    /// A redirect URI registered for the client, exactly as registered.
    pub redirect_uri: Url,
    /// The scope the happy-path scenarios ask for.
    #[serde(default = "default_scope")]
    pub scope: String,
    #[serde(default)]
    pub token_endpoint_auth: TokenEndpointAuth,
    /// A consumer account the agent signs in with.
    pub user: TestUser,
    #[serde(default)]
    pub form: FormHintsFile,
}

fn default_scope() -> String {
    "openid".into()
}

/// The consumer account used by the scenarios.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestUser {
    pub username: String,
    pub password: Secret,
}

/// `[form]`: names of the brand's login form fields and consent buttons.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FormHintsFile {
    pub username_field: String,
    pub password_field: String,
    pub allow_button: String,
    pub deny_button: String,
}

impl Default for FormHintsFile {
    fn default() -> Self {
        let FormHints {
            username_field,
            password_field,
            allow_button,
            deny_button,
        } = FormHints::default();
        Self {
            username_field,
            password_field,
            allow_button,
            deny_button,
        }
    }
}

impl Profile {
    /// Read and check a profile file.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ProfileError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parse a profile; the error names the line and the field.
    pub fn parse(text: &str) -> Result<Self, String> {
        let profile: Profile = toml::from_str(text).map_err(|e| e.to_string())?;
        profile.validate()?;
        Ok(profile)
    }

    fn validate(&self) -> Result<(), String> {
        if !matches!(self.issuer.scheme(), "https" | "http") {
            return Err(format!("issuer {} is not an http(s) URL", self.issuer));
        }
        if self.issuer.query().is_some() || self.issuer.fragment().is_some() {
            return Err(format!(
                "issuer {} must not have a query or fragment (RFC 8414 2)",
                self.issuer
            ));
        }
        if self.client_id.trim().is_empty() {
            return Err("client_id is empty".into());
        }
        if self.redirect_uri.fragment().is_some() {
            return Err(format!(
                "redirect_uri {} must not have a fragment (RFC 6749 3.1.2)",
                self.redirect_uri
            ));
        }
        if self.user.username.trim().is_empty() {
            return Err("user.username is empty".into());
        }
        Ok(())
    }

    /// The issuer as the IdP should spell it: no trailing slash on a bare
    /// host (that is how `Url` prints it, but not how issuers are written).
    pub fn issuer_str(&self) -> String {
        let s = self.issuer.as_str();
        if self.issuer.path() == "/" {
            s.trim_end_matches('/').to_string()
        } else {
            s.to_string()
        }
    }

    pub fn form_hints(&self) -> FormHints {
        FormHints {
            username_field: self.form.username_field.clone(),
            password_field: self.form.password_field.clone(),
            allow_button: self.form.allow_button.clone(),
            deny_button: self.form.deny_button.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        issuer = "https://login.brand.example"
        client_id = "bot"
        client_secret = "s3cret"
        redirect_uri = "https://platform.example/callback"
        [user]
        username = "consumer"
        password = "pa55"
        [form]
        username_field = "email"
    "#;

    #[test]
    fn parses_and_redacts() {
        let profile = Profile::parse(GOOD).unwrap();
        assert_eq!(profile.issuer_str(), "https://login.brand.example");
        assert_eq!(profile.scope, "openid");
        assert_eq!(profile.form_hints().username_field, "email");
        assert_eq!(profile.form_hints().password_field, "password");
        assert_eq!(profile.client_secret.expose(), "s3cret");
        let debug = format!("{profile:?}");
        assert!(!debug.contains("s3cret") && !debug.contains("pa55"));
    }

    #[test]
    fn names_the_bad_field() {
        let err = Profile::parse(&GOOD.replace("client_id", "client")).unwrap_err();
        assert!(err.contains("client"), "{err}");
        let err =
            Profile::parse(&GOOD.replace("https://platform.example/callback", "cb#x")).unwrap_err();
        assert!(err.contains("redirect_uri"), "{err}");
    }
}
