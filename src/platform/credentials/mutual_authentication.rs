//! The Mutual Authentication credential (source document 004): a key
//! certificate (a key store holding the platform's private key and
//! certificate chain) and a trust certificate; integrations that use it
//! call the external system over mutual TLS.
//!
//! The two files have different jobs. The **key certificate** identifies
//! the platform to the external system: the documents' `keytool` recipe
//! makes it self-signed, and the brand trusts it on its side (or a CA the
//! brand trusts issued it). The **trust certificate** is "exported from the
//! external system": it is what the platform trusts when it checks the
//! *server's* certificate, a CA that issued it or the server's own
//! (self-signed) certificate, pinned. Neither has to chain to the other.
//!
//! Saved fields (the JSON an admin sends):
//!
//! | field | what |
//! |---|---|
//! | `key_store` | the key store file, base64 (secret) |
//! | `key_store_file_name` | its name: `.p12` / `.pfx` for PKCS#12, `.jks` for JKS |
//! | `key_store_password` | its password (secret); optional when the store has none |
//! | `key_alias` | optional: the private key entry to present, when the store holds several |
//! | `trust_certificate` | optional: PEM text (`.pem`, `.crt`, `.cer`), base64 DER (`.der`, `.crt`, `.cer`) or a base64 trust store (`.p12`, `.pfx`, `.jks`) |
//! | `trust_certificate_file_name` | its name, whose extension says which |
//! | `trust_certificate_password` | a trust store's password (secret) |
//! | `tls_versions` | e.g. `["TLSv1.2", "TLSv1.3"]`, the default |
//!
//! Without a trust certificate, the key store's own certificates are
//! trusted (its trusted certificate entries, such as the server
//! certificate the documents' recipe imports with `keytool -import`, and
//! the CA certificates of the key's chain), as the documents allow when
//! "the keystore already has the trust certificate".
//!
//! Unlike the documents' UI, which "doesn't verify that the uploaded
//! certificate and keys are working", a save is refused, each fault with
//! its own error, when: the key store is not base64 or not a key store of
//! the format its name says; the password is missing or wrong; it holds no
//! private key, or several and `key_alias` names none of them; the key
//! does not match its certificate or cannot sign TLS handshakes; the key
//! certificate is not yet valid or has expired (on the shared clock), or
//! its extended key usage excludes client authentication; a trust
//! certificate does not parse or is out of date; a TLS version is unknown
//! or deprecated. A key certificate that expires within 30 days, or is an
//! X.509 version 1 certificate, is saved with a warning.
//!
//! TLS 1.0 and 1.1 are refused: they are deprecated (RFC 8996) and the TLS
//! stack (rustls) does not implement them. The documents' default of
//! "TLS 1.2 and TLS 1.1" therefore cannot be had; the default here is
//! TLS 1.2 and 1.3.
//!
//! Reads show the key store and passwords as `"[redacted]"`, and the
//! certificate's facts: subject, issuer, validity, key type, format, alias,
//! SHA-256 fingerprint ([`KeyCertificate`]), those of each trusted
//! certificate, and the warnings. [`verify`] makes and judges the TLS
//! connection, [`client`] builds (and caches) the HTTP client an
//! integration call uses, [`probe`] is the connection test.

pub mod client;
pub mod keystore;
pub mod probe;
pub mod verify;

use std::sync::Arc;

use base64::Engine as _;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};

use super::{FieldError, SaveContext, err};
use crate::clock::Instant;
use crate::secret::Secret;
pub use client::Clients;
use keystore::{CertificateFacts, OpenError, Sniffed, StoreFormat, TrustFormat};

/// A TLS version the credential allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TlsVersion {
    #[serde(rename = "TLSv1.2")]
    Tls12,
    #[serde(rename = "TLSv1.3")]
    Tls13,
}

impl TlsVersion {
    /// Both, when the admin names none.
    pub const DEFAULT: &[TlsVersion] = &[TlsVersion::Tls12, TlsVersion::Tls13];
}

/// The key certificate's facts, as reads show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCertificate {
    /// `PKCS#12` or `JKS`.
    pub format: String,
    /// The alias of the private key entry.
    pub alias: String,
    #[serde(flatten)]
    pub facts: CertificateFacts,
    /// Certificates in the key's chain, its own included.
    pub chain_length: usize,
}

