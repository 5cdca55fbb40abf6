//! A certificate authority and the certificates it issues.

use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;

use super::PkiError;
use crate::clock::Instant;

/// When a certificate is valid, as instants on a [`crate::clock::Clock`]
/// (so a test can issue relative to its own clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub not_before: Instant,
    pub not_after: Instant,
}

impl Validity {
    const HOUR: Duration = Duration::from_secs(60 * 60);
    const DAY: Duration = Duration::from_secs(24 * 60 * 60);

    /// Valid from an hour before `now` (some slack for skewed clocks) for
    /// `days` days.
    pub fn days_from(now: Instant, days: u32) -> Self {
        Self {
            not_before: now - Self::HOUR,
            not_after: now + Self::DAY * days,
        }
    }

    /// Already expired at `now`: valid for one day, ending a day ago.
    pub fn expired_at(now: Instant) -> Self {
        Self {
            not_before: now - Self::DAY * 2,
            not_after: now - Self::DAY,
        }
    }

    fn apply(self, params: &mut CertificateParams) -> Result<(), PkiError> {
        let at = |t: Instant| {
            OffsetDateTime::from_unix_timestamp(t.unix_secs())
                .map_err(|_| PkiError::Validity(t.unix_secs()))
        };
        params.not_before = at(self.not_before)?;
        params.not_after = at(self.not_after)?;
        Ok(())
    }
}

/// A certificate authority: its self-signed certificate and its key.
pub struct Ca {
    name: String,
    issuer: Issuer<'static, KeyPair>,
    cert: CertificateDer<'static>,
}

impl Ca {
    /// A new CA named `name` (its common name), valid ten years from now.
    /// Generate a second one for certificates from a foreign CA.
    pub fn generate(name: &str) -> Result<Self, PkiError> {
        let now = Instant::from_unix_secs(OffsetDateTime::now_utc().unix_timestamp());
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        Validity::days_from(now, 3650).apply(&mut params)?;
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?.der().clone();
        Ok(Self {
            name: name.to_string(),
            issuer: Issuer::new(params, key),
            cert,
        })
    }

    /// The CA's common name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CA certificate (the trust certificate), DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// A server certificate for `sans` (DNS names or IP addresses; the
    /// first is also the common name), valid a year from now.
    pub fn issue_server(&self, sans: &[&str]) -> Result<Issued, PkiError> {
        let names: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let subject = names.first().cloned().unwrap_or_default();
        let mut params = CertificateParams::new(names)?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = Instant::from_unix_secs(OffsetDateTime::now_utc().unix_timestamp());
        self.issue(params, &subject, Validity::days_from(now, 365))
    }

    /// A client certificate with common name `subject`. Pass
    /// [`Validity::expired_at`] for an expired one.
    pub fn issue_client(&self, subject: &str, validity: Validity) -> Result<Issued, PkiError> {
        let mut params = CertificateParams::default();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params, subject, validity)
    }

    fn issue(
        &self,
        mut params: CertificateParams,
        subject: &str,
        validity: Validity,
    ) -> Result<Issued, PkiError> {
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, subject);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        validity.apply(&mut params)?;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?.der().clone();
        Ok(Issued {
            subject: subject.to_string(),
            cert,
            key,
            ca: self.cert.clone(),
        })
    }
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").field("name", &self.name).finish()
    }
}

/// A certificate issued by a [`Ca`], with its private key and the CA
/// certificate that completes its chain, in PEM, DER, PKCS#12 or JKS.
pub struct Issued {
    pub(super) subject: String,
    pub(super) cert: CertificateDer<'static>,
    pub(super) key: KeyPair,
    pub(super) ca: CertificateDer<'static>,
}

impl Issued {
    /// The common name it was issued to.
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("subject", &self.subject)
            .field("key", &"[redacted]")
            .finish()
    }
}
