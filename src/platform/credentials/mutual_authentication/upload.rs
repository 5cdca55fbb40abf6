//! Reading what the admin sent: the TLS versions, the file names and the
//! key store, opened with its password (the key chosen by `key_alias`);
//! `open` joins it with the trust certificates into the [`Material`].

use base64::Engine as _;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};

use super::keystore::{self, OpenError, Sniffed, StoreFormat};
use super::trust::open_trust;
use super::{Input, Material, MutualAuth, TlsVersion};
use crate::platform::credentials::{FieldError, err};
use crate::secret::Secret;

/// The uploaded files and passwords, as strings.
pub(super) struct Upload<'a> {
    pub(super) key_store: Option<&'a str>,
    pub(super) key_store_file_name: &'a str,
    pub(super) key_store_password: Option<&'a str>,
    pub(super) key_alias: Option<&'a str>,
    pub(super) trust_certificate: Option<&'a str>,
    pub(super) trust_certificate_file_name: Option<&'a str>,
    pub(super) trust_certificate_password: Option<&'a str>,
}

fn nonempty(s: &Option<Secret>) -> Option<&str> {
    s.as_ref().map(Secret::expose).filter(|s| !s.is_empty())
}

impl<'a> Upload<'a> {
    pub(super) fn of_input(input: &'a Input) -> Self {
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

    pub(super) fn of_saved(saved: &'a MutualAuth) -> Self {
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

/// `tls_versions`, normalised: `TLSv1.2`, `TLS 1.2`, `tls1.2` and `1.2`
/// all name TLS 1.2. Empty means both 1.2 and 1.3.
pub(super) fn tls_versions(given: &[String], errors: &mut Vec<FieldError>) -> Vec<TlsVersion> {
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

pub(super) fn decode_base64(text: &str) -> Option<Vec<u8>> {
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
pub(super) fn store_bytes(
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
pub(super) fn file_name(
    name: &str,
    field: &'static str,
    what: &str,
    errors: &mut Vec<FieldError>,
) -> bool {
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
pub(super) fn open(upload: &Upload<'_>, errors: &mut Vec<FieldError>) -> Option<Material> {
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

pub(super) fn open_error(
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
}
