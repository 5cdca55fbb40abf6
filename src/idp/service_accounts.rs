//! Service accounts in the style of Google Cloud: a robot identity
//! (`client_email`) of a project, holding RSA key pairs whose private halves
//! only the account's owner has. The IdP keeps the public halves, by
//! `private_key_id`, to verify the account's signed assertions
//! ([`super::jwt_bearer`]).
//!
//! Accounts come from the fixtures (`[[service_accounts]]`, public keys
//! only) or are created at run time ([`IdpState::create_service_account`],
//! `POST /admin/service-accounts`), which generates a key pair and hands
//! out the complete service-account key JSON once, as Google does: the IdP
//! does not keep the private key.
//!
//! ```toml
//! [[service_accounts]]
//! client_email = "trainer@demo-project.iam.gserviceaccount.com"
//! project_id = "demo-project"
//! [[service_accounts.keys]]
//! private_key_id = "3f1c0e..."
//! public_key = """
//! -----BEGIN PUBLIC KEY-----
//! ...
//! -----END PUBLIC KEY-----
//! """
//! ```

use jsonwebtoken::DecodingKey;
use serde::{Deserialize, Serialize};

use super::admin::ControlError;
use super::service_token::{DEFAULT_TTL_SECS, NLU_AUDIENCE, check_settings};
use super::state::IdpState;
use crate::secret::Secret;

/// The scopes a service account may ask for unless its entry says
/// otherwise: what Dialogflow accepts.
pub const DIALOGFLOW_SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/dialogflow",
];

/// The longest token lifetime a service account may be configured with
/// (Google's access tokens for service accounts last at most an hour).
pub const MAX_TTL_SECS: u64 = 3600;

/// One public key of a service account.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountKey {
    /// The key's id: the `kid` of the assertions it signs.
    pub private_key_id: String,
    /// PEM `PUBLIC KEY` (SubjectPublicKeyInfo) of an RSA key.
    pub public_key: String,
}

impl ServiceAccountKey {
    /// The key for verifying RS256 signatures, if the PEM holds an RSA key.
    pub fn decoding_key(&self) -> Option<DecodingKey> {
        DecodingKey::from_rsa_pem(self.public_key.as_bytes()).ok()
    }
}

/// One service account (`[[service_accounts]]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountConfig {
    /// The account's identity: the `iss` of its assertions and the `sub`
    /// of its tokens.
    pub client_email: String,
    /// The project the account belongs to; its tokens carry it as
    /// `project_id`, and the NLU service lets it train that project only.
    pub project_id: String,
    /// Google's numeric `client_id`. Default: the `client_email`.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The account's public keys; at least one.
    pub keys: Vec<ServiceAccountKey>,
    /// Scopes the account may ask for.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// `aud` of the tokens it gets.
    #[serde(default = "default_audience")]
    pub audience: String,
    /// Lifetime of the tokens it gets, at most [`MAX_TTL_SECS`].
    #[serde(default = "default_ttl")]
    pub access_token_ttl_secs: u64,
}

fn default_scopes() -> Vec<String> {
    DIALOGFLOW_SCOPES.map(String::from).to_vec()
}
fn default_audience() -> String {
    NLU_AUDIENCE.into()
}
fn default_ttl() -> u64 {
    DEFAULT_TTL_SECS
}

