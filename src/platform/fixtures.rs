//! The platform's fixtures (TOML): organisations with their delegated
//! access provider, credentials, and bots with dialogs.
//!
//! `fixtures/platform.toml` is the documented default: organisation `demo`
//! using the mock IdP on `http://127.0.0.1:8400`, the Consumer
//! Authentication credential `brand-login`, and a demo bot answering
//! "my orders" and "pay order N amount X" from the brand API on
//! `http://127.0.0.1:8401`.

use serde::Deserialize;

use super::bots::Bot;
use super::org::{Org, OrgId};

/// The default fixtures, compiled in.
pub const DEFAULT_TOML: &str = include_str!("../../fixtures/platform.toml");

/// Everything a platform starts with.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformFixtures {
    #[serde(default)]
    pub orgs: Vec<Org>,
    #[serde(default)]
    pub credentials: Vec<CredentialConfig>,
    #[serde(default)]
    pub bots: Vec<Bot>,
    /// NLU domains (`[[domains]]`, see [`super::domains`]).
    #[serde(default)]
    pub domains: Vec<super::domains::DomainConfig>,
    /// Brand services of the Get Tokens API (`[[brand_services]]`, see
    /// [`super::tokens_api`]).
    #[serde(default)]
    pub brand_services: Vec<super::tokens_api::BrandServiceConfig>,
}

/// A credential as declared in fixtures: its organisation, and the same
/// fields as a body saved over HTTP (`type`, `name`, the kind's fields),
/// validated the same way when the platform starts.
#[derive(Clone, Debug, Deserialize)]
pub struct CredentialConfig {
    pub org: OrgId,
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl CredentialConfig {
    /// The declared name, if any.
    pub fn name(&self) -> &str {
        self.fields
            .get("name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
    }
}

/// Why fixtures were refused.
#[derive(Debug, thiserror::Error)]
pub enum FixturesError {
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl PlatformFixtures {
    /// The default fixtures (`fixtures/platform.toml`).
    pub fn default_demo() -> Self {
        Self::from_toml(DEFAULT_TOML, "fixtures/platform.toml")
            .expect("the default platform fixtures parse")
    }

    /// Parse fixtures; `file` names the source in errors (with line and field).
    pub fn from_toml(text: &str, file: &str) -> Result<Self, FixturesError> {
        let de = toml::Deserializer::parse(text).map_err(|e| FixturesError::Parse {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        let fixtures: PlatformFixtures =
            serde_path_to_error::deserialize(de).map_err(|e| FixturesError::Parse {
                file: file.to_string(),
                message: format!("{}: {}", e.path(), e.inner()),
            })?;
        fixtures.check()?;
        Ok(fixtures)
    }

    /// Read and parse a fixtures file.
    pub fn load(path: &std::path::Path) -> Result<Self, FixturesError> {
        let text = std::fs::read_to_string(path).map_err(|e| FixturesError::Parse {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Cross-references: unique ids, providers complete, credentials on
    /// known organisations.
    fn check(&self) -> Result<(), FixturesError> {
        let mut ids = std::collections::HashSet::new();
        for org in &self.orgs {
            if !ids.insert(org.id.as_str()) {
                return Err(FixturesError::Invalid(format!(
                    "organisation {} is declared twice",
                    org.id
                )));
            }
            org.provider
                .validate()
                .map_err(|e| FixturesError::Invalid(format!("organisation {}: {e}", org.id)))?;
        }
        for c in &self.credentials {
            let org = &c.org;
            if !ids.contains(org.as_str()) {
                return Err(FixturesError::Invalid(format!(
                    "credential for unknown organisation {org}"
                )));
            }
        }
        super::domains::check_declared(&self.domains, |o| ids.contains(o))
            .map_err(FixturesError::Invalid)?;
        super::tokens_api::check_services(&self.brand_services).map_err(FixturesError::Invalid)?;
        if let Some(s) = self
            .brand_services
            .iter()
            .find(|s| !ids.contains(s.account.as_str()))
        {
            return Err(FixturesError::Invalid(format!(
                "brand service {:?}: unknown account {}",
                s.client_id, s.account
            )));
        }
        let mut bots = std::collections::HashSet::new();
        for bot in &self.bots {
            if !bots.insert(bot.id.as_str()) {
                return Err(FixturesError::Invalid(format!(
                    "bot {} is declared twice",
                    bot.id
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::credentials::consumer_authentication;

    #[test]
    fn the_default_fixtures_parse_and_their_credential_validates() {
        let f = PlatformFixtures::default_demo();
        assert_eq!(f.orgs[0].id.as_str(), "demo");
        assert_eq!(f.bots[0].id, "demo-bot");
        let c = &f.credentials[0];
        assert_eq!(c.name(), "brand-login");
        let url = c.fields["url"].as_str().unwrap();
        consumer_authentication::validate(c.name(), url, &f.orgs[0], "http://127.0.0.1:8402")
            .expect("the default credential is valid on the default port");
        let bot = &f.bots[0];
        assert!(bot.dialog_for("my orders").is_some());
        let (d, c) = bot.dialog_for("pay order 7 amount 12.5").unwrap();
        assert_eq!(d.name, "pay-order-amount");
        assert_eq!(c["order_id"], "7");
        let (d, c) = bot.dialog_for("pay order 1003").unwrap();
        assert_eq!(d.name, "pay-order");
        assert_eq!(c["order_id"], "1003");
    }

    #[test]
    fn errors_name_the_field() {
        let e = PlatformFixtures::from_toml("[[orgs]]\nid = \"a b\"\n", "x.toml").unwrap_err();
        assert!(e.to_string().contains("x.toml"), "{e}");
        assert!(e.to_string().contains("orgs"), "{e}");
    }
}