/// Something a person should know about a saved credential that does not
/// stop it from working here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl Warning {
    fn new(field: &str, code: &str, message: String) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message,
        }
    }
}

/// A saved Mutual Authentication credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutualAuth {
    /// The key store file, base64 as uploaded.
    pub key_store: Secret,
    pub key_store_file_name: String,
    #[serde(default)]
    pub key_store_password: Option<Secret>,
    /// The alias of the private key to present, when the store holds
    /// several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_alias: Option<String>,
    /// As uploaded: PEM text or base64.
    #[serde(default)]
    pub trust_certificate: Option<String>,
    #[serde(default)]
    pub trust_certificate_file_name: Option<String>,
    #[serde(default)]
    pub trust_certificate_password: Option<Secret>,
    pub tls_versions: Vec<TlsVersion>,
    /// Derived: the key certificate's facts.
    pub key_certificate: KeyCertificate,
    /// Derived: what the API's server certificate is checked against (the
    /// uploaded trust certificate, or the key store's own): each is a CA
    /// that issued it, or the server's own certificate, pinned.
    pub trust_certificates: Vec<CertificateFacts>,
    /// Derived: what a person should know (a key certificate expiring
    /// within 30 days, an X.509 version 1 key certificate).
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

/// Fields of a saved credential that validation derives from the others.
pub const DERIVED_FIELDS: &[&str] = &["key_certificate", "trust_certificates", "warnings"];

/// The fields as saved.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    #[serde(default)]
    pub key_store: Option<Secret>,
    #[serde(default)]
    pub key_store_file_name: String,
    #[serde(default)]
    pub key_store_password: Option<Secret>,
    #[serde(default)]
    pub key_alias: Option<String>,
    #[serde(default)]
    pub trust_certificate: Option<String>,
    #[serde(default)]
    pub trust_certificate_file_name: Option<String>,
    #[serde(default)]
    pub trust_certificate_password: Option<Secret>,
    #[serde(default)]
    pub tls_versions: Vec<String>,
}

/// What a key store and trust certificate give once opened: the identity
/// to present and the roots to trust. Holds the private key: no `Debug`.
pub struct Material {
    pub format: StoreFormat,
    pub alias: String,
    /// Own certificate first.
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivatePkcs8KeyDer<'static>,
    pub anchors: Vec<CertificateDer<'static>>,
    /// Whether `anchors` came from the uploaded trust certificate (or
    /// from the key store).
    pub uploaded_anchors: bool,
}

/// The uploaded files and passwords, as strings.
struct Upload<'a> {
    key_store: Option<&'a str>,
    key_store_file_name: &'a str,
    key_store_password: Option<&'a str>,
    key_alias: Option<&'a str>,
    trust_certificate: Option<&'a str>,
    trust_certificate_file_name: Option<&'a str>,
    trust_certificate_password: Option<&'a str>,
}

fn nonempty(s: &Option<Secret>) -> Option<&str> {
    s.as_ref().map(Secret::expose).filter(|s| !s.is_empty())
}

impl<'a> Upload<'a> {
    fn of_input(input: &'a Input) -> Self {
        Self {
            key_store: input.key_store.as_ref().map(Secret::expose),
            key_store_file_name: &input.key_store_file_name,
            key_store_password: nonempty(&input.key_store_password),
            key_alias: input.key_alias.as_deref().filter(|a| !a.is_empty()),
            trust_certificate: input.trust_certificate.as_deref(),
            trust_certificate_file_name: input.trust_certificate_file_name.as_deref(),
            trust_certificate_password: nonempty(&input.trust_certificate_password),
        }
    }

    fn of_saved(saved: &'a MutualAuth) -> Self {
        Self {
            key_store: Some(saved.key_store.expose()),
            key_store_file_name: &saved.key_store_file_name,
            key_store_password: nonempty(&saved.key_store_password),
            key_alias: saved.key_alias.as_deref(),
            trust_certificate: saved.trust_certificate.as_deref(),
            trust_certificate_file_name: saved.trust_certificate_file_name.as_deref(),
            trust_certificate_password: nonempty(&saved.trust_certificate_password),
        }
    }
}

