//! The Third-party NLU credential: the JSON an NLU provider hands out when
//! its service is set up, used to train a domain's model (see
//! [`crate::platform::domains`]), never to authorise an API integration.
//!
//! Two providers (source document 004, "Third-party NLU"):
//! - `google_dialogflow`: a Google service-account key file (`type` =
//!   `service_account`, `project_id`, `private_key_id`, `private_key` as a
//!   PEM PKCS#8 RSA key, `client_email`, `token_uri`). The platform signs an
//!   RFC 7523 assertion with the key and exchanges it at `token_uri`. The
//!   Dialogflow API is `https://dialogflow.googleapis.com` unless the
//!   credential's `api_url` names another (a regional endpoint, a mock).
//! - `ibm_watson`: IBM Cloud service credentials (`apikey`, `url` of the
//!   service instance, and optionally `iam_url`, where the key is exchanged
//!   for a token, as the IBM SDKs allow; default
//!   `https://iam.cloud.ibm.com/identity/token`).
//!
//! The JSON may be sent as an object or as a string holding it (as pasted
//! in a form). It is kept whole, as one [`Secret`]; reads show
//! `"[redacted]"` for it and, beside it, the facts that are not secret
//! (project, service account, key id, token and service URLs), which the
//! platform derives from the JSON on every save.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::{FieldError, SaveContext, err};
use crate::secret::Secret;

/// Google's Dialogflow API, where a credential without `api_url` trains.
pub const DIALOGFLOW_API_URL: &str = "https://dialogflow.googleapis.com";

/// IBM Cloud IAM's token endpoint, where Watson credentials without
/// `iam_url` exchange their API key.
pub const IBM_IAM_URL: &str = "https://iam.cloud.ibm.com/identity/token";

/// The NLU providers a credential can be for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    GoogleDialogflow,
    IbmWatson,
}

impl Provider {
    /// The `provider` values, as saved.
    pub const NAMES: [&'static str; 2] = ["google_dialogflow", "ibm_watson"];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "google_dialogflow" => Some(Self::GoogleDialogflow),
            "ibm_watson" => Some(Self::IbmWatson),
            _ => None,
        }
    }

    /// The `provider` value, as saved and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GoogleDialogflow => "google_dialogflow",
            Self::IbmWatson => "ibm_watson",
        }
    }

    /// The provider's name for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::GoogleDialogflow => "Google Dialogflow",
            Self::IbmWatson => "IBM Watson",
        }
    }
}

/// A saved Third-party NLU credential. Only `credentials` is secret; the
/// other fields are derived from it (and `api_url`) when saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThirdPartyNlu {
    pub provider: Provider,
    /// The provider's JSON, whole, as given.
    pub credentials: Secret,
    /// Dialogflow: the API base URL, when not Google's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Dialogflow: the Google Cloud project the agent belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Dialogflow: the service account (`iss` of the assertions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_email: Option<String>,
    /// Dialogflow: the key's id (`kid` of the assertions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_id: Option<String>,
    /// Dialogflow: where assertions are exchanged for tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_uri: Option<String>,
    /// Watson: the service instance URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Watson: where the API key is exchanged for tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_url: Option<String>,
}

/// The fields derived from the JSON: recomputed on every save, so a
/// replace does not carry them over.
pub const DERIVED_FIELDS: &[&str] = &[
    "project_id",
    "client_email",
    "private_key_id",
    "token_uri",
    "url",
    "iam_url",
];

/// The provider's JSON as sent: any JSON value (an object, or a string
/// holding one); `Debug` never shows it.
#[derive(Default)]
pub struct CredentialsJson(pub Value);

impl std::fmt::Debug for CredentialsJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> Deserialize<'de> for CredentialsJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Self)
    }
}

/// The fields as saved.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub credentials: Option<CredentialsJson>,
    #[serde(default)]
    pub api_url: Option<String>,
}

