//! The credential vault: each organisation's credentials, validated when
//! saved, encrypted at rest, applied to the integrations that name them.
//!
//! - One module per kind: [`consumer_authentication`], [`basic_authentication`], [`access_token`],
//!   [`third_party_nlu`], [`oauth2_authorization_code`], [`oauth2_client_credentials`] (the two OAuth 2.0
//!   kinds share [`oauth_tokens`]), [`mutual_authentication`].
//!   Each has an `Input` (the saved JSON, minus `type` and `name`), a
//!   validating constructor returning every fault as its own
//!   [`FieldError`], and the saved struct whose secret fields are
//!   [`Secret`]s.
//! - [`store`]: the SQLite file (or an in-memory database), one sealed JSON
//!   document per credential and per persisted token; [`cipher`]: the AEAD
//!   and its key.
//! - [`http`]: create, list, read, replace and delete over HTTP; reads
//!   show secrets as `"[redacted]"`.
//! - [`auth`]: what a credential yields for one call; applying it to a
//!   call is [`crate::platform::integrations::apply`]'s, so the vault
//!   imports nothing of the integrations.
//!
//! Every lookup is keyed by organisation: a credential of one organisation
//! is invisible and unusable to another, and its sealed row, copied under
//! another organisation, does not decrypt.

pub mod access_token;
pub mod auth;
pub mod basic_authentication;
pub mod cipher;
pub mod consumer_authentication;
pub mod consumer_pre_authentication;
pub mod edit;
pub mod http;
pub mod mutual_authentication;
pub mod oauth2_authorization_code;
pub mod oauth2_client_credentials;
pub mod oauth_tokens;
pub mod store;
pub mod third_party_nlu;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use consumer_authentication::ConsumerAuth;

use super::org::{Org, OrgId};
use crate::clock::Instant;
use crate::secret::Secret;
use cipher::VaultKey;
use store::{Store, StoreError};

/// One problem with a credential, with a stable code and a sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

/// Build a [`FieldError`].
pub fn err(field: &'static str, code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        code,
        message: message.into(),
    }
}

/// Credential names: 1 to 100 characters, no control characters, no `/`
/// (names sit in URL paths).
pub fn check_name(name: &str, errors: &mut Vec<FieldError>) {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        errors.push(err("name", "missing", "give the credential a name"));
    } else if trimmed != name
        || name.len() > 100
        || name.chars().any(|c| c.is_control() || c == '/')
    {
        errors.push(err(
            "name",
            "invalid",
            "the name is 1 to 100 characters, without control characters, '/' or surrounding spaces",
        ));
    }
}

/// A required text field: present and not blank.
pub fn required(
    value: &str,
    field: &'static str,
    what: &str,
    errors: &mut Vec<FieldError>,
) -> bool {
    if value.trim().is_empty() {
        errors.push(err(field, "missing", format!("{what} is required")));
        false
    } else {
        true
    }
}

/// What validation may consult beyond the saved body.
pub struct SaveContext<'a> {
    pub org: &'a Org,
    /// The platform's base URL (callbacks are built on it).
    pub platform_url: &'a str,
    /// Now, on the shared clock (certificate validity, ...).
    pub now: Instant,
}

/// The kind of a credential and its kind-specific fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    /// The consumer signs in through a link; the token lives in the conversation.
    ConsumerAuthentication(ConsumerAuth),
    /// `Authorization: Basic` from a user name and password.
    BasicAuthentication(basic_authentication::Basic),
    /// `Authorization: <type> <token>` with a fixed token.
    AccessToken(access_token::AccessToken),
    /// A Dialogflow or Watson credential that trains domains.
    ThirdPartyNlu(third_party_nlu::ThirdPartyNlu),
    /// OAuth 2.0, Authorization Code grant: authorised once in a browser,
    /// the token kept and refreshed by the platform.
    #[serde(rename = "oauth2_authorization_code")]
    OAuth2AuthorizationCode(oauth2_authorization_code::OAuthCode),
    /// OAuth 2.0, Client Credentials grant: the platform fetches the token.
    #[serde(rename = "oauth2_client_credentials")]
    OAuth2ClientCredentials(oauth2_client_credentials::ClientCredentials),
    /// A client certificate (key store) and trust certificate: calls go
    /// over mutual TLS.
    MutualAuthentication(mutual_authentication::MutualAuth),
    /// The consumer signed in on the brand's side before the conversation;
    /// the tokens are kept per consumer id. One per organisation.
    ConsumerPreAuthentication(consumer_pre_authentication::PreAuth),
}