/// Validate a saved body: every fault its own error.
pub fn from_input(input: Input, ctx: &SaveContext<'_>) -> Result<MutualAuth, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let tls_versions = tls_versions(&input.tls_versions, &mut errors);
    let material = open(&Upload::of_input(&input), &mut errors);
    let checked = material
        .and_then(|m| check(&m, ctx.now, &mut errors, &mut warnings).map(|facts| (m, facts)));
    match checked {
        Some((m, (key_facts, trust_facts))) if errors.is_empty() => Ok(MutualAuth {
            key_store: input.key_store.unwrap_or_else(|| Secret::new("")),
            key_store_file_name: input.key_store_file_name,
            key_store_password: input.key_store_password.filter(|p| !p.expose().is_empty()),
            key_alias: input.key_alias.filter(|a| !a.is_empty()),
            trust_certificate: input.trust_certificate.filter(|t| !t.trim().is_empty()),
            trust_certificate_file_name: input
                .trust_certificate_file_name
                .filter(|n| !n.trim().is_empty()),
            trust_certificate_password: input
                .trust_certificate_password
                .filter(|p| !p.expose().is_empty()),
            tls_versions,
            key_certificate: KeyCertificate {
                format: m.format.name().into(),
                alias: m.alias,
                facts: key_facts,
                chain_length: m.chain.len(),
            },
            trust_certificates: trust_facts,
            warnings,
        }),
        _ => Err(errors),
    }
}

/// `tls_versions`, normalised: `TLSv1.2`, `TLS 1.2`, `tls1.2` and `1.2`
/// all name TLS 1.2. Empty means both 1.2 and 1.3.
fn tls_versions(given: &[String], errors: &mut Vec<FieldError>) -> Vec<TlsVersion> {
    if given.is_empty() {
        return TlsVersion::DEFAULT.to_vec();
    }
    let mut versions = Vec::new();
    for v in given {
        let norm: String = v
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        let number = norm
            .strip_prefix("tlsv")
            .or_else(|| norm.strip_prefix("tls"))
            .unwrap_or(&norm);
        match number {
            "1.2" => versions.push(TlsVersion::Tls12),
            "1.3" => versions.push(TlsVersion::Tls13),
            "1" | "1.0" | "1.1" => errors.push(err(
                "tls_versions",
                "deprecated",
                format!(
                    "{v:?} is refused: TLS 1.0 and 1.1 are deprecated (RFC 8996) and the TLS stack does not support them; use \"TLSv1.2\" and/or \"TLSv1.3\""
                ),
            )),
            _ if norm.starts_with("ssl") => errors.push(err(
                "tls_versions",
                "deprecated",
                format!("{v:?} is refused: SSL is long obsolete (RFC 7568); use \"TLSv1.2\" and/or \"TLSv1.3\""),
            )),
            _ => errors.push(err(
                "tls_versions",
                "unknown",
                format!("{v:?} is not a TLS version; use \"TLSv1.2\" and/or \"TLSv1.3\""),
            )),
        }
    }
    versions.sort();
    versions.dedup();
    versions
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(compact).ok()
}

/// The bytes of a key or trust store uploaded as base64 in `field`, if
/// they decode and fit in [`keystore::MAX_FILE_BYTES`].
fn store_bytes(
    text: &str,
    field: &'static str,
    what: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<u8>> {
    let Some(bytes) = decode_base64(text) else {
        errors.push(err(
            field,
            "not_base64",
            format!("the {what} must be the file's bytes in base64 (RFC 4648)"),
        ));
        return None;
    };
    if bytes.len() > keystore::MAX_FILE_BYTES {
        errors.push(err(
            field,
            "too_large",
            format!(
                "the {what} is {} bytes; a {what} is a few kilobytes (at most {} accepted)",
                bytes.len(),
                keystore::MAX_FILE_BYTES
            ),
        ));
        return None;
    }
    Some(bytes)
}

/// A file name: not blank, no path, no control characters.
fn file_name(name: &str, field: &'static str, what: &str, errors: &mut Vec<FieldError>) -> bool {
    if name.trim().is_empty() {
        errors.push(err(
            field,
            "missing",
            format!("give the {what}'s file name: its extension says the format"),
        ));
        false
    } else if name.len() > 255
        || name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        errors.push(err(
            field,
            "invalid",
            format!(
                "the {what}'s file name is a plain name of at most 255 characters, without a path"
            ),
        ));
        false
    } else {
        true
    }
}

