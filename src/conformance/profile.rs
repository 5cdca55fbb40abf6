//! A profile: the external IdP a conformance run is pointed at. The IdP
//! suite, the delegation suite and `standin conform` read the same file.
//!
//! ```toml
//! issuer = "https://login.brand.example"
//! client_id = "conversational-bot"
//! client_secret = "..."            # or client_secret_env = "BRAND_CLIENT_SECRET"
//! redirect_uri = "https://platform.example/callback/acme/redirectCode"
//! scope = "openid profile"
//! # client_secret_basic (default) or client_secret_post
//! token_endpoint_auth = "client_secret_basic"
//!
//! # Optional: what to expect of the client's tokens.
//! access_token_lifetime = 3600
//! api_audience = "brand-api"
//!
//! [user]
//! username = "test.consumer@brand.example"
//! password = "..."                 # or password_env = "BRAND_TEST_PASSWORD"
//! # Optional: the subject the IdP gives this user.
//! sub = "248289761001"
//!
//! # How the agent finds its way through the brand's pages (defaults shown).
//! [form]
//! username_field = "username"
//! password_field = "password"
//! allow_button = "allow"
//! deny_button = "deny"
//! # More fields the login page asks for, filled in wherever they appear.
//! # [form.extra]
//! # tenant = "acme"
//!
//! # Optional: which flows `standin conform` checks (defaults shown).
//! [flows]
//! consumer_authentication = true
//! pre_authentication = false
//! client_credentials = false
//!
//! # Optional: the brand API call made with the consumer's token (default:
//! # the IdP's userinfo endpoint, GET, 200).
//! [api]
//! url = "https://api.brand.example/v1/me"
//! method = "GET"
//! expected_status = 200
//!
//! # Optional: another client of the IdP, to check that a code is bound
//! # to the client it was issued to.
//! [other_client]
//! client_id = "another-client"
//! client_secret_env = "OTHER_CLIENT_SECRET"
//!
//! # Optional: time limits, in seconds (defaults shown).
//! [timeouts]
//! request_secs = 10
//! run_secs = 300
//! ```
//!
//! A profile is checked whole before anything runs: every missing or wrong
//! field gets its own message naming its line. The client secret and the
//! password are [`Secret`]s, read from the file or from the environment
//! variables it names; they never appear in `Debug` output.

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
    #[error("profile {path} is not valid:\n{message}")]
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

impl TokenEndpointAuth {
    /// As RFC 8414 names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }
}

/// An external IdP under test.
#[derive(Clone, Debug)]
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
    pub scope: String,
    pub token_endpoint_auth: TokenEndpointAuth,
    /// A consumer account the agent signs in with.
    pub user: TestUser,
    pub form: FormHintsFile,
    /// The lifetime, in seconds, the IdP gives the client's access tokens
    /// (`expires_in`), when the profile says what to expect. Scenarios
    /// written for the mock's 300 s read it instead.
    pub access_token_lifetime: Option<u64>,
    /// The audience the IdP's JWT access tokens name for the brand API
    /// (default `brand-api`).
    pub api_audience: Option<String>,
    pub flows: Flows,
    pub api: ApiCall,
    pub timeouts: Timeouts,
    /// `[other_client]`: another client registered at the IdP, to check
    /// that a code is bound to the client it was issued to.
    pub other_client: Option<OtherClient>,
}

/// Another client of the IdP (its id and secret; it authenticates as the
/// profile's `token_endpoint_auth` says).
#[derive(Clone, Debug)]
pub struct OtherClient {
    pub client_id: String,
    pub client_secret: Secret,
}

/// The consumer account used by the scenarios.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub username: String,
    pub password: Secret,
    /// The subject the IdP names this user by, when it is known: the
    /// embedded brand API then serves it the default consumer's data.
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
    /// `[form.extra]`: more fields a login page asks for (a tenant, a
    /// "remember me" box), by name, filled in wherever a form has them.
    #[serde(default)]
    pub extra: std::collections::BTreeMap<String, String>,
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
            extra: Default::default(),
        }
    }
}

/// `[flows]`: which flows `standin conform` checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flows {
    /// The consumer signs in mid-conversation (source document 001).
    pub consumer_authentication: bool,
    /// Consumer Pre-Authentication (source document 004): the consumer
    /// signed in on the brand's side, the platform refreshing the token.
    pub pre_authentication: bool,
    /// The client credentials grant (RFC 6749 4.4), when the client may
    /// use it.
    pub client_credentials: bool,
}

