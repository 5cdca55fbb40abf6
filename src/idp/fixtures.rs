//! The brand the IdP plays: its settings, clients and users, from TOML.
//!
//! `fixtures/brand.toml` is the documented default. A bad file is refused
//! with an error naming the file, the line and the field.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::apikey::ApiKeyConfig;
use super::keys::{SigningAlg, SigningKey};
use super::service_accounts::ServiceAccountConfig;
use crate::secret::Secret;
use crate::wire::ClientId;

/// The default brand, compiled in so `MockIdp::start` works from any directory.
const DEFAULT_BRAND: &str = include_str!("../../fixtures/brand.toml");
const DEFAULT_KEYS: [(SigningAlg, &[u8]); 3] = [
    (
        SigningAlg::RS256,
        include_bytes!("../../fixtures/keys/rs256.pem"),
    ),
    (
        SigningAlg::ES256,
        include_bytes!("../../fixtures/keys/es256.pem"),
    ),
    (
        SigningAlg::EdDSA,
        include_bytes!("../../fixtures/keys/eddsa.pem"),
    ),
];

/// A whole brand: IdP settings, clients, users and signing keys.
#[derive(Clone, Debug)]
pub struct Fixtures {
    pub idp: IdpSettings,
    pub clients: Vec<ClientConfig>,
    pub users: Vec<UserConfig>,
    /// Service accounts (`[[service_accounts]]`, [`super::service_accounts`]).
    pub service_accounts: Vec<ServiceAccountConfig>,
    /// API keys (`[[api_keys]]`, [`super::apikey`]).
    pub api_keys: Vec<ApiKeyConfig>,
    /// PEM PKCS#8 private keys, one or more per algorithm.
    pub keys: Vec<(SigningAlg, KeyPem)>,
}

/// A PEM private key that redacts itself in `Debug`.
#[derive(Clone)]
pub struct KeyPem(pub Vec<u8>);

impl std::fmt::Debug for KeyPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted private key]")
    }
}

fn default_keys() -> Vec<(SigningAlg, KeyPem)> {
    DEFAULT_KEYS
        .iter()
        .map(|(a, k)| (*a, KeyPem(k.to_vec())))
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixturesFile {
    #[serde(default)]
    idp: IdpSettings,
    #[serde(default)]
    clients: Vec<Spanned<ClientConfig>>,
    #[serde(default)]
    users: Vec<Spanned<UserConfig>>,
    #[serde(default)]
    service_accounts: Vec<Spanned<ServiceAccountConfig>>,
    #[serde(default)]
    api_keys: Vec<Spanned<ApiKeyConfig>>,
}

/// IdP-wide settings (`[idp]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdpSettings {
    /// Authorization code lifetime (RFC 6749 4.1.2 recommends at most 10 minutes).
    pub code_ttl_secs: u64,
    /// Login session lifetime (what lets `prompt=none` succeed).
    pub session_ttl_secs: u64,
    /// How long a login or consent form stays valid.
    pub form_ttl_secs: u64,
    /// How long expired codes and tokens stay listed by inspection before
    /// they are forgotten (shared clock).
    pub retain_expired_secs: u64,
    /// Bearer token for the admin API. Required when the IdP is bound to a
    /// non-loopback address; without it the admin API is then off.
    pub admin_token: Option<Secret>,
    /// Directory of `rs256.pem`, `es256.pem`, `eddsa.pem` (PKCS#8), relative
    /// to the fixtures file. Absent: the built-in fixture keys.
    pub keys_dir: Option<PathBuf>,
}

impl Default for IdpSettings {
    fn default() -> Self {
        Self {
            code_ttl_secs: 60,
            session_ttl_secs: 8 * 3600,
            form_ttl_secs: 600,
            retain_expired_secs: 3600,
            admin_token: None,
            keys_dir: None,
        }
    }
}

/// Grant types a client may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

/// Client authentication methods at the token, introspection and
/// revocation endpoints (OIDC Core 9, RFC 6749 2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
    /// A TLS client certificate with the registered subject DN, no secret
    /// (RFC 8705 2.1).
    TlsClientAuth,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
            AuthMethod::TlsClientAuth => "tls_client_auth",
        }
    }
}

