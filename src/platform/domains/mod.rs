//! Domains (Intent Manager): an organisation's NLU models, each trained by
//! a third-party NLU engine with one Third-party NLU credential of the
//! vault ([`crate::platform::credentials::third_party_nlu`]; source document 004: that
//! credential "is used during domain training").
//!
//! A domain names its credential and what to train: for Dialogflow the
//! agent's Google Cloud project (`project_id`, by default the project of
//! the credential's service account), for Watson the workspace
//! (`workspace_id`, required). Domains are declared in the platform
//! fixtures (`[[domains]]`) or created over HTTP; they live in memory, like
//! bots.
//!
//! ```toml
//! [[domains]]
//! org = "demo"
//! name = "billing"
//! credential = "dialogflow-nlu"
//! project_id = "billing-project"
//! ```
//!
//! - [`http`]: list and create over HTTP;
//! - [`train`]: `POST /api/orgs/{org}/domains/{domain}/train`;
//! - [`token`]: the NLU access token (RFC 7523 assertion or IAM API key
//!   exchange), cached in the vault until shortly before it expires.
//!
//! A credential a domain uses is not deleted unless the deletion is
//! forced ([`crate::platform::PlatformState::domains_using`]).

pub mod http;
pub mod token;
pub mod train;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::credentials::third_party_nlu::Provider;
use super::credentials::{Credential, FieldError, Kind, err};
use super::org::OrgId;

/// A domain: its name, its NLU credential, and what the engine trains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    #[serde(default)]
    pub name: String,
    /// The Third-party NLU credential of the organisation that trains it.
    #[serde(default)]
    pub credential: String,
    /// Dialogflow: the agent's project, when not the service account's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Watson: the workspace to train.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
}

/// A domain as declared in fixtures: its organisation and its fields.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    pub org: OrgId,
    pub name: String,
    pub credential: String,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
}

impl From<DomainConfig> for Domain {
    fn from(c: DomainConfig) -> Self {
        Domain {
            name: c.name,
            credential: c.credential,
            project_id: c.project_id,
            workspace_id: c.workspace_id,
        }
    }
}

/// Project and workspace ids sit in the engine's URL paths.
fn path_safe(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl Domain {
    /// The fields on their own: a name, a credential name, path-safe ids.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let name = &self.name;
        if name.trim().is_empty() {
            errors.push(err("name", "missing", "give the domain a name"));
        } else if name.trim() != name
            || name.len() > 100
            || name.chars().any(|c| c.is_control() || c == '/')
        {
            errors.push(err(
                "name",
                "invalid",
                "the domain name is 1 to 100 characters, without control characters, '/' or surrounding spaces",
            ));
        }
        if self.credential.trim().is_empty() {
            errors.push(err(
                "credential",
                "missing",
                "name the Third-party NLU credential that trains the domain",
            ));
        }
        for (field, value) in [
            ("project_id", &self.project_id),
            ("workspace_id", &self.workspace_id),
        ] {
            if value.as_deref().is_some_and(|v| !path_safe(v)) {
                errors.push(err(
                    field,
                    "invalid",
                    format!("{field} is 1 to 64 letters, digits, '-', '_' or '.'"),
                ));
            }
        }
        errors
    }

    /// The domain against its credential as saved now (`None`: there is
    /// none of that name): a Third-party NLU credential, and the ids its
    /// provider needs.
    pub fn check_credential(&self, credential: Option<&Credential>) -> Vec<FieldError> {
        let name = &self.credential;
        let Some(credential) = credential else {
            return vec![err(
                "credential",
                "unknown",
                format!(
                    "the organisation has no credential named {name:?}: save a Third-party NLU credential first"
                ),
            )];
        };
        let Kind::ThirdPartyNlu(nlu) = &credential.kind else {
            return vec![err(
                "credential",
                "not_nlu",
                format!(
                    "credential {name:?} is a {} credential: a domain is trained with a Third-party NLU credential",
                    credential.kind.type_name()
                ),
            )];
        };
        let mut errors = Vec::new();
        match nlu.provider {
            Provider::GoogleDialogflow => {
                if self.workspace_id.is_some() {
                    errors.push(err(
                        "workspace_id",
                        "not_applicable",
                        format!("credential {name:?} is for Google Dialogflow, which trains a project's agent: set project_id, not workspace_id"),
                    ));
                }
            }
            Provider::IbmWatson => {
                if self.workspace_id.is_none() {
                    errors.push(err(
                        "workspace_id",
                        "missing",
                        format!(
                            "credential {name:?} is for IBM Watson: give the workspace_id to train"
                        ),
                    ));
                }
                if self.project_id.is_some() {
                    errors.push(err(
                        "project_id",
                        "not_applicable",
                        format!("credential {name:?} is for IBM Watson, which trains a workspace: set workspace_id, not project_id"),
                    ));
                }
            }
        }
        errors
    }
}

/// Check domains declared in fixtures: known organisations (`known_org`),
/// valid fields, names unique within an organisation.
pub fn check_declared(
    domains: &[DomainConfig],
    known_org: impl Fn(&str) -> bool,
) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for d in domains {
        if !known_org(d.org.as_str()) {
            return Err(format!(
                "domain {:?} of unknown organisation {}",
                d.name, d.org
            ));
        }
        if !seen.insert((d.org.as_str(), d.name.as_str())) {
            return Err(format!(
                "domain {:?} of {} is declared twice",
                d.name, d.org
            ));
        }
        let errors = Domain::from(d.clone()).check();
        if !errors.is_empty() {
            let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            return Err(format!(
                "domain {:?} of {}: {}",
                d.name,
                d.org,
                messages.join("; ")
            ));
        }
    }
    Ok(())
}