impl Default for Flows {
    fn default() -> Self {
        Self {
            consumer_authentication: true,
            pre_authentication: false,
            client_credentials: false,
        }
    }
}

/// `[api]`: the brand API call made with the consumer's token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiCall {
    /// `None`: the IdP's userinfo endpoint, from discovery.
    pub url: Option<Url>,
    pub method: String,
    pub expected_status: u16,
}

impl Default for ApiCall {
    fn default() -> Self {
        Self {
            url: None,
            method: "GET".into(),
            expected_status: 200,
        }
    }
}

/// `[timeouts]`, in seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Each request to the IdP or the API.
    pub request_secs: u64,
    /// The whole run.
    pub run_secs: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            request_secs: 10,
            run_secs: 300,
        }
    }
}

/// One thing wrong with a profile, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based; `None` for a missing field of a missing section.
    pub line: Option<usize>,
    /// `issuer`, `user.password`, ...
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.field, self.message),
            None => write!(f, "{}: {}", self.field, self.message),
        }
    }
}

/// The keys each section may hold; anything else is refused by name.
const SECTIONS: [(&str, &[&str]); 7] = [
    (
        "",
        &[
            "issuer",
            "client_id",
            "client_secret",
            "client_secret_env",
            "redirect_uri",
            "scope",
            "token_endpoint_auth",
            "access_token_lifetime",
            "api_audience",
            "user",
            "form",
            "flows",
            "api",
            "timeouts",
            "other_client",
        ],
    ),
    ("user", &["username", "password", "password_env", "sub"]),
    (
        "form",
        &[
            "username_field",
            "password_field",
            "allow_button",
            "deny_button",
            "extra",
        ],
    ),
    (
        "flows",
        &[
            "consumer_authentication",
            "pre_authentication",
            "client_credentials",
        ],
    ),
    ("api", &["url", "method", "expected_status"]),
    ("timeouts", &["request_secs", "run_secs"]),
    (
        "other_client",
        &["client_id", "client_secret", "client_secret_env"],
    ),
];

/// The 1-based line where `key` of `section` ("" for the top) is set, or
/// where the section starts when `key` is empty.
fn line_of(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.split(']').next()) {
            current = name.trim().to_string();
            if key.is_empty() && current == section {
                return Some(n + 1);
            }
            continue;
        }
        if current == section
            && !key.is_empty()
            && trimmed
                .split('=')
                .next()
                .is_some_and(|k| k.trim().trim_matches('"') == key)
            && trimmed.contains('=')
        {
            return Some(n + 1);
        }
    }
    None
}

/// Reads fields off a parsed profile, collecting every problem.
struct Reader<'a> {
    text: &'a str,
    table: &'a toml::Table,
    problems: Vec<Problem>,
}

impl<'a> Reader<'a> {
    fn problem(&mut self, section: &str, key: &str, message: impl Into<String>) {
        let line = line_of(self.text, section, key).or_else(|| line_of(self.text, section, ""));
        let field = if section.is_empty() {
            key.to_string()
        } else {
            format!("{section}.{key}")
        };
        self.problems.push(Problem {
            line,
            field,
            message: message.into(),
        });
    }