/// A checked Google service-account key.
#[derive(Clone, Debug)]
pub struct ServiceAccount {
    pub project_id: String,
    pub private_key_id: String,
    /// PEM PKCS#8 RSA private key.
    pub private_key: Secret,
    pub client_email: String,
    /// As written in the key file (it is also the assertions' `aud`).
    pub token_uri: String,
}

/// Checked IBM Cloud service credentials.
#[derive(Clone, Debug)]
pub struct WatsonKey {
    pub apikey: Secret,
    /// The service instance URL, without a trailing `/`.
    pub url: Url,
    pub iam_url: Url,
}

/// What a credential's JSON holds, by provider.
#[derive(Clone, Debug)]
pub enum ProviderKey {
    Dialogflow(ServiceAccount),
    Watson(WatsonKey),
}

/// Validate: a known provider, provider JSON of that provider's shape,
/// and `api_url` (Dialogflow only) an absolute URL.
pub fn from_input(input: Input, _ctx: &SaveContext<'_>) -> Result<ThirdPartyNlu, Vec<FieldError>> {
    let mut errors = Vec::new();
    let provider = match input.provider.trim() {
        "" => {
            errors.push(err(
                "provider",
                "missing",
                format!("choose the NLU provider: {}", Provider::NAMES.join(" or ")),
            ));
            None
        }
        p => {
            let parsed = Provider::parse(p);
            if parsed.is_none() {
                errors.push(err(
                    "provider",
                    "unknown",
                    format!(
                        "unknown NLU provider {p:?}: the provider is {}",
                        Provider::NAMES.join(" or ")
                    ),
                ));
            }
            parsed
        }
    };
    let text = match input.credentials.map(|c| c.0) {
        None | Some(Value::Null) => {
            errors.push(err(
                "credentials",
                "missing",
                "paste the credentials JSON the NLU provider gave when the service was set up",
            ));
            None
        }
        Some(value) => json_text(value, &mut errors),
    };
    let api_url = input.api_url.filter(|u| !u.trim().is_empty());
    if let Some(u) = &api_url {
        if provider == Some(Provider::IbmWatson) {
            errors.push(err(
                "api_url",
                "not_applicable",
                "api_url is for google_dialogflow only: IBM Watson credentials carry their service url",
            ));
        } else {
            endpoint(u, "api_url", "the Dialogflow API URL", &mut errors);
        }
    }
    let key = match (provider, &text) {
        (Some(p), Some((_, map))) => check(p, map, &mut errors),
        _ => None,
    };
    match (errors.is_empty(), provider, text, key) {
        (true, Some(provider), Some((text, _)), Some(key)) => {
            let mut saved = ThirdPartyNlu {
                provider,
                credentials: Secret::new(text),
                api_url: api_url.map(|u| u.trim().trim_end_matches('/').to_string()),
                project_id: None,
                client_email: None,
                private_key_id: None,
                token_uri: None,
                url: None,
                iam_url: None,
            };
            match key {
                ProviderKey::Dialogflow(sa) => {
                    saved.project_id = Some(sa.project_id);
                    saved.client_email = Some(sa.client_email);
                    saved.private_key_id = Some(sa.private_key_id);
                    saved.token_uri = Some(sa.token_uri);
                }
                ProviderKey::Watson(w) => {
                    saved.url = Some(w.url.as_str().trim_end_matches('/').to_string());
                    saved.iam_url = Some(w.iam_url.to_string());
                }
            }
            Ok(saved)
        }
        _ => Err(errors),
    }
}

/// The JSON text to keep and the object it holds: an object is kept as
/// compact JSON, a string as given once it holds an object.
fn json_text(value: Value, errors: &mut Vec<FieldError>) -> Option<(String, Map<String, Value>)> {
    let not_an_object = || {
        err(
            "credentials",
            "not_an_object",
            "the credentials must be a JSON object ({...}), as the NLU provider gives them",
        )
    };
    match value {
        Value::Object(map) => {
            let text = serde_json::to_string(&map).ok()?;
            Some((text, map))
        }
        Value::String(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Some((text, map)),
            Ok(_) => {
                errors.push(not_an_object());
                None
            }
            // serde_json's syntax errors give a position, never the text.
            Err(e) => {
                errors.push(err(
                    "credentials",
                    "invalid_json",
                    format!(
                        "the credentials are not JSON ({e}): paste the JSON file the NLU provider gave, unchanged"
                    ),
                ));
                None
            }
        },
        _ => {
            errors.push(not_an_object());
            None
        }
    }
}

