//! The checks of what was opened: the certificates parse and are in date,
//! the key is its certificate's, signs TLS handshakes and may authenticate
//! a client; and the warnings a save carries.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls_pki_types::PrivateKeyDer;

use super::keystore::{self, CertificateFacts};
use super::{Material, Warning};
use crate::clock::Instant;
use crate::platform::credentials::{FieldError, err};

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
pub(super) fn check(
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