impl Kind {
    /// The `type` as saved and shown.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::ConsumerAuthentication(_) => "consumer_authentication",
            Kind::BasicAuthentication(_) => "basic_authentication",
            Kind::AccessToken(_) => "access_token",
            Kind::OAuth2AuthorizationCode(_) => "oauth2_authorization_code",
            Kind::OAuth2ClientCredentials(_) => "oauth2_client_credentials",
            Kind::ThirdPartyNlu(_) => "third_party_nlu",
            Kind::MutualAuthentication(_) => "mutual_authentication",
            Kind::ConsumerPreAuthentication(_) => "consumer_pre_authentication",
        }
    }

    /// Each secret of the credential, by the field it is saved under: all
    /// that [`Credential::sealed`] writes in clear.
    fn secrets(&self) -> Vec<(&'static str, &Secret)> {
        match self {
            Kind::BasicAuthentication(b) => vec![("password", &b.password)],
            Kind::AccessToken(a) => vec![("token", &a.token)],
            Kind::ThirdPartyNlu(n) => vec![("credentials", &n.credentials)],
            Kind::OAuth2AuthorizationCode(c) => vec![("client_secret", &c.client_secret)],
            Kind::OAuth2ClientCredentials(c) => vec![("client_secret", &c.client_secret)],
            Kind::MutualAuthentication(m) => m.secrets(),
            Kind::ConsumerAuthentication(_) | Kind::ConsumerPreAuthentication(_) => vec![],
        }
    }
}

/// The `type` values a credential can have.
pub const TYPES: &[&str] = &[
    "consumer_authentication",
    "basic_authentication",
    "access_token",
    "oauth2_authorization_code",
    "oauth2_client_credentials",
    "third_party_nlu",
    "mutual_authentication",
    "consumer_pre_authentication",
];

fn input<T: serde::de::DeserializeOwned>(fields: Value) -> Result<T, Vec<FieldError>> {
    serde_path_to_error::deserialize(fields).map_err(|e| {
        let path = e.path().to_string();
        vec![err(
            "body",
            "invalid_field",
            format!("{path}: {}", e.inner()),
        )]
    })
}

/// Validate a saved body of type `kind`: `fields` is the JSON object
/// without `type` and `name`.
pub fn validate(
    kind: &str,
    name: &str,
    fields: Value,
    ctx: &SaveContext<'_>,
) -> Result<Kind, Vec<FieldError>> {
    let mut name_errors = Vec::new();
    check_name(name, &mut name_errors);
    let result = match kind {
        "consumer_authentication" => consumer_authentication::from_input(name, input(fields)?, ctx)
            .map(Kind::ConsumerAuthentication),
        "basic_authentication" => {
            basic_authentication::from_input(input(fields)?, ctx).map(Kind::BasicAuthentication)
        }
        "access_token" => access_token::from_input(input(fields)?, ctx).map(Kind::AccessToken),
        "oauth2_authorization_code" => oauth2_authorization_code::from_input(input(fields)?, ctx)
            .map(Kind::OAuth2AuthorizationCode),
        "oauth2_client_credentials" => oauth2_client_credentials::from_input(input(fields)?, ctx)
            .map(Kind::OAuth2ClientCredentials),
        "third_party_nlu" => {
            third_party_nlu::from_input(input(fields)?, ctx).map(Kind::ThirdPartyNlu)
        }
        "mutual_authentication" => {
            mutual_authentication::from_input(input(fields)?, ctx).map(Kind::MutualAuthentication)
        }
        "consumer_pre_authentication" => {
            consumer_pre_authentication::from_input(input(fields)?, ctx)
                .map(Kind::ConsumerPreAuthentication)
        }
        "" => Err(vec![err(
            "type",
            "missing",
            format!("give the credential a type: one of {}", TYPES.join(", ")),
        )]),
        other => Err(vec![err(
            "type",
            "unknown",
            format!("unknown type {other:?}: one of {}", TYPES.join(", ")),
        )]),
    };
    match result {
        Ok(k) if name_errors.is_empty() => Ok(k),
        Ok(_) => Err(name_errors),
        Err(mut errors) => {
            // consumer_auth checks the name itself.
            for e in name_errors {
                if !errors.contains(&e) {
                    errors.insert(0, e);
                }
            }
            Err(errors)
        }
    }
}

