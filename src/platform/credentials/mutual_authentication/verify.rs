//! The TLS connection a Mutual Authentication credential makes, and why
//! one failed, in words a person can act on.
//!
//! The server's certificate is checked against the credential's trust
//! certificates only (never the system's roots): it is trusted when it
//! *is* one of them (a pinned, typically self-signed, server certificate:
//! an exact match of the DER) or when it chains to one of them (RFC 5280
//! path validation by rustls-webpki), and in both cases when it is in date
//! on the shared clock and names the URL's host (RFC 6125, subjectAltName).
//! The key certificate and its chain are presented as the client
//! certificate whatever CA names the server hints at, and only the
//! credential's TLS versions are offered.
//!
//! A refusal of the server's certificate carries a [`Refusal`] (a stable
//! code and a sentence naming both certificates); [`explain`] finds it, or
//! the TLS alert the server sent, in the error chain of a failed call.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::ParsedCertificate;
use rustls::sign::CertifiedKey;
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, OtherError,
    RootCertStore, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::keystore::{self, CertificateFacts};
use super::{Material, TlsVersion, date};
use crate::clock::{Clock, Instant};

/// Why the server's certificate was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// `server_not_trusted`, `host_name_mismatch`,
    /// `server_certificate_expired`, `server_certificate_not_yet_valid`,
    /// `server_certificate_wrong_purpose`, `server_certificate_invalid`.
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Refusal {}

fn refuse(code: &'static str, message: String) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Refusal {
        code,
        message,
    }))))
}

/// The credential's judgement of server certificates.
#[derive(Debug)]
pub struct ServerVerifier {
    /// The trust certificates as uploaded: an exact match is trusted.
    pinned: Vec<CertificateDer<'static>>,
    /// The same as path-validation anchors (`None` when none can be one).
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// "the trust certificate (CN=...; CN=...)", for messages.
    trusted: String,
    provider: Arc<CryptoProvider>,
}