/// `auth_methods` as a list, or as the one method of RFC 7591's
/// `token_endpoint_auth_method`.
fn one_or_many_methods<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<AuthMethod>, D::Error> {
    struct Methods;
    impl<'de> serde::de::Visitor<'de> for Methods {
        type Value = Vec<AuthMethod>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an authentication method or a list of them")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            use serde::de::IntoDeserializer as _;
            AuthMethod::deserialize(v.into_deserializer()).map(|m| vec![m])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
    }
    deserializer.deserialize_any(Methods)
}

/// Access token format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenFormat {
    /// RFC 9068 JWT access token.
    #[default]
    Jwt,
    /// A random reference token, meaningful only through introspection.
    Opaque,
}

/// One registered client (`[[clients]]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub id: ClientId,
    #[serde(default)]
    pub name: Option<String>,
    /// Absent for a public client.
    #[serde(default)]
    pub secret: Option<Secret>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default = "default_grant_types")]
    pub grant_types: Vec<GrantType>,
    /// The scopes this client may ask for.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Accepted client authentication methods. Default: Basic and POST for a
    /// confidential client, `none` for a public one. Also read as RFC 7591's
    /// `token_endpoint_auth_method` (one method, a string).
    #[serde(
        default,
        alias = "token_endpoint_auth_method",
        deserialize_with = "one_or_many_methods"
    )]
    pub auth_methods: Vec<AuthMethod>,
    /// The subject DN (RFC 4514, `CN=bot-1,O=Brand`) of the certificate a
    /// `tls_client_auth` client authenticates with (RFC 8705 2.1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_subject_dn: Option<String>,
    /// Never from fixtures: set by client authentication to the
    /// `x5t#S256` of the certificate this client presented on the request
    /// at hand, to which the access tokens minted for it are bound
    /// (RFC 8705 3.1).
    #[serde(skip)]
    pub certificate_thumbprint: Option<String>,
    /// Allow PKCE `plain` (never for public clients).
    #[serde(default)]
    pub allow_plain_pkce: bool,
    /// Require PKCE even though the client is confidential (always required
    /// for public clients).
    #[serde(default)]
    pub require_pkce: bool,
    /// Show the consent page before issuing a code.
    #[serde(default)]
    pub consent: bool,
    #[serde(default)]
    pub access_token_format: TokenFormat,
    #[serde(default = "default_alg")]
    pub signing_alg: SigningAlg,
    /// `aud` of JWT access tokens (RFC 9068 2.2).
    #[serde(default = "default_audience")]
    pub audience: String,
    #[serde(default = "default_access_ttl")]
    pub access_token_ttl_secs: u64,
    #[serde(default = "default_access_ttl")]
    pub id_token_ttl_secs: u64,
    #[serde(default = "default_refresh_ttl")]
    pub refresh_token_ttl_secs: u64,
    /// Issue a new refresh token on every refresh (RFC 9700 4.14.2).
    #[serde(default = "yes")]
    pub refresh_rotation: bool,
    /// Presenting a rotated refresh token again revokes its whole family.
    #[serde(default = "yes")]
    pub refresh_reuse_revokes_family: bool,
}

fn default_grant_types() -> Vec<GrantType> {
    vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
}
fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email"].map(String::from).to_vec()
}
fn default_alg() -> SigningAlg {
    SigningAlg::RS256
}
fn default_audience() -> String {
    "brand-api".into()
}
fn default_access_ttl() -> u64 {
    3600
}
fn default_refresh_ttl() -> u64 {
    30 * 24 * 3600
}
fn yes() -> bool {
    true
}

impl ClientConfig {
    /// No secret and no certificate to authenticate with (RFC 6749 2.1).
    pub fn is_public(&self) -> bool {
        self.secret.is_none() && !self.uses_tls_client_auth()
    }

