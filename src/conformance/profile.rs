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
//! # Optional: what the delegation suite expects of the client's tokens.
//! access_token_lifetime = 3600
//! api_audience = "brand-api"
//!
//! [user]
//! username = "test.consumer@brand.example"
//! password = "..."
//! # Optional: the subject the IdP gives this user.
//! sub = "248289761001"
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
    /// The issuer identifier, exactly as the IdP names itself (a trailing
    /// slash is part of it); discovery is fetched from
    /// `{issuer}/.well-known/openid-configuration`, the slash removed
    /// first (OIDC Discovery 1.0 4.1).
    pub issuer: String,
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
    /// The lifetime, in seconds, the IdP gives the client's access tokens
    /// (`expires_in`), when the profile says what to expect. Scenarios
    /// written for the mock's 300 s read it instead.
    #[serde(default)]
    pub access_token_lifetime: Option<u64>,
    /// The audience the IdP's JWT access tokens name for the brand API
    /// (default `brand-api`).
    #[serde(default)]
    pub api_audience: Option<String>,
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
    /// The subject the IdP names this user by, when it is known: the
    /// embedded brand API then serves it the default consumer's data.
    #[serde(default)]
    pub sub: Option<String>,
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
        let issuer = Url::parse(&self.issuer)
            .map_err(|e| format!("issuer {:?} is not a URL: {e}", self.issuer))?;
        if !matches!(issuer.scheme(), "https" | "http") {
            return Err(format!("issuer {} is not an http(s) URL", self.issuer));
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
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

    /// The issuer exactly as the profile spells it.
    pub fn issuer_str(&self) -> String {
        self.issuer.clone()
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
    fn the_issuer_is_kept_exactly() {
        let slash = GOOD.replace(
            "\"https://login.brand.example\"",
            "\"https://login.brand.example/\"",
        );
        let profile = Profile::parse(&slash).unwrap();
        assert_eq!(profile.issuer_str(), "https://login.brand.example/");
        let err =
            Profile::parse(&GOOD.replace("https://login.brand.example", "login")).unwrap_err();
        assert!(err.contains("issuer"), "{err}");
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