/// Open the key store and the trust certificate; every fault is pushed.
fn open(upload: &Upload<'_>, errors: &mut Vec<FieldError>) -> Option<Material> {
    let key = open_key_store(upload, errors);
    let trust = open_trust(upload, errors);
    let (format, entry, store_certs) = key?;
    let trust = trust?;
    let (anchors, uploaded_anchors) = match trust {
        Some(certs) => (certs, true),
        None => {
            // The store's trusted entries, then the CA certificates of the
            // key's chain.
            let mut anchors = store_certs;
            for c in entry.chain.iter().skip(1) {
                if !anchors.contains(c) {
                    anchors.push(c.clone());
                }
            }
            if anchors.is_empty() {
                // Said, and the key certificate still checked.
                errors.push(err(
                    "trust_certificate",
                    "missing",
                    "the key store holds no trusted certificate: upload as trust_certificate the external system's server certificate (exported from it), or the CA that issued it",
                ));
            }
            (anchors, false)
        }
    };
    Some(Material {
        format,
        alias: entry.alias,
        chain: entry.chain,
        key: PrivatePkcs8KeyDer::from(entry.key),
        anchors,
        uploaded_anchors,
    })
}

type OpenedKeyStore = (
    StoreFormat,
    keystore::KeyEntry,
    Vec<CertificateDer<'static>>,
);

fn open_key_store(upload: &Upload<'_>, errors: &mut Vec<FieldError>) -> Option<OpenedKeyStore> {
    let named = if file_name(
        upload.key_store_file_name,
        "key_store_file_name",
        "key store",
        errors,
    ) {
        let format = StoreFormat::from_file_name(upload.key_store_file_name);
        if format.is_none() {
            errors.push(err(
                "key_store_file_name",
                "unsupported_extension",
                format!(
                    "{:?}: a key store is a .p12 or .pfx (PKCS#12, recommended) or a .jks (Java KeyStore) file",
                    upload.key_store_file_name
                ),
            ));
        }
        format
    } else {
        None
    };
    let Some(text) = upload.key_store.filter(|t| !t.trim().is_empty()) else {
        errors.push(err(
            "key_store",
            "missing",
            "upload the key store (the key certificate), base64-encoded",
        ));
        return None;
    };
    let bytes = store_bytes(text, "key_store", "key store", errors)?;
    let format = match keystore::sniff(&bytes) {
        Sniffed::Store(found) => found,
        Sniffed::Jceks => {
            errors.push(err(
                "key_store",
                "unsupported",
                "the key store is a JCEKS store, which is not supported: convert it with keytool -importkeystore -deststoretype PKCS12",
            ));
            return None;
        }
        Sniffed::Unknown => {
            errors.push(err(
                "key_store",
                "not_a_key_store",
                "the file is neither a PKCS#12 nor a JKS key store",
            ));
            return None;
        }
    };
    let named = named?;
    if named != format {
        errors.push(err(
            "key_store",
            "format_mismatch",
            format!(
                "the file is named {:?} ({}) but holds a {} key store: upload the right file or name it for its format",
                upload.key_store_file_name,
                named.name(),
                format.name()
            ),
        ));
        return None;
    }
    let contents = match keystore::open(format, &bytes, upload.key_store_password, false) {
        Ok(c) => c,
        Err(e) => {
            errors.push(open_error(
                e,
                format,
                "key_store",
                "key_store_password",
                "key store",
            ));
            return None;
        }
    };
    let mut keys = contents.keys;
    if let Some(alias) = upload.key_alias {
        let aliases: Vec<&str> = keys.iter().map(|k| k.alias.as_str()).collect();
        let Some(i) = keys.iter().position(|k| k.alias == alias).or_else(|| {
            keys.iter()
                .position(|k| k.alias.eq_ignore_ascii_case(alias))
        }) else {
            errors.push(err(
                "key_alias",
                "unknown_alias",
                if aliases.is_empty() {
                    format!("key_alias {alias:?}: the key store holds no private key")
                } else {
                    format!(
                        "key_alias {alias:?} is not a private key entry of the key store; its private keys are: {}",
                        aliases.join(", ")
                    )
                },
            ));
            return None;
        };
        keys = vec![keys.swap_remove(i)];
    }
    let entry = match keys.len() {
        0 => {
            errors.push(err(
                "key_store",
                "no_private_key",
                format!(
                    "the {} key store holds no private key with its certificate: upload the key certificate, not a trust store",
                    format.name()
                ),
            ));
            return None;
        }
        1 => keys.remove(0),
        n => {
            let aliases: Vec<&str> = keys.iter().map(|k| k.alias.as_str()).collect();
            errors.push(err(
                "key_store",
                "several_private_keys",
                format!(
                    "the key store holds {n} private keys ({}): name the one the platform presents in key_alias, or keep only that one",
                    aliases.join(", ")
                ),
            ));
            return None;
        }
    };
    if entry.chain.is_empty() {
        errors.push(err(
            "key_store",
            "no_certificate",
            format!(
                "the private key {:?} has no certificate in the key store",
                entry.alias
            ),
        ));
        return None;
    }
    Some((format, entry, contents.certificates))
}