    /// Registered for `tls_client_auth` (RFC 8705 2.1).
    pub fn uses_tls_client_auth(&self) -> bool {
        self.auth_methods.contains(&AuthMethod::TlsClientAuth)
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The accepted authentication methods, defaults applied.
    pub fn auth_methods(&self) -> Vec<AuthMethod> {
        if !self.auth_methods.is_empty() {
            self.auth_methods.clone()
        } else if self.is_public() {
            vec![AuthMethod::None]
        } else {
            vec![AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost]
        }
    }

    /// Check the registration itself; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.as_str().trim().is_empty() {
            return Err("id: must not be empty".into());
        }
        for (i, uri) in self.redirect_uris.iter().enumerate() {
            let parsed = url::Url::parse(uri)
                .map_err(|e| format!("redirect_uris[{i}]: `{uri}` is not an absolute URL ({e})"))?;
            if parsed.fragment().is_some() {
                return Err(format!(
                    "redirect_uris[{i}]: `{uri}` has a fragment (RFC 6749 3.1.2 forbids it)"
                ));
            }
        }
        if self.allows_grant(GrantType::AuthorizationCode) && self.redirect_uris.is_empty() {
            return Err(
                "redirect_uris: a client with the authorization_code grant needs at least one"
                    .into(),
            );
        }
        if self.is_public() {
            if self.allows_grant(GrantType::ClientCredentials) {
                return Err(
                    "grant_types: a public client (no secret) cannot use client_credentials".into(),
                );
            }
            if self.allow_plain_pkce {
                return Err("allow_plain_pkce: public clients must use S256".into());
            }
            if self.auth_methods().iter().any(|m| *m != AuthMethod::None) {
                return Err("auth_methods: a public client (no secret) can only use `none`".into());
            }
        } else if self.auth_methods().contains(&AuthMethod::None) {
            return Err(
                "auth_methods: `none` is for public clients; remove it or the secret".into(),
            );
        }
        self.validate_tls_client_auth()?;
        if self.scopes.iter().any(|s| s.is_empty() || s.contains(' ')) {
            return Err("scopes: each scope is one non-empty word".into());
        }
        Ok(())
    }
}

impl ClientConfig {
    /// RFC 8705 2.1: a subject DN exactly when `tls_client_auth` is used;
    /// secret methods only with a secret.
    fn validate_tls_client_auth(&self) -> Result<(), String> {
        match (
            &self.tls_client_auth_subject_dn,
            self.uses_tls_client_auth(),
        ) {
            (Some(dn), true) => {
                crate::tls::SubjectDn::parse(dn)
                    .map_err(|e| format!("tls_client_auth_subject_dn: {e}"))?;
            }
            (None, true) => {
                return Err("tls_client_auth_subject_dn: a tls_client_auth client needs the subject DN of its certificate (RFC 8705 2.1.2)".into());
            }
            (Some(_), false) => {
                return Err(
                    "tls_client_auth_subject_dn: only for a client registered for tls_client_auth"
                        .into(),
                );
            }
            (None, false) => {}
        }
        if self.secret.is_none()
            && self.auth_methods.iter().any(|m| {
                matches!(
                    m,
                    AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
                )
            })
        {
            return Err(
                "auth_methods: client_secret_basic and client_secret_post need a secret".into(),
            );
        }
        Ok(())
    }
}

/// One user (`[[users]]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub username: String,
    pub password: Secret,
    /// Stable subject identifier. Default: the username.
    #[serde(default)]
    pub sub: Option<String>,
    /// OIDC standard claims (`name`, `email`, ...), any JSON values.
    #[serde(default)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl UserConfig {
    pub fn sub(&self) -> &str {
        self.sub.as_deref().unwrap_or(&self.username)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.username.trim().is_empty() {
            return Err("username: must not be empty".into());
        }
        if self.claims.contains_key("sub") {
            return Err("claims.sub: set `sub` beside `username`, not among the claims".into());
        }
        Ok(())
    }
}

/// A fixtures file that could not be used. `line` is 0 when the problem
/// is the file as a whole (it cannot be read).
#[derive(Debug, thiserror::Error)]
pub struct FixturesError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for FixturesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file, self.message),
            line => write!(f, "{}:{line}: {}", self.file, self.message),
        }
    }
}

impl Fixtures {
    /// The built-in default brand (`fixtures/brand.toml`) with its keys.
    pub fn default_brand() -> Self {
        let mut fixtures = Self::parse(DEFAULT_BRAND, "fixtures/brand.toml")
            .expect("the built-in fixtures are valid");
        fixtures.keys = default_keys();
        fixtures
    }