/// A saved credential: its name, kind and when it was saved (shared clock).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub name: String,
    #[serde(flatten)]
    pub kind: Kind,
    pub created_at: Instant,
    pub updated_at: Instant,
}

impl Credential {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The JSON an API read shows: every secret field `"[redacted]"`.
    pub fn view(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The credential as the vault seals it: its read view with every
    /// secret in clear. Only the vault's sealing and an edit's overlay
    /// (fields left out keep their saved values) call it; everything else
    /// serialises secrets as `"[redacted]"`.
    pub fn sealed(&self) -> Value {
        let mut value = self.view();
        if let Value::Object(map) = &mut value {
            for (field, secret) in self.kind.secrets() {
                map.insert(field.into(), Value::String(secret.expose().into()));
            }
        }
        value
    }
}

/// A token the vault keeps for a credential (OAuth 2.0 kinds), sealed like
/// the credential itself: the platform's one held-token type.
pub type StoredToken = crate::platform::oauth::held_token::HeldToken;

/// Why a credential could not be saved or removed.
#[derive(Debug)]
pub enum SaveError {
    Invalid(Vec<FieldError>),
    Exists,
    NotFound,
    /// Another credential of this kind exists and the kind allows one per
    /// organisation.
    OnlyOne {
        existing: String,
    },
    /// The type of a credential cannot change on replace.
    TypeChanged {
        from: &'static str,
    },
    Storage(StoreError),
    /// The saved credential could not be read back to be edited.
    Unreadable,
}

/// Where the vault keeps its data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum VaultLocation {
    /// An in-memory database with a random key: gone when the process ends.
    #[default]
    Memory,
    /// `vault.sqlite3` (and `vault.key` unless the key is in the
    /// environment) under this directory, created if absent.
    Dir(PathBuf),
}

/// Why the vault could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the data directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] cipher::KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the vault row {org}/{name} does not decrypt with this key (altered or moved data)")]
    Row { org: String, name: String },
}

struct Inner {
    store: Store,
    cache: BTreeMap<(OrgId, String), Credential>,
}

/// Credentials by organisation and name: a decrypted cache in front of
/// the sealed SQLite rows, written through on every change.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Mutex<Inner>>,
    key: Arc<VaultKey>,
    location: Arc<VaultLocation>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Default for Vault {
    fn default() -> Self {
        Self::open(&VaultLocation::Memory, None).expect("an in-memory vault opens")
    }
}

/// The file name of the vault database under its data directory.
pub const DB_FILE: &str = "vault.sqlite3";
/// The file name of the vault key under its data directory.
pub const KEY_FILE: &str = "vault.key";