fn open_error(
    e: OpenError,
    format: StoreFormat,
    field: &'static str,
    password_field: &'static str,
    what: &str,
) -> FieldError {
    let name = format.name();
    match e {
        OpenError::PasswordRequired => err(
            password_field,
            "missing",
            format!("the {what} is protected by a password: give {password_field}"),
        ),
        OpenError::WrongPassword => err(
            password_field,
            "wrong_password",
            format!("the password does not open the {name} {what} (its integrity check fails)"),
        ),
        OpenError::WrongKeyPassword { alias } => err(
            password_field,
            "wrong_key_password",
            format!(
                "the {what} opens, but its key entry {alias:?} has another password: give the entry the store's password (keytool -keypasswd)"
            ),
        ),
        OpenError::Corrupt(detail) => err(
            field,
            "corrupt",
            format!("the {name} {what} is damaged: {detail}"),
        ),
        OpenError::Unsupported(detail) => err(
            field,
            "unsupported",
            format!(
                "the {name} {what} uses an algorithm that is not supported ({detail}): re-export it with AES-256 (e.g. keytool -importkeystore -deststoretype PKCS12)"
            ),
        ),
    }
}

/// The uploaded trust certificates: `Some(None)` when none was uploaded,
/// `None` when the upload is faulty (pushed).
fn open_trust(
    upload: &Upload<'_>,
    errors: &mut Vec<FieldError>,
) -> Option<Option<Vec<CertificateDer<'static>>>> {
    let text = upload.trust_certificate.filter(|t| !t.trim().is_empty());
    let name = upload
        .trust_certificate_file_name
        .filter(|n| !n.trim().is_empty());
    let password = upload.trust_certificate_password;
    let Some(text) = text else {
        if name.is_some() {
            errors.push(err(
                "trust_certificate",
                "missing",
                "trust_certificate_file_name is set but trust_certificate is empty: upload the certificate, or leave both out",
            ));
            return None;
        }
        if password.is_some() {
            errors.push(err(
                "trust_certificate_password",
                "unused",
                "there is no trust certificate for this password to open",
            ));
            return None;
        }
        return Some(None);
    };
    if !file_name(
        name.unwrap_or(""),
        "trust_certificate_file_name",
        "trust certificate",
        errors,
    ) {
        return None;
    }
    let name = name.unwrap_or("");
    let Some(format) = TrustFormat::from_file_name(name) else {
        errors.push(err(
            "trust_certificate_file_name",
            "unsupported_extension",
            format!(
                "{name:?}: a trust certificate is a .pem, .crt or .cer (PEM) or a .der file, or a .p12, .pfx or .jks trust store"
            ),
        ));
        return None;
    };
    let pem = keystore::is_pem(text);
    let certs = match format {
        TrustFormat::Pem | TrustFormat::PemOrDer if pem => {
            if password.is_some() {
                errors.push(err(
                    "trust_certificate_password",
                    "unused",
                    "a PEM certificate has no password: leave trust_certificate_password out",
                ));
                return None;
            }
            match keystore::pem_certificates(text) {
                Ok(certs) => certs,
                Err(detail) => {
                    errors.push(err("trust_certificate", "invalid", detail));
                    return None;
                }
            }
        }
        TrustFormat::Pem => {
            errors.push(err(
                "trust_certificate",
                "format_mismatch",
                format!(
                    "{name:?} is a .pem file but the content is not PEM text (-----BEGIN CERTIFICATE-----): send the PEM text, or name a DER file .der"
                ),
            ));
            return None;
        }
        TrustFormat::Der | TrustFormat::PemOrDer | TrustFormat::Store(_) if pem => {
            errors.push(err(
                "trust_certificate",
                "format_mismatch",
                format!("{name:?} names a binary file but the content is PEM text: name it .pem"),
            ));
            return None;
        }
        TrustFormat::Der | TrustFormat::PemOrDer => {
            if password.is_some() {
                errors.push(err(
                    "trust_certificate_password",
                    "unused",
                    "a DER certificate has no password: leave trust_certificate_password out",
                ));
                return None;
            }
            match decode_base64(text) {
                Some(der) => vec![CertificateDer::from(der)],
                None => {
                    errors.push(err(
                        "trust_certificate",
                        "not_base64",
                        "a DER trust certificate must be the file's bytes in base64 (RFC 4648); PEM text starts with -----BEGIN CERTIFICATE-----",
                    ));
                    return None;
                }
            }
        }
        TrustFormat::Store(named) => trust_store(text, name, named, password, errors)?,
    };
    if certs.iter().map(|c| c.len()).sum::<usize>() > keystore::MAX_FILE_BYTES {
        errors.push(err(
            "trust_certificate",
            "too_large",
            format!(
                "the trust certificates exceed {} bytes",
                keystore::MAX_FILE_BYTES
            ),
        ));
        return None;
    }
    if certs.is_empty() {
        errors.push(err(
            "trust_certificate",
            "no_certificate",
            "the trust certificate file holds no certificate",
        ));
        return None;
    }
    for (i, c) in certs.iter().enumerate() {
        if let Err(detail) = keystore::facts(c) {
            errors.push(err(
                "trust_certificate",
                "invalid",
                format!(
                    "certificate {} of the trust certificate file: {detail}",
                    i + 1
                ),
            ));
            return None;
        }
    }
    Some(Some(certs))
}