/// A project id: letters, digits, `-`, `_` and `.` (it appears in URL paths).
fn valid_project_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl ServiceAccountConfig {
    pub fn client_id(&self) -> &str {
        self.client_id.as_deref().unwrap_or(&self.client_email)
    }

    /// Check the entry; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        let email = &self.client_email;
        match email.split_once('@') {
            Some((user, domain)) if !user.is_empty() && !domain.is_empty() => {}
            _ => return Err(format!("client_email: `{email}` is not name@domain")),
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("client_email: must not contain spaces".into());
        }
        if !valid_project_id(&self.project_id) {
            return Err(format!(
                "project_id: `{}` must be 1 to 64 letters, digits, `-`, `_` or `.`",
                self.project_id
            ));
        }
        if self
            .client_id
            .as_deref()
            .is_some_and(|c| c.trim().is_empty())
        {
            return Err("client_id: must not be empty".into());
        }
        if self.keys.is_empty() {
            return Err("keys: a service account needs at least one public key".into());
        }
        for (i, key) in self.keys.iter().enumerate() {
            if key.private_key_id.trim().is_empty() {
                return Err(format!("keys[{i}].private_key_id: must not be empty"));
            }
            if self.keys[..i]
                .iter()
                .any(|k| k.private_key_id == key.private_key_id)
            {
                return Err(format!(
                    "keys[{i}].private_key_id: `{}` appears twice",
                    key.private_key_id
                ));
            }
            if key.decoding_key().is_none() {
                return Err(format!(
                    "keys[{i}].public_key: not a PEM RSA public key (-----BEGIN PUBLIC KEY-----)"
                ));
            }
        }
        if self.scopes.iter().any(|s| s.is_empty() || s.contains(' ')) {
            return Err("scopes: each scope is one non-empty word".into());
        }
        check_settings(&self.audience, self.access_token_ttl_secs, MAX_TTL_SECS)
    }
}

/// A service account to create at run time; the IdP generates its key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewServiceAccount {
    pub project_id: String,
    /// The part of `client_email` before `@`. Default: `sa-` and a random suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl_secs: Option<u64>,
}

impl NewServiceAccount {
    /// An account of `project_id` with every default.
    pub fn new(project_id: impl Into<String>) -> Self {
        Self {
            project_id: project_id.into(),
            account_id: None,
            scopes: None,
            audience: None,
            access_token_ttl_secs: None,
        }
    }
}

/// A Google service-account key file, as `gcloud iam service-accounts keys
/// create` writes it. The private key is in it exactly once, here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccountKeyFile {
    /// Always `service_account`.
    #[serde(rename = "type")]
    pub kind: String,
    pub project_id: String,
    pub private_key_id: String,
    /// PEM PKCS#8 `PRIVATE KEY`.
    #[serde(serialize_with = "Secret::serialize_exposed")]
    pub private_key: Secret,
    pub client_email: String,
    pub client_id: String,
    /// This IdP's authorization endpoint.
    pub auth_uri: String,
    /// This IdP's token endpoint: where assertions are exchanged, and
    /// their `aud`.
    pub token_uri: String,
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    aws_lc_rs::rand::fill(&mut buf).expect("the system CSPRNG is available");
    buf
}

/// A fresh RSA-2048 key pair: (PKCS#8 PEM private key, SPKI PEM public
/// key). aws-lc generates one in tens of milliseconds.
pub fn generate_rsa_key() -> Result<(Secret, String), ControlError> {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .map_err(|e| ControlError::Invalid(format!("key generation failed: {e}")))?;
    Ok((Secret::new(pair.serialize_pem()), pair.public_key_pem()))
}

impl IdpState {
    /// Register a service account with its public keys (fixture style).
    pub fn add_service_account(&self, account: ServiceAccountConfig) -> Result<(), ControlError> {
        account.validate().map_err(ControlError::Invalid)?;
        let mut store = self.store();
        if store.service_accounts.contains_key(&account.client_email) {
            return Err(ControlError::Conflict(format!(
                "service account {} exists",
                account.client_email
            )));
        }
        store
            .service_accounts
            .insert(account.client_email.clone(), account);
        Ok(())
    }