/// Every organisation's domains, by name. Cloning shares them; the lock
/// is held for map operations only.
#[derive(Clone, Debug, Default)]
pub struct Domains {
    inner: Arc<Mutex<BTreeMap<(OrgId, String), Domain>>>,
}

impl Domains {
    /// The domains declared in fixtures (checked by [`check_declared`]).
    pub fn declared(configs: Vec<DomainConfig>) -> Self {
        let map = configs
            .into_iter()
            .map(|c| ((c.org.clone(), c.name.clone()), Domain::from(c)))
            .collect();
        Self {
            inner: Arc::new(Mutex::new(map)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(OrgId, String), Domain>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, org: &OrgId, name: &str) -> Option<Domain> {
        self.lock().get(&(org.clone(), name.to_string())).cloned()
    }

    /// The domains of `org`, by name.
    pub fn list(&self, org: &OrgId) -> Vec<Domain> {
        self.lock()
            .iter()
            .filter(|((o, _), _)| o == org)
            .map(|(_, d)| d.clone())
            .collect()
    }

    /// Add a domain; `false` if `org` has one of that name.
    pub fn insert(&self, org: &OrgId, domain: Domain) -> bool {
        let mut map = self.lock();
        let key = (org.clone(), domain.name.clone());
        if map.contains_key(&key) {
            return false;
        }
        map.insert(key, domain);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::credentials::third_party_nlu::ThirdPartyNlu;
    use crate::secret::Secret;

    fn domain(workspace: Option<&str>, project: Option<&str>) -> Domain {
        Domain {
            name: "billing".into(),
            credential: "nlu".into(),
            project_id: project.map(String::from),
            workspace_id: workspace.map(String::from),
        }
    }

    fn credential(provider: Provider) -> Credential {
        Credential {
            name: "nlu".into(),
            kind: Kind::ThirdPartyNlu(ThirdPartyNlu {
                provider,
                credentials: Secret::new("{}"),
                api_url: None,
                project_id: None,
                client_email: None,
                private_key_id: None,
                token_uri: None,
                url: None,
                iam_url: None,
            }),
            created_at: crate::clock::Instant::UNIX_EPOCH,
            updated_at: crate::clock::Instant::UNIX_EPOCH,
        }
    }

    fn codes(errors: Vec<FieldError>) -> Vec<(&'static str, &'static str)> {
        errors.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn fields_and_credential_are_checked() {
        assert!(domain(None, None).check().is_empty());
        let bad = Domain {
            name: "a/b".into(),
            credential: " ".into(),
            project_id: Some("x y".into()),
            workspace_id: Some(String::new()),
        };
        assert_eq!(
            codes(bad.check()),
            vec![
                ("name", "invalid"),
                ("credential", "missing"),
                ("project_id", "invalid"),
                ("workspace_id", "invalid")
            ]
        );
        assert_eq!(
            codes(domain(None, None).check_credential(None)),
            vec![("credential", "unknown")]
        );
        let df = credential(Provider::GoogleDialogflow);
        let watson = credential(Provider::IbmWatson);
        assert!(
            domain(None, Some("p"))
                .check_credential(Some(&df))
                .is_empty()
        );
        assert_eq!(
            codes(domain(Some("w"), None).check_credential(Some(&df))),
            vec![("workspace_id", "not_applicable")]
        );
        assert!(
            domain(Some("w"), None)
                .check_credential(Some(&watson))
                .is_empty()
        );
        assert_eq!(
            codes(domain(None, Some("p")).check_credential(Some(&watson))),
            vec![
                ("workspace_id", "missing"),
                ("project_id", "not_applicable")
            ]
        );
        let basic = Credential {
            kind: Kind::BasicAuthentication(
                crate::platform::credentials::basic_authentication::Basic {
                    username: "u".into(),
                    password: Secret::new("p"),
                },
            ),
            ..df
        };
        assert_eq!(
            codes(domain(None, None).check_credential(Some(&basic))),
            vec![("credential", "not_nlu")]
        );
    }

    #[test]
    fn declared_domains_are_checked() {
        let config = |org: &str, name: &str| DomainConfig {
            org: OrgId::parse(org).unwrap(),
            name: name.into(),
            credential: "nlu".into(),
            project_id: None,
            workspace_id: None,
        };
        let known = |o: &str| o == "demo";
        assert!(check_declared(&[config("demo", "a"), config("demo", "b")], known).is_ok());
        assert!(
            check_declared(&[config("other", "a")], known)
                .unwrap_err()
                .contains("unknown organisation")
        );
        assert!(
            check_declared(&[config("demo", "a"), config("demo", "a")], known)
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            check_declared(&[config("demo", "")], known)
                .unwrap_err()
                .contains("name")
        );
        let domains = Domains::declared(vec![config("demo", "a")]);
        let demo = OrgId::parse("demo").unwrap();
        assert!(!domains.insert(&demo, domain(None, None).clone_named("a")));
        assert!(domains.insert(&demo, domain(None, None)));
        assert_eq!(domains.list(&demo).len(), 2);
        assert!(domains.list(&OrgId::parse("other").unwrap()).is_empty());
    }

    impl Domain {
        fn clone_named(&self, name: &str) -> Self {
            Domain {
                name: name.into(),
                ..self.clone()
            }
        }
    }
}