fn trust_store(
    text: &str,
    name: &str,
    named: StoreFormat,
    password: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<CertificateDer<'static>>> {
    let bytes = store_bytes(text, "trust_certificate", "trust store", errors)?;
    match keystore::sniff(&bytes) {
        Sniffed::Store(found) if found == named => {}
        Sniffed::Store(found) => {
            errors.push(err(
                "trust_certificate",
                "format_mismatch",
                format!(
                    "the file is named {name:?} ({}) but holds a {} store",
                    named.name(),
                    found.name()
                ),
            ));
            return None;
        }
        Sniffed::Jceks | Sniffed::Unknown => {
            errors.push(err(
                "trust_certificate",
                "not_a_key_store",
                format!("{name:?} is neither a PKCS#12 nor a JKS trust store"),
            ));
            return None;
        }
    }
    match keystore::open(named, &bytes, password, true) {
        Ok(contents) => {
            let mut certs = contents.certificates;
            for key in contents.keys {
                certs.extend(key.chain);
            }
            Some(certs)
        }
        Err(e) => {
            errors.push(open_error(
                e,
                named,
                "trust_certificate",
                "trust_certificate_password",
                "trust store",
            ));
            None
        }
    }
}

/// A date as people read it: `2027-01-04T12:00:00Z` (unix seconds when out
/// of range).
pub fn date(at: Instant) -> String {
    let unix = at.unix_secs();
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{unix} (unix time)"))
}

/// How long before its end a key certificate draws a warning.
pub const EXPIRY_WARNING_SECS: i64 = 30 * 24 * 3600;