    /// Read a fixtures file; keys come from its `keys_dir` or the built-in ones.
    pub fn load(path: &Path) -> Result<Self, FixturesError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| FixturesError {
            file: name.clone(),
            line: 0,
            message: format!("cannot read: {e}"),
        })?;
        let mut fixtures = Self::parse(&text, &name)?;
        match &fixtures.idp.keys_dir {
            None => fixtures.keys = default_keys(),
            Some(dir) => {
                let dir = path.parent().unwrap_or(Path::new(".")).join(dir);
                for (alg, file) in [
                    (SigningAlg::RS256, "rs256.pem"),
                    (SigningAlg::ES256, "es256.pem"),
                    (SigningAlg::EdDSA, "eddsa.pem"),
                ] {
                    let key_path = dir.join(file);
                    if let Ok(pem) = std::fs::read(&key_path) {
                        SigningKey::from_pem(alg, &pem).map_err(|e| FixturesError {
                            file: key_path.display().to_string(),
                            line: 0,
                            message: e.to_string(),
                        })?;
                        fixtures.keys.push((alg, KeyPem(pem)));
                    }
                }
                if fixtures.keys.is_empty() {
                    return Err(FixturesError {
                        file: name,
                        line: 0,
                        message: format!(
                            "idp.keys_dir: no rs256.pem, es256.pem or eddsa.pem in {}",
                            dir.display()
                        ),
                    });
                }
            }
        }
        Ok(fixtures)
    }

    /// Parse fixtures text; `name` is used in errors. Keys are left empty.
    pub fn parse(text: &str, name: &str) -> Result<Self, FixturesError> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let fail = |line: usize, message: String| FixturesError {
            file: name.to_string(),
            line,
            message,
        };
        let deserializer = toml::Deserializer::parse(text).map_err(|e| {
            fail(
                e.span().map_or(0, |s| line_of(s.start)),
                e.message().trim().to_string(),
            )
        })?;
        // The path names the field even where toml's own message does not
        // ("invalid type: integer, expected a string": which field?).
        let file: FixturesFile = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            use serde_path_to_error::Segment;
            let mut path = String::new();
            for segment in e.path().iter() {
                match segment {
                    // toml::Spanned's own wrapper key is not part of the file.
                    Segment::Map { key } if key.starts_with("$__") => {}
                    Segment::Map { key } | Segment::Enum { variant: key } => {
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(key);
                    }
                    Segment::Seq { index } => path.push_str(&format!("[{index}]")),
                    Segment::Unknown => {}
                }
            }
            let inner = e.into_inner();
            let line = inner.span().map_or(0, |s| line_of(s.start));
            let message = inner.message().trim().to_string();
            if path.is_empty() || message.contains(&path) {
                fail(line, message)
            } else {
                fail(line, format!("{path}: {message}"))
            }
        })?;
        // A semantic error names a field of an entry: point at the line
        // where that field is written, or else where the entry starts.
        let field_line = |span: &std::ops::Range<usize>, message: &str| {
            let field = message.split(['.', '[', ':', ' ']).next().unwrap_or("");
            // The entry runs from its header to the next table header.
            let start = span.start.min(text.len());
            let end = text[start..]
                .match_indices("\n[")
                .next()
                .map_or(text.len(), |(i, _)| start + i + 1);
            let entry = &text[start..end.max(span.end.min(text.len()))];
            let offset = entry
                .match_indices('\n')
                .map(|(i, _)| i + 1)
                .chain(std::iter::once(0))
                .find(|&i| {
                    let rest = entry[i..].trim_start();
                    rest.strip_prefix(field)
                        .is_some_and(|r| r.trim_start().starts_with('='))
                })
                .unwrap_or(0);
            line_of(span.start + offset)
        };
        let mut clients = Vec::new();
        for (i, spanned) in file.clients.into_iter().enumerate() {
            let span = spanned.span();
            let client = spanned.into_inner();
            if let Err(m) = client.validate() {
                return Err(fail(
                    field_line(&span, &m),
                    format!("clients[{i}] ({}).{m}", client.id),
                ));
            }
            if clients.iter().any(|c: &ClientConfig| c.id == client.id) {
                return Err(fail(
                    field_line(&span, "id"),
                    format!("clients[{i}].id: `{}` is registered twice", client.id),
                ));
            }
            clients.push(client);
        }
        let mut users = Vec::new();
        for (i, spanned) in file.users.into_iter().enumerate() {
            let span = spanned.span();
            let user = spanned.into_inner();
            if let Err(m) = user.validate() {
                return Err(fail(
                    field_line(&span, &m),
                    format!("users[{i}] ({}).{m}", user.username),
                ));
            }
            if users
                .iter()
                .any(|u: &UserConfig| u.username == user.username)
            {
                return Err(fail(
                    field_line(&span, "username"),
                    format!("users[{i}].username: `{}` appears twice", user.username),
                ));
            }
            users.push(user);
        }
        let mut service_accounts = Vec::new();
        for (i, spanned) in file.service_accounts.into_iter().enumerate() {
            let span = spanned.span();
            let account = spanned.into_inner();
            if let Err(m) = account.validate() {
                return Err(fail(
                    field_line(&span, &m),
                    format!("service_accounts[{i}] ({}).{m}", account.client_email),
                ));
            }
            if service_accounts
                .iter()
                .any(|a: &ServiceAccountConfig| a.client_email == account.client_email)
            {
                return Err(fail(
                    field_line(&span, "client_email"),
                    format!(
                        "service_accounts[{i}].client_email: `{}` appears twice",
                        account.client_email
                    ),
                ));
            }
            service_accounts.push(account);
        }
        let mut api_keys = Vec::new();
        for (i, spanned) in file.api_keys.into_iter().enumerate() {
            let span = spanned.span();
            let key = spanned.into_inner();
            if let Err(m) = key.validate() {
                return Err(fail(
                    field_line(&span, &m),
                    format!("api_keys[{i}] ({}).{m}", key.id),
                ));
            }
            let clash = api_keys.iter().find_map(|k: &ApiKeyConfig| {
                if k.id == key.id {
                    Some(("id", format!("`{}` appears twice", key.id)))
                } else if k.apikey.matches(key.apikey.expose()) {
                    Some(("apikey", "the same key is registered twice".to_string()))
                } else {
                    None
                }
            });
            if let Some((field, message)) = clash {
                return Err(fail(
                    field_line(&span, field),
                    format!("api_keys[{i}].{field}: {message}"),
                ));
            }
            api_keys.push(key);
        }
        Ok(Self {
            idp: file.idp,
            clients,
            users,
            service_accounts,
            api_keys,
            keys: Vec::new(),
        })
    }

    /// Parse the key PEMs.
    pub fn signing_keys(&self) -> Result<Vec<SigningKey>, super::keys::KeyError> {
        self.keys
            .iter()
            .map(|(alg, pem)| SigningKey::from_pem(*alg, &pem.0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_brand_has_the_documented_clients() {
        let f = Fixtures::default_brand();
        for id in ["demo-bot", "demo-spa", "demo-service"] {
            assert!(f.clients.iter().any(|c| c.id == id), "{id}");
        }
        assert!(
            f.clients
                .iter()
                .find(|c| c.id == "demo-spa")
                .unwrap()
                .is_public()
        );
        assert_eq!(f.signing_keys().unwrap().len(), 3);
    }

    #[test]
    fn a_type_error_names_line_and_field() {
        let text = "[idp]\ncode_ttl_secs = 60\n\n[[clients]]\nid = \"x\"\nredirect_uris = \"not-a-list\"\n";
        let err = Fixtures::parse(text, "bad.toml").unwrap_err();
        assert_eq!(err.file, "bad.toml");
        assert_eq!(err.line, 6, "{err}");
        assert!(err.to_string().contains("bad.toml:6"), "{err}");
    }

    #[test]
    fn an_unknown_field_is_named() {
        let text = "[[users]]\nusername = \"a\"\npassword = \"b\"\npasword = \"c\"\n";
        let err = Fixtures::parse(text, "u.toml").unwrap_err();
        assert!(err.message.contains("pasword"), "{err}");
        assert_eq!(err.line, 4, "{err}");
    }

    #[test]
    fn a_semantic_error_names_the_client_and_field() {
        let text = "[[clients]]\nid = \"spa\"\nredirect_uris = [\"https://a.example/cb#frag\"]\n";
        let err = Fixtures::parse(text, "c.toml").unwrap_err();
        assert!(
            err.message.contains("clients[0] (spa).redirect_uris[0]"),
            "{err}"
        );
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn a_type_error_inside_an_entry_names_the_field_path() {
        let text = "[[users]]\nusername = \"a\"\npassword = \"b\"\n\n[[users]]\nusername = \"c\"\npassword = 5\n";
        let err = Fixtures::parse(text, "u.toml").unwrap_err();
        assert_eq!(err.line, 7, "{err}");
        assert!(err.message.contains("users[1].password"), "{err}");
    }
}