/// Check `map` against `provider`'s shape, each fault its own error.
fn check(
    provider: Provider,
    map: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Option<ProviderKey> {
    let looks_like_watson = map.contains_key("apikey") && !map.contains_key("private_key");
    let looks_like_google = map.get("type").and_then(Value::as_str) == Some("service_account")
        || map.contains_key("private_key");
    match provider {
        Provider::GoogleDialogflow if looks_like_watson => {
            errors.push(err(
                "credentials",
                "wrong_provider",
                "these are IBM Watson credentials (apikey): choose the provider ibm_watson, or paste a Google service-account key",
            ));
            None
        }
        Provider::IbmWatson if looks_like_google => {
            errors.push(err(
                "credentials",
                "wrong_provider",
                "this is a Google service-account key (private_key): choose the provider google_dialogflow, or paste IBM Cloud service credentials",
            ));
            None
        }
        Provider::GoogleDialogflow => {
            check_service_account(map, errors).map(ProviderKey::Dialogflow)
        }
        Provider::IbmWatson => check_watson(map, errors).map(ProviderKey::Watson),
    }
}

/// A string member of the provider's JSON: present, a string, not blank.
fn member(
    map: &Map<String, Value>,
    key: &str,
    field: &'static str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match map.get(key) {
        None | Some(Value::Null) => {
            errors.push(err(
                field,
                "missing",
                format!(
                    "the credentials have no {key}: paste the whole JSON the NLU provider gave"
                ),
            ));
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            errors.push(err(
                field,
                "missing",
                format!("the credentials' {key} is empty"),
            ));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(err(
                field,
                "not_a_string",
                format!("the credentials' {key} must be a string"),
            ));
            None
        }
    }
}