impl ServerVerifier {
    /// A verifier trusting `anchors`; `uploaded` says whether they came
    /// from the trust certificate (or from the key store).
    pub fn new(
        anchors: &[CertificateDer<'static>],
        uploaded: bool,
        provider: Arc<CryptoProvider>,
    ) -> Self {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(anchors.iter().cloned());
        let webpki = (!roots.is_empty())
            .then(|| {
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .ok()
            })
            .flatten();
        let names = anchors
            .iter()
            .map(|c| {
                keystore::facts(c)
                    .map(|f| f.subject)
                    .unwrap_or_else(|_| "?".into())
            })
            .collect::<Vec<_>>()
            .join("; ");
        let trusted = if uploaded {
            format!("the trust certificate ({names})")
        } else {
            format!("the key store's trusted certificates ({names})")
        };
        Self {
            pinned: anchors.to_vec(),
            webpki,
            trusted,
            provider,
        }
    }

    fn pinned_check(
        &self,
        end_entity: &CertificateDer<'_>,
        facts: &CertificateFacts,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let now = Instant::UNIX_EPOCH + Duration::from_secs(now.as_secs());
        if now > facts.not_after {
            return Err(refuse(
                "server_certificate_expired",
                format!(
                    "the server's certificate {} (pinned in {}) expired on {}: the external system must renew it, and the credential trust the new one",
                    facts.subject,
                    self.trusted,
                    date(facts.not_after)
                ),
            ));
        }
        if now < facts.not_before {
            return Err(refuse(
                "server_certificate_not_yet_valid",
                format!(
                    "the server's certificate {} is valid only from {}",
                    facts.subject,
                    date(facts.not_before)
                ),
            ));
        }
        let parsed = ParsedCertificate::try_from(end_entity).map_err(|e| {
            refuse(
                "server_certificate_invalid",
                format!(
                    "the server's certificate {} is pinned, but its names cannot be read to check them against {} ({e}); an X.509 version 1 certificate carries no subjectAltName: the server needs a version 3 certificate naming its host",
                    facts.subject,
                    host(server_name)
                ),
            )
        })?;
        rustls::client::verify_server_name(&parsed, server_name)
            .map_err(|e| self.explain_webpki(e, facts, server_name))
    }

    /// Map a rustls-webpki refusal to a [`Refusal`].
    fn explain_webpki(
        &self,
        e: rustls::Error,
        facts: &CertificateFacts,
        server_name: &ServerName<'_>,
    ) -> rustls::Error {
        let subject = &facts.subject;
        let rustls::Error::InvalidCertificate(cert_error) = &e else {
            return e;
        };
        match cert_error {
            CertificateError::UnknownIssuer
            | CertificateError::BadSignature
            | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
            | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => refuse(
                "server_not_trusted",
                format!(
                    "the server's certificate {subject} (issued by {}) is not trusted by {}: upload as trust certificate the external system's own certificate, or the CA that issued it",
                    facts.issuer, self.trusted
                ),
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                let presented = match cert_error {
                    CertificateError::NotValidForNameContext { presented, .. }
                        if !presented.is_empty() =>
                    {
                        format!("it names {}", presented.join(", "))
                    }
                    _ => "it names no host".to_string(),
                };
                refuse(
                    "host_name_mismatch",
                    format!(
                        "the server's certificate {subject} is not valid for the host {} ({presented}): call the external system by a name its certificate holds",
                        host(server_name)
                    ),
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => refuse(
                "server_certificate_expired",
                format!(
                    "the server's certificate {subject} expired on {}: the external system must renew it",
                    date(facts.not_after)
                ),
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => refuse(
                "server_certificate_not_yet_valid",
                format!(
                    "the server's certificate {subject} is valid only from {}",
                    date(facts.not_before)
                ),
            ),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                refuse(
                    "server_certificate_wrong_purpose",
                    format!(
                        "the server's certificate {subject} is not for TLS servers (its extended key usage lacks serverAuth)"
                    ),
                )
            }
            CertificateError::Other(other)
                if format!("{other:?}").contains("CaUsedAsEndEntity") =>
            {
                refuse(
                    "server_certificate_invalid",
                    format!(
                        "the server's certificate {subject} is a CA certificate (basicConstraints CA:TRUE) used as a server certificate, which path validation refuses (RFC 5280 4.2.1.9): upload the server's certificate itself as the trust certificate (pinned), or have the server use a certificate its CA issued"
                    ),
                )
            }
            other => refuse(
                "server_certificate_invalid",
                format!("the server's certificate {subject} is refused: {other:?}"),
            ),
        }
    }
}

fn host(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let facts = keystore::facts(end_entity).map_err(|detail| {
            refuse(
                "server_certificate_invalid",
                format!("the server's certificate cannot be read: {detail}"),
            )
        })?;
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            self.pinned_check(end_entity, &facts, server_name, now)?;
            return Ok(ServerCertVerified::assertion());
        }
        if facts.subject == facts.issuer && intermediates.is_empty() {
            return Err(refuse(
                "server_not_trusted",
                format!(
                    "the server presents a self-signed certificate {} (SHA-256 {}) that is not {}: upload the server's own certificate as the trust certificate",
                    facts.subject,
                    facts.sha256_fingerprint,
                    self.trusted.replacen("the ", "among the ", 1)
                ),
            ));
        }
        let Some(webpki) = &self.webpki else {
            return Err(self.explain_webpki(
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
                &facts,
                server_name,
            ));
        };
        webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| self.explain_webpki(e, &facts, server_name))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Presents the key certificate whatever the server hints at: the brand
/// may trust a self-signed certificate whose issuer is in no hint.
#[derive(Debug)]
struct Identity(Arc<CertifiedKey>);

impl ResolvesClientCert for Identity {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The rustls client configuration for `material`: the key certificate
/// and its chain as the client certificate, the trust certificates as the
/// only trust, `versions` only, certificate validity on `clock`, ALPN
/// `alpn`.
pub fn client_config(
    material: &Material,
    versions: &[TlsVersion],
    clock: &Clock,
    alpn: &[&[u8]],
) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = provider
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(material.key.clone_key()))
        .map_err(|e| format!("the private key cannot sign TLS handshakes ({e})"))?;
    let identity = Identity(Arc::new(CertifiedKey::new(material.chain.clone(), key)));
    let verifier = ServerVerifier::new(
        &material.anchors,
        material.uploaded_anchors,
        provider.clone(),
    );
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = versions
        .iter()
        .map(|v| match v {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        })
        .collect();
    let mut config = ClientConfig::builder_with_details(provider, Arc::new(clock.clone()))
        .with_protocol_versions(&versions)
        .map_err(|e| format!("the TLS versions cannot be offered ({e})"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_cert_resolver(Arc::new(identity));
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// What a failed connection's error chain says, for a person: the
/// [`Refusal`] of the server's certificate, or the TLS alert the server
/// sent, or a local TLS failure. `None` when no TLS error is in the chain
/// (the server was not reached at all, say).
///
/// `after_handshake`: the handshake had completed. Under TLS 1.3 a server
/// judges the client certificate after the handshake and closes the
/// connection; when the client's request hits the closed socket before it
/// reads the alert, all that is left is a broken pipe, a reset or a
/// connection closed before the response, which is then reported as
/// `connection_closed` (most likely a refusal, not certainly; the caller
/// leaves timeouts out).
pub fn explain(
    error: &(dyn StdError + 'static),
    client_subject: &str,
    versions: &[TlsVersion],
    after_handshake: bool,
) -> Option<Refusal> {
    if let Some(tls) = tls_error(error) {
        return Some(describe(&tls, client_subject, versions));
    }
    // Whatever the transport made of it (a broken pipe, a reset, a
    // connection closed before the response, an HTTP/2 GOAWAY), the
    // connection died between the handshake and the answer.
    let closed = after_handshake;
    closed.then(|| Refusal {
        code: "connection_closed",
        message: format!(
            "the server closed the connection right after the TLS handshake, before answering: it most likely refused the client certificate {client_subject} (under TLS 1.3 a server judges it after the handshake); the external system must trust it, by registering this certificate or trusting the CA that issued it"
        ),
    })
}

/// The rustls error in an error chain. `io::Error` hides the error it
/// wraps from `source()`, so it is opened with `get_ref`. HTTP/2 keeps
/// only the text of an I/O error (h2 errors are `Clone`): an alert the
/// server sent after the handshake is read back from that text.
fn tls_error(error: &(dyn StdError + 'static)) -> Option<rustls::Error> {
    let mut next: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.clone());
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(tls) = io.get_ref().and_then(|inner| tls_error(inner)) {
                return Some(tls);
            }
            if let Some(alert) = alert_in_text(&io.to_string()) {
                return Some(rustls::Error::AlertReceived(alert));
            }
        }
        next = e.source();
    }
    None
}

/// The alert in rustls's "received fatal alert: UnknownCA".
fn alert_in_text(text: &str) -> Option<AlertDescription> {
    let name = text.split("received fatal alert: ").nth(1)?.trim();
    (0..=u8::MAX)
        .map(AlertDescription::from)
        .find(|a| format!("{a:?}") == name)
}

/// `TLSv1.2 and TLSv1.3`.
pub fn version_names(versions: &[TlsVersion]) -> String {
    versions
        .iter()
        .map(|v| match v {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// A rustls error, for a person.
pub fn describe(error: &rustls::Error, client_subject: &str, versions: &[TlsVersion]) -> Refusal {
    use rustls::Error as E;
    match error {
        E::InvalidCertificate(CertificateError::Other(other)) => {
            if let Some(refusal) = other.0.downcast_ref::<Refusal>() {
                return refusal.clone();
            }
            Refusal {
                code: "server_certificate_invalid",
                message: format!("the server's certificate is refused: {error}"),
            }
        }
        E::AlertReceived(
            alert @ (AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA
            | AlertDescription::AccessDenied
            | AlertDescription::DecryptError),
        ) => Refusal {
            code: "client_certificate_refused",
            message: format!(
                "the server refused the client certificate {client_subject} (TLS alert {}): the external system must trust it, by registering this certificate or trusting the CA that issued it",
                alert_name(*alert)
            ),
        },
        E::AlertReceived(AlertDescription::ProtocolVersion) | E::PeerIncompatible(_) => Refusal {
            code: "no_common_tls_version",
            message: format!(
                "the server and the credential have no TLS version in common: the credential allows {} ({error}); allow the version the server speaks",
                version_names(versions)
            ),
        },
        E::AlertReceived(AlertDescription::HandshakeFailure) => Refusal {
            code: "handshake_failed",
            message: format!(
                "the server ended the TLS handshake (handshake_failure): it shares no TLS version ({} allowed) or cipher suite with the credential",
                version_names(versions)
            ),
        },
        E::InvalidCertificate(e) => Refusal {
            code: "server_certificate_invalid",
            message: format!("the server's certificate is refused: {e:?}"),
        },
        other => Refusal {
            code: "handshake_failed",
            message: format!("the TLS handshake failed: {other}"),
        },
    }
}

fn alert_name(alert: AlertDescription) -> String {
    // `CertificateRequired` -> `certificate_required`, as RFC 8446 6 names it.
    let mut out = String::new();
    for (i, c) in format!("{alert:?}").chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out.replace("unknown_c_a", "unknown_ca")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_are_named_as_the_rfc_names_them() {
        assert_eq!(
            alert_name(AlertDescription::CertificateRequired),
            "certificate_required"
        );
        assert_eq!(alert_name(AlertDescription::UnknownCA), "unknown_ca");
        assert_eq!(
            alert_name(AlertDescription::BadCertificate),
            "bad_certificate"
        );
    }

    #[test]
    fn refusals_are_found_through_io_errors() {
        let d = TlsVersion::DEFAULT;
        let refusal = refuse("server_not_trusted", "not trusted".into());
        let io = std::io::Error::other(refusal);
        let found = explain(&io, "CN=me", d, false).unwrap();
        assert_eq!(found.code, "server_not_trusted");
        assert_eq!(found.message, "not trusted");
        let alert = std::io::Error::other(rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired,
        ));
        let found = explain(&alert, "CN=me", d, false).unwrap();
        assert_eq!(found.code, "client_certificate_refused");
        assert!(found.message.contains("CN=me"), "{}", found.message);
        assert!(explain(&std::io::Error::other("plain"), "CN=me", d, false).is_none());
        // As HTTP/2 hands it back: text only.
        let text = std::io::Error::other("received fatal alert: UnknownCA");
        let found = explain(&text, "CN=me", d, false).unwrap();
        assert_eq!(found.code, "client_certificate_refused");
        assert!(found.message.contains("unknown_ca"), "{}", found.message);
        // A broken pipe after the handshake, and only then.
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let found = explain(&pipe, "CN=me", d, true).unwrap();
        assert_eq!(found.code, "connection_closed");
        assert!(
            found
                .message
                .contains("refused the client certificate CN=me")
        );
        assert!(explain(&pipe, "CN=me", d, false).is_none());
    }

    fn fixture_cert(name: &str) -> CertificateDer<'static> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/mtls")
            .join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        keystore::pem_certificates(&text).unwrap().remove(0)
    }

    fn at(t: Instant) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(t.unix_secs() as u64))
    }

    fn judge(anchors: &[&str], presented: &str, host: &str, now: Instant) -> Result<(), Refusal> {
        let anchors: Vec<_> = anchors.iter().map(|a| fixture_cert(a)).collect();
        let verifier = ServerVerifier::new(
            &anchors,
            true,
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        );
        let name = ServerName::try_from(host.to_string()).unwrap();
        verifier
            .verify_server_cert(&fixture_cert(presented), &[], &name, &[], at(now))
            .map(|_| ())
            .map_err(|e| describe(&e, "CN=me", TlsVersion::DEFAULT))
    }

    #[test]
    fn a_pinned_server_certificate_is_trusted_for_its_names_while_in_date() {
        let facts = keystore::facts(&fixture_cert("brand-server.pem")).unwrap();
        let now = facts.not_before + Duration::from_secs(86_400);
        assert_eq!(
            judge(&["brand-server.pem"], "brand-server.pem", "localhost", now),
            Ok(())
        );
        assert_eq!(
            judge(&["brand-server.pem"], "brand-server.pem", "127.0.0.1", now),
            Ok(())
        );
        let wrong_host = judge(
            &["brand-server.pem"],
            "brand-server.pem",
            "api.example.com",
            now,
        )
        .unwrap_err();
        assert_eq!(wrong_host.code, "host_name_mismatch");
        assert!(
            wrong_host.message.contains("api.example.com")
                && wrong_host.message.contains("localhost"),
            "{}",
            wrong_host.message
        );
        let expired = judge(
            &["brand-server.pem"],
            "brand-server.pem",
            "localhost",
            facts.not_after + Duration::from_secs(1),
        )
        .unwrap_err();
        assert_eq!(expired.code, "server_certificate_expired");
        let other = judge(&["brand-server.pem"], "other-server.pem", "localhost", now).unwrap_err();
        assert_eq!(other.code, "server_not_trusted");
        assert!(
            other.message.contains("CN=other-api.example")
                && other.message.contains("CN=brand-api.example"),
            "{}",
            other.message
        );
    }

    #[test]
    fn a_ca_that_issued_nothing_presented_is_no_trust() {
        let facts = keystore::facts(&fixture_cert("brand-server.pem")).unwrap();
        let refusal = judge(
            &["chain-root.pem"],
            "brand-server.pem",
            "localhost",
            facts.not_before + Duration::from_secs(60),
        )
        .unwrap_err();
        assert_eq!(refusal.code, "server_not_trusted");
    }
}