    /// Create a service account with a new RSA key pair and return its key
    /// file (the only copy of the private key). Key generation blocks for
    /// tens of milliseconds: async callers run it off the async workers.
    pub fn create_service_account(
        &self,
        request: NewServiceAccount,
    ) -> Result<ServiceAccountKeyFile, ControlError> {
        let account_id = request
            .account_id
            .unwrap_or_else(|| format!("sa-{}", hex(&random_bytes::<4>())));
        if account_id.is_empty()
            || !account_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(ControlError::Invalid(format!(
                "account_id: `{account_id}` must be letters, digits, `-`, `_` or `.`"
            )));
        }
        let client_email = format!(
            "{account_id}@{}.iam.gserviceaccount.com",
            request.project_id
        );
        // Google's client ids are 21 digits.
        let client_id = format!("1{:020}", u64::from_be_bytes(random_bytes::<8>()));
        let private_key_id = hex(&random_bytes::<20>());
        let (private_key, public_key) = generate_rsa_key()?;
        let account = ServiceAccountConfig {
            client_email: client_email.clone(),
            project_id: request.project_id.clone(),
            client_id: Some(client_id.clone()),
            keys: vec![ServiceAccountKey {
                private_key_id: private_key_id.clone(),
                public_key,
            }],
            scopes: request.scopes.unwrap_or_else(default_scopes),
            audience: request.audience.unwrap_or_else(default_audience),
            access_token_ttl_secs: request.access_token_ttl_secs.unwrap_or(DEFAULT_TTL_SECS),
        };
        self.add_service_account(account)?;
        Ok(ServiceAccountKeyFile {
            kind: "service_account".into(),
            project_id: request.project_id,
            private_key_id,
            private_key,
            client_email,
            client_id,
            auth_uri: format!("{}/authorize", self.issuer),
            token_uri: format!("{}/token", self.issuer),
        })
    }

    /// Delete a service account: its assertions are refused from now on
    /// (tokens already issued live until they expire).
    pub fn remove_service_account(&self, client_email: &str) -> Result<(), ControlError> {
        self.store()
            .service_accounts
            .remove(client_email)
            .map(|_| ())
            .ok_or_else(|| ControlError::NotFound(format!("no service account {client_email}")))
    }

    /// The service account named `client_email`, public keys included.
    pub fn service_account(&self, client_email: &str) -> Option<ServiceAccountConfig> {
        self.store().service_accounts.get(client_email).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> ServiceAccountConfig {
        let (_, public_key) = generate_rsa_key().unwrap();
        ServiceAccountConfig {
            client_email: "a@p.iam.gserviceaccount.com".into(),
            project_id: "p".into(),
            client_id: None,
            keys: vec![ServiceAccountKey {
                private_key_id: "k1".into(),
                public_key,
            }],
            scopes: default_scopes(),
            audience: default_audience(),
            access_token_ttl_secs: 3600,
        }
    }

    #[test]
    fn validation_names_the_field() {
        let good = account();
        assert_eq!(good.validate(), Ok(()));
        assert_eq!(good.client_id(), "a@p.iam.gserviceaccount.com");
        let mut a = good.clone();
        a.client_email = "no-at".into();
        assert!(a.validate().unwrap_err().starts_with("client_email"));
        let mut a = good.clone();
        a.project_id = "a/b".into();
        assert!(a.validate().unwrap_err().starts_with("project_id"));
        let mut a = good.clone();
        a.keys[0].public_key =
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".into();
        assert!(a.validate().unwrap_err().starts_with("keys[0].public_key"));
        let mut a = good.clone();
        a.keys.push(a.keys[0].clone());
        assert!(
            a.validate()
                .unwrap_err()
                .starts_with("keys[1].private_key_id")
        );
        let mut a = good.clone();
        a.access_token_ttl_secs = 7200;
        assert!(
            a.validate()
                .unwrap_err()
                .starts_with("access_token_ttl_secs")
        );
        let mut a = good;
        a.keys.clear();
        assert!(a.validate().unwrap_err().starts_with("keys"));
    }

    #[test]
    fn generated_keys_sign_and_verify_with_jsonwebtoken() {
        let (private, public) = generate_rsa_key().unwrap();
        assert!(private.expose().starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(private.expose().as_bytes()).unwrap();
        let jwt = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &serde_json::json!({"sub": "x"}),
            &key,
        )
        .unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let decoding = DecodingKey::from_rsa_pem(public.as_bytes()).unwrap();
        jsonwebtoken::decode::<serde_json::Value>(&jwt, &decoding, &v).unwrap();
        assert_eq!(format!("{private:?}"), "[redacted]");
    }
}