/// An absolute http(s) URL with a host; http only on loopback (what is
/// sent there is a credential).
fn endpoint(
    value: &str,
    field: &'static str,
    what: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Url> {
    match Url::parse(value.trim()) {
        Ok(u) if u.has_host() && matches!(u.scheme(), "http" | "https") => {
            let loopback = matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            if u.scheme() == "http" && !loopback {
                errors.push(err(
                    field,
                    "insecure_scheme",
                    format!("{what} must use https (http only on loopback)"),
                ));
                None
            } else {
                Some(u)
            }
        }
        _ => {
            errors.push(err(
                field,
                "invalid",
                format!("{what} must be an absolute http(s) URL"),
            ));
            None
        }
    }
}

/// Google project ids sit in API paths: letters, digits, `-`, `_`, `.`.
fn valid_project_id(id: &str) -> bool {
    id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn check_service_account(
    map: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Option<ServiceAccount> {
    let before = errors.len();
    match map.get("type") {
        None | Some(Value::Null) => errors.push(err(
            "credentials.type",
            "missing",
            "the credentials have no type: a Google service-account key says \"type\": \"service_account\"",
        )),
        Some(Value::String(t)) if t == "service_account" => {}
        Some(_) => errors.push(err(
            "credentials.type",
            "not_service_account",
            "the credentials' type must be \"service_account\": create a service-account key in the Google Cloud console",
        )),
    }
    let project_id = member(map, "project_id", "credentials.project_id", errors);
    if project_id.as_deref().is_some_and(|p| !valid_project_id(p)) {
        errors.push(err(
            "credentials.project_id",
            "invalid",
            "the project_id is at most 64 letters, digits, '-', '_' or '.'",
        ));
    }
    let private_key_id = member(map, "private_key_id", "credentials.private_key_id", errors);
    let private_key =
        member(map, "private_key", "credentials.private_key", errors).map(Secret::new);
    if let Some(Err((code, message))) = private_key.as_ref().map(|k| check_rsa_pkcs8(k.expose())) {
        errors.push(err("credentials.private_key", code, message));
    }
    let client_email = member(map, "client_email", "credentials.client_email", errors);
    if let Some(email) = &client_email {
        let shaped = email
            .split_once('@')
            .is_some_and(|(user, domain)| !user.is_empty() && !domain.is_empty())
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !shaped {
            errors.push(err(
                "credentials.client_email",
                "invalid",
                "the client_email is the service account's address, name@project.iam.gserviceaccount.com",
            ));
        }
    }
    let token_uri = member(map, "token_uri", "credentials.token_uri", errors)
        .filter(|u| endpoint(u, "credentials.token_uri", "the token_uri", errors).is_some());
    if errors.len() != before {
        return None;
    }
    Some(ServiceAccount {
        project_id: project_id?,
        private_key_id: private_key_id?,
        private_key: private_key?,
        client_email: client_email?,
        token_uri: token_uri?.trim().to_string(),
    })
}

/// A PEM `PRIVATE KEY` (PKCS#8) holding an RSA key that aws-lc accepts
/// for signing, or the error code and message.
fn check_rsa_pkcs8(pem: &str) -> Result<(), (&'static str, String)> {
    use rustls_pki_types::PrivatePkcs8KeyDer;
    use rustls_pki_types::pem::PemObject as _;
    let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
        (
            "not_pkcs8_pem",
            "the private_key must be a PEM PKCS#8 key (-----BEGIN PRIVATE KEY-----), as in Google's key file".to_string(),
        )
    })?;
    aws_lc_rs::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
        .map(|_| ())
        .map_err(|e| {
            (
                "not_rsa",
                format!(
                    "the private_key is not a usable RSA key ({e}): service-account keys are RSA"
                ),
            )
        })
}

fn check_watson(map: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<WatsonKey> {
    let before = errors.len();
    let apikey = member(map, "apikey", "credentials.apikey", errors).map(Secret::new);
    if apikey
        .as_ref()
        .is_some_and(|k| !k.expose().bytes().all(|b| b.is_ascii_graphic()))
    {
        errors.push(err(
            "credentials.apikey",
            "invalid",
            "the apikey is visible ASCII without spaces",
        ));
    }
    let url = member(map, "url", "credentials.url", errors)
        .and_then(|u| endpoint(&u, "credentials.url", "the service url", errors));
    let iam_url = match map.get("iam_url") {
        None | Some(Value::Null) => Url::parse(IBM_IAM_URL).ok(),
        Some(_) => member(map, "iam_url", "credentials.iam_url", errors)
            .and_then(|u| endpoint(&u, "credentials.iam_url", "the iam_url", errors)),
    };
    if errors.len() != before {
        return None;
    }
    Some(WatsonKey {
        apikey: apikey?,
        url: url?,
        iam_url: iam_url?,
    })
}

impl ThirdPartyNlu {
    /// The saved JSON, checked again (it was checked when saved; a vault
    /// row from an older version may not pass).
    pub fn key(&self) -> Result<ProviderKey, String> {
        let mut errors = Vec::new();
        let key = serde_json::from_str::<Value>(self.credentials.expose())
            .ok()
            .and_then(|v| match v {
                Value::Object(map) => check(self.provider, &map, &mut errors),
                _ => None,
            });
        key.ok_or_else(|| {
            let reasons: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            format!(
                "the saved credentials are no longer valid: {}",
                reasons.join("; ")
            )
        })
    }

    /// The Dialogflow API base URL (no trailing `/`).
    pub fn dialogflow_api(&self) -> &str {
        self.api_url.as_deref().unwrap_or(DIALOGFLOW_API_URL)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::OnceLock;

    /// One RSA key per test process (generation is slow in debug builds).
    pub(crate) fn rsa_pem() -> &'static str {
        static KEY: OnceLock<String> = OnceLock::new();
        KEY.get_or_init(|| {
            rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
                .unwrap()
                .serialize_pem()
        })
    }

    pub(crate) fn service_account_json() -> Value {
        json!({
            "type": "service_account",
            "project_id": "demo-project",
            "private_key_id": "0123abcd",
            "private_key": rsa_pem(),
            "client_email": "trainer@demo-project.iam.gserviceaccount.com",
            "client_id": "100000000000000000001",
            "auth_uri": "http://127.0.0.1:8400/authorize",
            "token_uri": "http://127.0.0.1:8400/token",
        })
    }

    fn watson_json() -> Value {
        json!({
            "apikey": "canary-watson-apikey-0123456789",
            "url": "http://127.0.0.1:8403/instances/i-1/",
            "iam_url": "http://127.0.0.1:8400/token",
            "iam_apikey_name": "k",
        })
    }

    fn run(body: Value) -> Result<ThirdPartyNlu, Vec<(&'static str, &'static str)>> {
        let org = super::super::basic_authentication::tests::ctx_org();
        let ctx = SaveContext {
            org: &org,
            platform_url: "http://127.0.0.1:8402",
            now: crate::clock::Instant::UNIX_EPOCH,
        };
        let input: Input = serde_json::from_value(body).unwrap();
        from_input(input, &ctx).map_err(|e| {
            for x in &e {
                assert!(x.message.len() > 10, "{x:?}");
                assert!(!x.message.contains("canary"), "{x:?}");
                assert!(!x.message.contains("PRIVATE KEY-----\n"), "{x:?}");
            }
            e.into_iter().map(|e| (e.field, e.code)).collect()
        })
    }

    fn codes(body: Value) -> Vec<(&'static str, &'static str)> {
        run(body).err().unwrap_or_default()
    }

    #[test]
    fn a_service_account_key_is_kept_whole_and_its_facts_shown() {
        let sa = service_account_json();
        let saved = run(json!({"provider": "google_dialogflow", "credentials": sa})).unwrap();
        assert_eq!(saved.project_id.as_deref(), Some("demo-project"));
        assert_eq!(saved.private_key_id.as_deref(), Some("0123abcd"));
        assert_eq!(saved.dialogflow_api(), DIALOGFLOW_API_URL);
        let view = serde_json::to_string(&saved).unwrap();
        assert!(!view.contains("PRIVATE KEY"), "{view}");
        assert!(view.contains("\"credentials\":\"[redacted]\""), "{view}");
        assert!(!format!("{saved:?}").contains("PRIVATE KEY"));
        let ProviderKey::Dialogflow(key) = saved.key().unwrap() else {
            panic!("provider")
        };
        assert_eq!(key.token_uri, "http://127.0.0.1:8400/token");

        // The same JSON as a string, and an api_url.
        let text = sa.to_string();
        let saved = run(json!({
            "provider": "google_dialogflow",
            "credentials": text,
            "api_url": "http://127.0.0.1:9/"
        }))
        .unwrap();
        assert_eq!(saved.credentials.expose(), text);
        assert_eq!(saved.dialogflow_api(), "http://127.0.0.1:9");
    }

    #[test]
    fn watson_credentials_default_to_ibm_iam() {
        let saved = run(json!({"provider": "ibm_watson", "credentials": watson_json()})).unwrap();
        assert_eq!(
            saved.url.as_deref(),
            Some("http://127.0.0.1:8403/instances/i-1")
        );
        assert_eq!(
            saved.iam_url.as_deref(),
            Some("http://127.0.0.1:8400/token")
        );
        assert!(!serde_json::to_string(&saved).unwrap().contains("canary"));
        let mut w = watson_json();
        w.as_object_mut().unwrap().remove("iam_url");
        let saved = run(json!({"provider": "ibm_watson", "credentials": w})).unwrap();
        assert_eq!(saved.iam_url.as_deref(), Some(IBM_IAM_URL));
    }

    #[test]
    fn provider_and_json_faults() {
        assert_eq!(
            codes(json!({})),
            vec![("provider", "missing"), ("credentials", "missing")]
        );
        assert_eq!(
            codes(json!({"provider": "lex", "credentials": {}})),
            vec![("provider", "unknown")]
        );
        assert_eq!(
            codes(json!({"provider": "ibm_watson", "credentials": "{not json"})),
            vec![("credentials", "invalid_json")]
        );
        assert_eq!(
            codes(json!({"provider": "ibm_watson", "credentials": "[1]"})),
            vec![("credentials", "not_an_object")]
        );
        assert_eq!(
            codes(json!({"provider": "ibm_watson", "credentials": 7})),
            vec![("credentials", "not_an_object")]
        );
        assert_eq!(
            codes(json!({"provider": "google_dialogflow", "credentials": watson_json()})),
            vec![("credentials", "wrong_provider")]
        );
        assert_eq!(
            codes(json!({"provider": "ibm_watson", "credentials": service_account_json()})),
            vec![("credentials", "wrong_provider")]
        );
        assert_eq!(
            codes(
                json!({"provider": "ibm_watson", "credentials": watson_json(), "api_url": "https://x.example"})
            ),
            vec![("api_url", "not_applicable")]
        );
        assert_eq!(
            codes(
                json!({"provider": "google_dialogflow", "credentials": service_account_json(), "api_url": "nope"})
            ),
            vec![("api_url", "invalid")]
        );
    }

    #[test]
    fn each_service_account_fault_has_its_own_code() {
        assert_eq!(
            codes(json!({"provider": "google_dialogflow", "credentials": {"client_id": "1"}})),
            vec![
                ("credentials.type", "missing"),
                ("credentials.project_id", "missing"),
                ("credentials.private_key_id", "missing"),
                ("credentials.private_key", "missing"),
                ("credentials.client_email", "missing"),
                ("credentials.token_uri", "missing"),
            ]
        );
        let with = |key: &str, value: Value| {
            let mut sa = service_account_json();
            sa[key] = value;
            codes(json!({"provider": "google_dialogflow", "credentials": sa}))
        };
        assert_eq!(
            with("type", json!("authorized_user")),
            vec![("credentials.type", "not_service_account")]
        );
        assert_eq!(
            with("project_id", json!("a/b")),
            vec![("credentials.project_id", "invalid")]
        );
        assert_eq!(
            with("private_key_id", json!(5)),
            vec![("credentials.private_key_id", "not_a_string")]
        );
        assert_eq!(
            with("private_key", json!("canary")),
            vec![("credentials.private_key", "not_pkcs8_pem")]
        );
        let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .unwrap()
            .serialize_pem();
        assert_eq!(
            with("private_key", json!(ec)),
            vec![("credentials.private_key", "not_rsa")]
        );
        let broken = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            with("private_key", json!(broken)),
            vec![("credentials.private_key", "not_rsa")]
        );
        assert_eq!(
            with("client_email", json!("trainer")),
            vec![("credentials.client_email", "invalid")]
        );
        assert_eq!(
            with("token_uri", json!("/token")),
            vec![("credentials.token_uri", "invalid")]
        );
        assert_eq!(
            with("token_uri", json!("http://oauth2.example/token")),
            vec![("credentials.token_uri", "insecure_scheme")]
        );
    }

    #[test]
    fn each_watson_fault_has_its_own_code() {
        assert_eq!(
            codes(json!({"provider": "ibm_watson", "credentials": {"iam_apikey_name": "k"}})),
            vec![
                ("credentials.apikey", "missing"),
                ("credentials.url", "missing")
            ]
        );
        let with = |key: &str, value: Value| {
            let mut w = watson_json();
            w[key] = value;
            codes(json!({"provider": "ibm_watson", "credentials": w}))
        };
        assert_eq!(
            with("apikey", json!("a b")),
            vec![("credentials.apikey", "invalid")]
        );
        assert_eq!(
            with("url", json!("watson")),
            vec![("credentials.url", "invalid")]
        );
        assert_eq!(
            with("iam_url", json!(1)),
            vec![("credentials.iam_url", "not_a_string")]
        );
        assert_eq!(
            with("iam_url", json!("ftp://x")),
            vec![("credentials.iam_url", "invalid")]
        );
    }
}