/// The checks that need the opened material, as the source documents give
/// the two files their jobs: the key certificate identifies the platform
/// to the external system (self-signed is fine: the brand trusts it on its
/// side), the trust certificates are what the platform trusts when it
/// checks the *server's* certificate. Neither has to chain to the other.
///
/// Errors: a certificate that does not parse, a key that is not its
/// certificate's or cannot sign TLS handshakes, a key certificate out of
/// date or whose extended key usage forbids client authentication
/// (RFC 5280 4.2.1.12), a trust certificate out of date. Warnings: a key
/// certificate that expires within 30 days, an X.509 version 1 key
/// certificate. Returns the facts reads show.
fn check(
    m: &Material,
    now: Instant,
    errors: &mut Vec<FieldError>,
    warnings: &mut Vec<Warning>,
) -> Option<(CertificateFacts, Vec<CertificateFacts>)> {
    let leaf = &m.chain[0];
    let read = keystore::facts(leaf).and_then(|f| keystore::usage(leaf).map(|u| (f, u)));
    let (facts, usage) = match read {
        Ok(read) => read,
        Err(detail) => {
            errors.push(err(
                "key_store",
                "invalid_certificate",
                format!("the key's certificate {:?}: {detail}", m.alias),
            ));
            return None;
        }
    };
    for (i, c) in m.chain.iter().enumerate().skip(1) {
        if let Err(detail) = keystore::facts(c) {
            errors.push(err(
                "key_store",
                "invalid_certificate",
                format!("certificate {} of the key's chain: {detail}", i + 1),
            ));
            return None;
        }
    }
    let anchor_field = if m.uploaded_anchors {
        "trust_certificate"
    } else {
        "key_store"
    };
    let mut trust_facts = Vec::new();
    for c in &m.anchors {
        match keystore::facts(c) {
            Ok(f) => trust_facts.push(f),
            Err(detail) => {
                errors.push(err(
                    anchor_field,
                    "invalid_certificate",
                    format!("a trust certificate: {detail}"),
                ));
                return None;
            }
        }
    }
    for t in &trust_facts {
        if now > t.not_after {
            errors.push(err(
                anchor_field,
                "trust_expired",
                format!(
                    "the trust certificate {} expired on {}: no server certificate can be checked against it; ask the external system for its current certificate (or the CA that issues it)",
                    t.subject,
                    date(t.not_after)
                ),
            ));
        } else if now < t.not_before {
            errors.push(err(
                anchor_field,
                "trust_not_yet_valid",
                format!(
                    "the trust certificate {} is valid only from {}",
                    t.subject,
                    date(t.not_before)
                ),
            ));
        }
    }
    check_key(m, &facts, &usage, errors);
    if usage.client_auth == Some(false) {
        errors.push(err(
            "key_store",
            "not_for_client_auth",
            format!(
                "the key certificate {} is not for TLS client authentication: its extended key usage lacks clientAuth (RFC 5280 4.2.1.12), so servers refuse it; issue it with extendedKeyUsage=clientAuth, or without that extension",
                facts.subject
            ),
        ));
    }
    if now < facts.not_before {
        errors.push(err(
            "key_store",
            "not_yet_valid",
            format!(
                "the key certificate {} is valid only from {}",
                facts.subject,
                date(facts.not_before)
            ),
        ));
    } else if now > facts.not_after {
        errors.push(err(
            "key_store",
            "expired",
            format!(
                "the key certificate {} expired on {}: upload a current key certificate",
                facts.subject,
                date(facts.not_after)
            ),
        ));
    } else if facts.not_after.secs_since(now) < EXPIRY_WARNING_SECS {
        // Whole days, rounded up: 19 days and 23 hours is "in 20 days".
        let days = (facts.not_after.secs_since(now) + 86_399) / 86_400;
        warnings.push(Warning::new(
            "key_store",
            "expires_soon",
            format!(
                "the key certificate {} expires in {days} day{} ({}): renew it, and have the brand trust the new one, before then",
                facts.subject,
                if days == 1 { "" } else { "s" },
                date(facts.not_after)
            ),
        ));
    }
    if usage.version == 1 {
        warnings.push(Warning::new(
            "key_store",
            "x509_v1",
            format!(
                "the key certificate {} is an X.509 version 1 certificate (no extensions, as `openssl x509 -req` makes without -extfile): servers that check client certificates with rustls or webpki refuse version 1 certificates, OpenSSL- and Java-based servers accept them; re-issue it as version 3 (e.g. with -extfile holding extendedKeyUsage=clientAuth) to be accepted everywhere",
                facts.subject
            ),
        ));
    }
    Some((facts, trust_facts))
}

