//! The trust certificates: what the platform checks the server's
//! certificate against, uploaded as PEM, DER or a trust store.

use rustls_pki_types::CertificateDer;

use super::keystore::{self, Sniffed, StoreFormat, TrustFormat};
use super::upload::{Upload, decode_base64, file_name, open_error, store_bytes};
use crate::platform::credentials::{FieldError, err};

/// The uploaded trust certificates: `Some(None)` when none was uploaded,
/// `None` when the upload is faulty (pushed).
pub(super) fn open_trust(
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
