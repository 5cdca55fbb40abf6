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
//! certificate, and the warnings.
//!
//! A save reads the upload (`upload`: the TLS versions, the key store and
//! its password), opens the trust certificates (`trust`) and checks what
//! was opened (`checks`: dates, the key against its certificate, warnings);
//! [`keystore`] reads the file formats. [`verify`] makes and judges the TLS
//! connection, [`client`] builds (and caches) the HTTP client an
//! integration call uses, [`probe`] is the connection test.

pub mod client;
pub mod keystore;
pub mod probe;
pub mod verify;

mod checks;
mod trust;
mod upload;

use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};

use super::{FieldError, SaveContext};
use crate::secret::Secret;
use checks::check;
pub use checks::{EXPIRY_WARNING_SECS, date};
pub use client::Clients;
use keystore::{CertificateFacts, StoreFormat};
use upload::{Upload, open, tls_versions};

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

    #[test]
    fn serialised_versions_use_the_documents_names() {
        assert_eq!(
            serde_json::to_string(TlsVersion::DEFAULT).unwrap(),
            r#"["TLSv1.2","TLSv1.3"]"#
        );
    }
}