impl Vault {
    /// Open the vault at `location`; `env_key` is the value of
    /// [`cipher::KEY_ENV`] if set.
    pub fn open(location: &VaultLocation, env_key: Option<&str>) -> Result<Self, OpenError> {
        let (key, store) = match location {
            VaultLocation::Memory => {
                let key = VaultKey::ephemeral();
                let store = Store::open(None, &key)?;
                (key, store)
            }
            VaultLocation::Dir(dir) => {
                create_dir(dir)?;
                let key = VaultKey::load(env_key, &dir.join(KEY_FILE))?;
                let store = Store::open(Some(&dir.join(DB_FILE)), &key)?;
                (key, store)
            }
        };
        let mut cache = BTreeMap::new();
        for row in store.credentials()? {
            let bad = || OpenError::Row {
                org: row.org.clone(),
                name: row.name.clone(),
            };
            let plain = key
                .open(&store::credential_label(&row.org, &row.name), &row.sealed)
                .map_err(|_| bad())?;
            let credential: Credential = serde_json::from_slice(&plain).map_err(|_| bad())?;
            let org = OrgId::parse(&row.org).map_err(|_| bad())?;
            if credential.name != row.name {
                return Err(bad());
            }
            cache.insert((org, row.name), credential);
        }
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner { store, cache })),
            key: Arc::new(key),
            location: Arc::new(location.clone()),
        })
    }

    pub fn location(&self) -> &VaultLocation {
        &self.location
    }

    /// Where the key came from (for the start-up line).
    pub fn key_source(&self) -> &cipher::KeySource {
        self.key.source()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn seal_credential(&self, org: &OrgId, c: &Credential) -> Vec<u8> {
        let json = serde_json::to_vec(&c.sealed()).expect("credentials serialise");
        self.key
            .seal(&store::credential_label(org.as_str(), &c.name), &json)
    }

    /// Save a new credential; names are unique within an organisation, and
    /// some kinds allow one per organisation.
    pub fn insert(&self, org: &OrgId, credential: Credential) -> Result<(), SaveError> {
        let mut inner = self.lock();
        let key = (org.clone(), credential.name.clone());
        if inner.cache.contains_key(&key) {
            return Err(SaveError::Exists);
        }
        if let Some(existing) = one_per_org_conflict(&inner.cache, org, &credential) {
            return Err(SaveError::OnlyOne { existing });
        }
        self.write(&mut inner, org, credential, false)
    }

    /// Seal and store `credential` (and forget its token, if asked, in the
    /// same transaction), then cache it.
    fn write(
        &self,
        inner: &mut Inner,
        org: &OrgId,
        credential: Credential,
        drop_token: bool,
    ) -> Result<(), SaveError> {
        let sealed = self.seal_credential(org, &credential);
        inner
            .store
            .put_credential(
                org.as_str(),
                &credential.name,
                credential.kind.type_name(),
                &sealed,
                drop_token,
            )
            .map_err(SaveError::Storage)?;
        inner
            .cache
            .insert((org.clone(), credential.name.clone()), credential);
        Ok(())
    }

    /// Replace a saved credential (same name, same type); its persisted
    /// token is dropped when anything changed.
    pub fn replace(&self, org: &OrgId, credential: Credential) -> Result<(), SaveError> {
        let mut inner = self.lock();
        let key = (org.clone(), credential.name.clone());
        let Some(old) = inner.cache.get(&key) else {
            return Err(SaveError::NotFound);
        };
        if old.kind.type_name() != credential.kind.type_name() {
            return Err(SaveError::TypeChanged {
                from: old.kind.type_name(),
            });
        }
        if old.kind == credential.kind {
            return Ok(());
        }
        self.write(&mut inner, org, credential, true)
    }

    /// Remove a credential and its token.
    pub fn remove(&self, org: &OrgId, name: &str) -> Result<Credential, SaveError> {
        let mut inner = self.lock();
        let key = (org.clone(), name.to_string());
        if !inner.cache.contains_key(&key) {
            return Err(SaveError::NotFound);
        }
        inner
            .store
            .delete_credential(org.as_str(), name)
            .map_err(SaveError::Storage)?;
        Ok(inner.cache.remove(&key).expect("checked above"))
    }

    /// The credential `name` of `org`, if that organisation has one.
    pub fn get(&self, org: &OrgId, name: &str) -> Option<Credential> {
        self.lock()
            .cache
            .get(&(org.clone(), name.to_string()))
            .cloned()
    }

    /// Every credential of `org`, by name.
    pub fn list(&self, org: &OrgId) -> Vec<Credential> {
        self.lock()
            .cache
            .iter()
            .filter(|((o, _), _)| o == org)
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// The first credential of `org` matching `pred`.
    pub fn find(&self, org: &OrgId, pred: impl Fn(&Kind) -> bool) -> Option<Credential> {
        self.lock()
            .cache
            .iter()
            .find(|((o, _), c)| o == org && pred(&c.kind))
            .map(|(_, c)| c.clone())
    }

    /// The persisted token of credential `name` of `org`.
    pub fn token(&self, org: &OrgId, name: &str) -> Option<StoredToken> {
        let inner = self.lock();
        let sealed = inner.store.token(org.as_str(), name).ok()??;
        let plain = self
            .key
            .open(&store::token_label(org.as_str(), name), &sealed)
            .ok()?;
        serde_json::from_slice(&plain).ok()
    }

    /// Persist the token of credential `name` of `org` (sealed). Refused
    /// when the credential no longer exists.
    pub fn put_token(&self, org: &OrgId, name: &str, token: &StoredToken) -> Result<(), SaveError> {
        let inner = self.lock();
        if !inner.cache.contains_key(&(org.clone(), name.to_string())) {
            return Err(SaveError::NotFound);
        }
        let json = serde_json::to_vec(&token.sealed()).expect("tokens serialise");
        let sealed = self
            .key
            .seal(&store::token_label(org.as_str(), name), &json);
        inner
            .store
            .put_token(org.as_str(), name, &sealed)
            .map_err(SaveError::Storage)
    }

    /// Forget the persisted token of credential `name` of `org`.
    pub fn drop_token(&self, org: &OrgId, name: &str) -> Result<(), SaveError> {
        self.lock()
            .store
            .delete_token(org.as_str(), name)
            .map_err(SaveError::Storage)
    }
}

/// Kinds that allow at most one credential per organisation: the name of
/// the one already there.
fn one_per_org_conflict(
    cache: &BTreeMap<(OrgId, String), Credential>,
    org: &OrgId,
    new: &Credential,
) -> Option<String> {
    if !one_per_org(&new.kind) {
        return None;
    }
    cache
        .iter()
        .find(|((o, _), c)| o == org && c.kind.type_name() == new.kind.type_name())
        .map(|((_, n), _)| n.clone())
}

/// Whether a kind allows only one credential per organisation: Consumer
/// Pre-Authentication (source document 004: "Only one Consumer
/// Pre-Authentication credential can exist per account").
fn one_per_org(kind: &Kind) -> bool {
    matches!(kind, Kind::ConsumerPreAuthentication(_))
}

fn create_dir(dir: &Path) -> Result<(), OpenError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| OpenError::Dir {
        path: dir.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every secret of every kind is sealed in clear and read back: a
    /// secret field missing from [`Kind::secrets`] would be sealed as
    /// "[redacted]" and lost. (Mutual Authentication, which needs a real
    /// key store, is checked in tests/platform/mtls_credential.rs.)
    #[test]
    fn sealing_keeps_every_secret() {
        let saved = [
            serde_json::json!({"type": "basic_authentication", "username": "u", "password": "s-1"}),
            serde_json::json!({"type": "access_token", "token": "s-2", "token_type": "Bearer"}),
            serde_json::json!({"type": "third_party_nlu", "provider": "ibm_watson", "credentials": "s-3"}),
            serde_json::json!({"type": "oauth2_authorization_code", "client_id": "c", "client_secret": "s-4",
                "auth_url": "https://idp.example/authorize", "token_url": "https://idp.example/token",
                "redirect_uri": "http://127.0.0.1/oauth2/callback"}),
            serde_json::json!({"type": "oauth2_client_credentials", "client_id": "c", "client_secret": "s-5",
                "token_url": "https://idp.example/token"}),
        ];
        for (i, fields) in saved.into_iter().enumerate() {
            let mut body = fields.clone();
            body["name"] = "n".into();
            body["created_at"] = 1.into();
            body["updated_at"] = 2.into();
            let credential: Credential = serde_json::from_value(body).unwrap();
            let sealed = credential.sealed();
            assert!(
                sealed.to_string().contains(&format!("\"s-{}\"", i + 1)),
                "{sealed}"
            );
            assert!(!sealed.to_string().contains("[redacted]"), "{sealed}");
            assert!(credential.view().to_string().contains("[redacted]"));
            let back: Credential = serde_json::from_value(sealed).unwrap();
            assert_eq!(back, credential);
        }
    }

    fn org(id: &str) -> OrgId {
        OrgId::parse(id).unwrap()
    }

    fn basic(name: &str, password: &str) -> Credential {
        Credential {
            name: name.into(),
            kind: Kind::BasicAuthentication(basic_authentication::Basic {
                username: "bot".into(),
                password: Secret::new(password),
            }),
            created_at: crate::clock::Instant::from_unix_secs(1),
            updated_at: crate::clock::Instant::from_unix_secs(1),
        }
    }

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("standin-vault-{}", crate::secret::random_token(6)))
    }

    #[test]
    fn reads_are_redacted_and_organisations_are_separate() {
        let vault = Vault::default();
        vault.insert(&org("a"), basic("b", "canary-pw")).unwrap();
        let view = vault.get(&org("a"), "b").unwrap().view().to_string();
        assert!(!view.contains("canary-pw"), "{view}");
        assert!(view.contains("[redacted]"), "{view}");
        assert!(vault.get(&org("other"), "b").is_none());
        assert!(vault.list(&org("other")).is_empty());
        assert!(matches!(
            vault.insert(&org("a"), basic("b", "x")),
            Err(SaveError::Exists)
        ));
        vault.insert(&org("other"), basic("b", "x")).unwrap();
    }

    #[test]
    fn a_file_vault_survives_reopening_and_holds_no_plaintext() {
        let dir = temp_dir();
        let location = VaultLocation::Dir(dir.clone());
        {
            let vault = Vault::open(&location, None).unwrap();
            vault.insert(&org("a"), basic("b", "canary-pw")).unwrap();
            vault
                .put_token(
                    &org("a"),
                    "b",
                    &StoredToken {
                        access_token: Secret::new("canary-at"),
                        refresh_token: Some(Secret::new("canary-rt")),
                        expires_at: Some(crate::clock::Instant::from_unix_secs(10)),
                        scope: None,
                        obtained_at: crate::clock::Instant::from_unix_secs(1),
                    },
                )
                .unwrap();
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(!bytes.windows(6).any(|w| w == b"canary"));
        }
        let vault = Vault::open(&location, None).unwrap();
        let Kind::BasicAuthentication(b) = vault.get(&org("a"), "b").unwrap().kind else {
            panic!("kind")
        };
        assert_eq!(b.password.expose(), "canary-pw");
        let t = vault.token(&org("a"), "b").unwrap();
        assert_eq!(t.refresh_token.unwrap().expose(), "canary-rt");
        vault.remove(&org("a"), "b").unwrap();
        assert!(vault.token(&org("a"), "b").is_none());
        drop(vault);

        let other_key =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [1u8; 32]);
        assert!(matches!(
            Vault::open(&location, Some(&other_key)),
            Err(OpenError::Store(StoreError::WrongKey { .. }))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_row_moved_to_another_organisation_does_not_open() {
        let dir = temp_dir();
        let location = VaultLocation::Dir(dir.clone());
        Vault::open(&location, None)
            .unwrap()
            .insert(&org("a"), basic("b", "pw"))
            .unwrap();
        let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
        conn.execute("UPDATE credentials SET org = 'evil'", [])
            .unwrap();
        drop(conn);
        assert!(matches!(
            Vault::open(&location, None),
            Err(OpenError::Row { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