/// The private key can sign TLS handshakes and is the one its certificate
/// names. Compared on the public key itself, so any certificate version
/// works (rustls's own check needs a version 3 certificate).
fn check_key(
    m: &Material,
    facts: &CertificateFacts,
    usage: &keystore::Usage,
    errors: &mut Vec<FieldError>,
) {
    let key = provider()
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(m.key.clone_key()));
    match key {
        Err(e) => errors.push(err(
            "key_store",
            "unsupported_key",
            format!(
                "the private key {:?} cannot sign TLS handshakes ({e}); its certificate is for a {} key; RSA, ECDSA P-256/P-384 and Ed25519 keys are supported",
                m.alias, facts.key_type
            ),
        )),
        Ok(key) => {
            if key
                .public_key()
                .is_some_and(|spki| spki.as_ref() != usage.spki.as_slice())
            {
                errors.push(err(
                    "key_store",
                    "key_mismatch",
                    format!(
                        "the private key {:?} does not belong to its certificate ({}): the key store pairs a key with another key's certificate",
                        m.alias, facts.subject
                    ),
                ));
            }
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

impl MutualAuth {
    /// Open the saved files again (for the HTTP client).
    pub fn material(&self) -> Result<Material, String> {
        let mut errors = Vec::new();
        open(&Upload::of_saved(self), &mut errors).ok_or_else(|| {
            errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// A digest of everything saved, secrets included: a cached client is
    /// reused only while the credential is unchanged.
    pub fn digest(&self) -> [u8; 32] {
        use sha2::Digest as _;
        let mut hash = sha2::Sha256::new();
        hash.update(serde_json::to_vec(self).unwrap_or_default());
        for (field, secret) in self.secrets() {
            for part in [field.as_bytes(), secret.expose().as_bytes()] {
                hash.update((part.len() as u64).to_be_bytes());
                hash.update(part);
            }
        }
        hash.finalize().into()
    }

    /// Its secrets, by the field each is saved under.
    pub fn secrets(&self) -> Vec<(&'static str, &Secret)> {
        let mut secrets = vec![("key_store", &self.key_store)];
        if let Some(p) = &self.key_store_password {
            secrets.push(("key_store_password", p));
        }
        if let Some(p) = &self.trust_certificate_password {
            secrets.push(("trust_certificate_password", p));
        }
        secrets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(given: &[&str]) -> (Vec<TlsVersion>, Vec<&'static str>) {
        let mut errors = Vec::new();
        let given: Vec<String> = given.iter().map(|s| s.to_string()).collect();
        let v = tls_versions(&given, &mut errors);
        (v, errors.into_iter().map(|e| e.code).collect())
    }

    #[test]
    fn tls_versions_default_to_1_2_and_1_3_and_refuse_1_1() {
        assert_eq!(versions(&[]), (TlsVersion::DEFAULT.to_vec(), vec![]));
        assert_eq!(
            versions(&["TLS 1.3", "tlsv1.2", "1.3"]),
            (vec![TlsVersion::Tls12, TlsVersion::Tls13], vec![])
        );
        assert_eq!(versions(&["TLSv1.1"]).1, vec!["deprecated"]);
        assert_eq!(versions(&["TLSv1"]).1, vec!["deprecated"]);
        assert_eq!(versions(&["SSLv3"]).1, vec!["deprecated"]);
        assert_eq!(versions(&["TLSv9"]).1, vec!["unknown"]);
        let mut errors = Vec::new();
        tls_versions(&["TLSv1.1".into()], &mut errors);
        assert!(
            errors[0].message.contains("RFC 8996"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn base64_is_read_with_or_without_padding_and_line_breaks() {
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert_eq!(decode_base64("aG\nk=").unwrap(), b"hi");
        assert!(decode_base64("not base64!").is_none());
    }

    #[test]
    fn serialised_versions_use_the_documents_names() {
        assert_eq!(
            serde_json::to_string(TlsVersion::DEFAULT).unwrap(),
            r#"["TLSv1.2","TLSv1.3"]"#
        );
    }
}