    fn section(&self, section: &str) -> Option<&'a toml::Table> {
        if section.is_empty() {
            Some(self.table)
        } else {
            self.table.get(section).and_then(toml::Value::as_table)
        }
    }

    fn value(&self, section: &str, key: &str) -> Option<&'a toml::Value> {
        self.section(section)?.get(key)
    }

    fn string(&mut self, section: &str, key: &str) -> Option<String> {
        match self.value(section, key) {
            None => None,
            Some(toml::Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.problem(
                    section,
                    key,
                    format!("must be a string, not {}", other.type_str()),
                );
                None
            }
        }
    }

    fn required(&mut self, section: &str, key: &str, what: &str) -> Option<String> {
        let value = self.string(section, key);
        match &value {
            None if self.value(section, key).is_none() => {
                self.problem(section, key, format!("missing: {what}"));
            }
            Some(v) if v.trim().is_empty() => {
                self.problem(section, key, format!("is empty: {what}"));
                return None;
            }
            _ => {}
        }
        value
    }

    /// A table of strings (`[form.extra]`), empty when absent.
    fn string_table(
        &mut self,
        section: &str,
        key: &str,
    ) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        match self.value(section, key) {
            None => {}
            Some(toml::Value::Table(t)) => {
                for (k, v) in t {
                    match v.as_str() {
                        Some(s) => {
                            out.insert(k.clone(), s.to_string());
                        }
                        None => self.problem(
                            section,
                            key,
                            format!("{k} must be a string, not {}", v.type_str()),
                        ),
                    }
                }
            }
            Some(other) => self.problem(
                section,
                key,
                format!(
                    "must be a table of field names and values, not {}",
                    other.type_str()
                ),
            ),
        }
        out
    }

    fn boolean(&mut self, section: &str, key: &str, default: bool) -> bool {
        match self.value(section, key) {
            None => default,
            Some(toml::Value::Boolean(b)) => *b,
            Some(other) => {
                self.problem(
                    section,
                    key,
                    format!("must be true or false, not {}", other.type_str()),
                );
                default
            }
        }
    }

    fn integer(
        &mut self,
        section: &str,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        match self.value(section, key) {
            None => None,
            Some(toml::Value::Integer(n)) if range.contains(n) => Some(*n),
            Some(toml::Value::Integer(n)) => {
                self.problem(
                    section,
                    key,
                    format!(
                        "{n} is out of range: use {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
            Some(other) => {
                self.problem(
                    section,
                    key,
                    format!("must be a whole number, not {}", other.type_str()),
                );
                None
            }
        }
    }

    /// A secret given in the file or by the environment variable named by
    /// `{key}_env`; exactly one of them.
    fn secret(
        &mut self,
        section: &str,
        key: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Secret> {
        let env_key = format!("{key}_env");
        let inline = self.string(section, key);
        let named = self.string(section, &env_key);
        match (inline, named) {
            (Some(_), Some(_)) => {
                self.problem(
                    section,
                    &env_key,
                    format!("give {key} or {env_key}, not both"),
                );
                None
            }
            (Some(v), None) => Some(Secret::new(v)),
            (None, Some(var)) => match env(&var) {
                Some(v) if !v.is_empty() => Some(Secret::new(v)),
                _ => {
                    self.problem(
                        section,
                        &env_key,
                        format!("the environment variable {var} is not set or empty"),
                    );
                    None
                }
            },
            (None, None) => {
                if self.value(section, key).is_none() && self.value(section, &env_key).is_none() {
                    self.problem(
                        section,
                        key,
                        format!("missing: give {key}, or {env_key} naming an environment variable"),
                    );
                }
                None
            }
        }
    }

    fn unknown_keys(&mut self) {
        for (section, known) in SECTIONS {
            let Some(table) = self.section(section) else {
                if let Some(v) = self.table.get(section) {
                    let kind = v.type_str();
                    self.problem(
                        "",
                        section,
                        format!("must be a [{section}] section, not {kind}"),
                    );
                }
                continue;
            };
            let unknown: Vec<String> = table
                .keys()
                .filter(|k| !known.contains(&k.as_str()))
                .cloned()
                .collect();
            for key in unknown {
                self.problem(
                    section,
                    &key,
                    format!("unknown field; the fields here are {}", known.join(", ")),
                );
            }
        }
    }
}

fn http_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("{value:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!("{value} is not an http(s) URL"));
    }
    Ok(url)
}

impl Profile {
    /// Read and check a profile file; secrets named by `*_env` come from
    /// the process's environment.
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

    /// Parse a profile; the error lists every problem, one per line, each
    /// naming its line and field.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::parse_with(text, &|name| std::env::var(name).ok()).map_err(|problems| {
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    /// [`Profile::parse`] with the environment given.
    pub fn parse_with(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<Problem>> {
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            vec![Problem {
                line,
                field: "(file)".into(),
                message: format!("not TOML: {}", e.message()),
            }]
        })?;
        let mut r = Reader {
            text,
            table: &table,
            problems: Vec::new(),
        };
        r.unknown_keys();
        let issuer = r
            .required(
                "",
                "issuer",
                "the IdP's issuer identifier, e.g. \"https://login.brand.example\"",
            )
            .and_then(|i| match http_url(&i) {
                Ok(u) if u.query().is_some() || u.fragment().is_some() => {
                    r.problem(
                        "",
                        "issuer",
                        "must not have a query or fragment (RFC 8414 2)",
                    );
                    None
                }
                Ok(_) => Some(i),
                Err(e) => {
                    r.problem("", "issuer", e);
                    None
                }
            });
        let client_id = r.required("", "client_id", "the test client registered at the IdP");
        let client_secret = r.secret("", "client_secret", env);
        let redirect_uri = r
            .required(
                "",
                "redirect_uri",
                "a redirect URI registered for the client, exactly as registered",
            )
            .and_then(|u| match http_url(&u) {
                Ok(url) if url.fragment().is_some() => {
                    r.problem(
                        "",
                        "redirect_uri",
                        "must not have a fragment (RFC 6749 3.1.2)",
                    );
                    None
                }
                Ok(url) => Some(url),
                Err(e) => {
                    r.problem("", "redirect_uri", e);
                    None
                }
            });
        let scope = r.string("", "scope").unwrap_or_else(|| "openid".into());
        let token_endpoint_auth = match r.string("", "token_endpoint_auth").as_deref() {
            None | Some("client_secret_basic") => TokenEndpointAuth::ClientSecretBasic,
            Some("client_secret_post") => TokenEndpointAuth::ClientSecretPost,
            Some(other) => {
                r.problem(
                    "",
                    "token_endpoint_auth",
                    format!("{other:?} is not client_secret_basic or client_secret_post"),
                );
                TokenEndpointAuth::ClientSecretBasic
            }
        };
        let access_token_lifetime = r
            .integer("", "access_token_lifetime", 1..=31_536_000)
            .map(|n| n as u64);
        let api_audience = r.string("", "api_audience");
        if r.section("user").is_none() && r.table.get("user").is_none() {
            r.problem(
                "",
                "user",
                "missing: a [user] section with the test user's username and password",
            );
        }
        let username = r
            .section("user")
            .is_some()
            .then(|| r.required("user", "username", "the test user's login name"))
            .flatten();
        let password = r
            .section("user")
            .is_some()
            .then(|| r.secret("user", "password", env))
            .flatten();
        let sub = r.string("user", "sub");
        let defaults = FormHintsFile::default();
        let form = FormHintsFile {
            username_field: r
                .string("form", "username_field")
                .unwrap_or(defaults.username_field),
            password_field: r
                .string("form", "password_field")
                .unwrap_or(defaults.password_field),
            allow_button: r
                .string("form", "allow_button")
                .unwrap_or(defaults.allow_button),
            deny_button: r
                .string("form", "deny_button")
                .unwrap_or(defaults.deny_button),
            extra: r.string_table("form", "extra"),
        };
        let flows = Flows {
            consumer_authentication: r.boolean("flows", "consumer_authentication", true),
            pre_authentication: r.boolean("flows", "pre_authentication", false),
            client_credentials: r.boolean("flows", "client_credentials", false),
        };
        let api_url = r.string("api", "url").and_then(|u| match http_url(&u) {
            Ok(url) => Some(url),
            Err(e) => {
                r.problem("api", "url", e);
                None
            }
        });
        let method = r.string("api", "method").unwrap_or_else(|| "GET".into());
        if !matches!(
            method.as_str(),
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD"
        ) {
            r.problem(
                "api",
                "method",
                format!("{method:?} is not GET, POST, PUT, PATCH, DELETE or HEAD"),
            );
        }
        let api = ApiCall {
            url: api_url,
            method,
            expected_status: r
                .integer("api", "expected_status", 100..=599)
                .map_or(200, |n| n as u16),
        };
        let timeouts = Timeouts {
            request_secs: r
                .integer("timeouts", "request_secs", 1..=300)
                .map_or(10, |n| n as u64),
            run_secs: r
                .integer("timeouts", "run_secs", 1..=3600)
                .map_or(300, |n| n as u64),
        };
        let other_client = if r.section("other_client").is_some() {
            let id = r.required(
                "other_client",
                "client_id",
                "another client registered at the IdP",
            );
            let secret = r.secret("other_client", "client_secret", env);
            id.zip(secret)
                .map(|(client_id, client_secret)| OtherClient {
                    client_id,
                    client_secret,
                })
        } else {
            None
        };
        let problems = r.problems;
        match (
            issuer,
            client_id,
            client_secret,
            redirect_uri,
            username,
            password,
        ) {
            (
                Some(issuer),
                Some(client_id),
                Some(client_secret),
                Some(redirect_uri),
                Some(username),
                Some(password),
            ) if problems.is_empty() => Ok(Profile {
                issuer,
                client_id,
                client_secret,
                redirect_uri,
                scope,
                token_endpoint_auth,
                user: TestUser {
                    username,
                    password,
                    sub,
                },
                form,
                access_token_lifetime,
                api_audience,
                flows,
                api,
                timeouts,
                other_client,
            }),
            _ => Err(problems),
        }
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

    #[test]
    fn every_problem_is_listed_with_its_line() {
        let text = "issuer = \"login\"\nclient_secret_env = \"NOPE\"\nredirect_uri = 3\ncolour = \"blue\"\n[user]\nusername = \"\"\n[timeouts]\nrun_secs = 0\n";
        let problems = Profile::parse_with(text, &|_| None).unwrap_err();
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        for expected in [
            "line 1: issuer: \"login\" is not a URL",
            "line 4: colour: unknown field",
            "client_id: missing",
            "line 2: client_secret_env: the environment variable NOPE is not set",
            "line 3: redirect_uri: must be a string, not integer",
            "line 6: user.username: is empty",
            "line 5: user.password: missing",
            "line 8: timeouts.run_secs: 0 is out of range",
        ] {
            assert!(
                shown.iter().any(|s| s.starts_with(expected)),
                "no {expected:?} in {shown:#?}"
            );
        }
    }

    #[test]
    fn secrets_come_from_the_environment_when_named() {
        let text = GOOD
            .replace(
                "client_secret = \"s3cret\"",
                "client_secret_env = \"SECRET\"",
            )
            .replace("password = \"pa55\"", "password_env = \"PASSWORD\"");
        let env = |name: &str| match name {
            "SECRET" => Some("from-env".to_string()),
            "PASSWORD" => Some("pw-env".to_string()),
            _ => None,
        };
        let profile = Profile::parse_with(&text, &env).unwrap();
        assert!(profile.form.extra.is_empty());
        assert_eq!(profile.client_secret.expose(), "from-env");
        assert_eq!(profile.user.password.expose(), "pw-env");
        assert_eq!(profile.flows, Flows::default());
        assert_eq!(profile.timeouts, Timeouts::default());
        let both = GOOD.replace(
            "client_secret = \"s3cret\"",
            "client_secret = \"a\"\nclient_secret_env = \"SECRET\"",
        );
        let e = Profile::parse_with(&both, &env).unwrap_err();
        assert!(e[0].message.contains("not both"), "{e:?}");
    }

    #[test]
    fn extra_form_fields_are_strings_by_name() {
        let text = format!("{GOOD}\n[form.extra]\ntenant = \"acme\"\n");
        let p = Profile::parse(&text).unwrap();
        assert_eq!(p.form.extra.get("tenant").map(String::as_str), Some("acme"));
        let bad = format!("{GOOD}\n[form.extra]\nremember = true\n");
        let e = Profile::parse(&bad).unwrap_err();
        assert!(
            e.contains("form.extra") && e.contains("remember must be a string"),
            "{e}"
        );
    }

    proptest::proptest! {
        /// Any text is a profile or a list of problems, never a panic; a
        /// problem's line, when given, is a line of the text.
        #[test]
        fn any_text_parses_or_lists_problems(text in "(?s).{0,400}") {
            if let Err(problems) = Profile::parse_with(&text, &|_| None) {
                proptest::prop_assert!(!problems.is_empty());
                let lines = text.lines().count().max(1);
                for p in problems {
                    if let Some(line) = p.line {
                        proptest::prop_assert!(line >= 1 && line <= lines + 1, "{p} of {lines}");
                    }
                }
            }
        }

        /// A valid profile with one field's value replaced by anything
        /// still never panics.
        #[test]
        fn any_value_of_a_field_is_judged(value in "(?s).{0,60}", field in 0usize..5) {
            let key = ["issuer", "client_id", "redirect_uri", "scope", "token_endpoint_auth"][field];
            let text = GOOD
                .lines()
                .map(|l| if l.trim_start().starts_with(&format!("{key} =")) {
                    format!("{key} = {}", toml::Value::String(value.clone()))
                } else {
                    l.to_string()
                })
                .collect::<Vec<_>>()
                .join("\n");
            let _ = Profile::parse_with(&text, &|_| None);
        }
    }

    #[test]
    fn bad_toml_names_its_line() {
        let e = Profile::parse("issuer = \"x\"\nclient_id = \n").unwrap_err();
        assert!(e.starts_with("line 2: (file): not TOML"), "{e}");
    }
}
