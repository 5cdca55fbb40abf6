//! `GET /mtls/orders`: a caller authenticated by its TLS client certificate
//! alone, as a brand API behind mutual TLS is.
//!
//! The API's TLS listener requires a certificate that chains to its CA, or
//! one registered by itself (pinned: `[[pinned_client_certificates]]` in
//! the fixtures, or `POST /admin/client-certificates`, as a brand imports a
//! partner's self-signed certificate into its trust store), not expired on
//! the shared clock ([`crate::tls`]); the handshake fails otherwise, before
//! any HTTP. This route then maps a pinned certificate to the consumer it
//! was registered for, and any other by its common name through the
//! fixtures' `[[client_certificates]]`, and answers `{"client_certificate": {"subject", "common_name",
//! "x5t#S256"}, "sub", "orders": [...]}`.
//!
//! Refusals are 403 JSON: `certificate_required` when the request came
//! without a certificate (over plain HTTP), `access_denied` for a
//! certificate whose common name the fixtures do not list.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::json_error;
use super::state::BrandApiState;
use crate::tls::PeerCertificates;

/// A client certificate subject this API knows (`[[client_certificates]]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateSubject {
    /// The certificate's subject common name.
    pub common_name: String,
    /// The consumer whose orders it reads.
    pub sub: String,
}

impl CertificateSubject {
    pub fn validate(&self) -> Result<(), String> {
        if self.common_name.trim().is_empty() {
            return Err("common_name: must not be empty".into());
        }
        if self.sub.trim().is_empty() {
            return Err("sub: must not be empty".into());
        }
        Ok(())
    }
}

/// A client certificate trusted by itself (`[[pinned_client_certificates]]`,
/// `POST /admin/client-certificates`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedClient {
    /// The certificate, PEM (`-----BEGIN CERTIFICATE-----`).
    pub certificate: String,
    /// The consumer whose orders it reads.
    pub sub: String,
}

impl PinnedClient {
    /// The certificate's DER, if the PEM holds exactly one X.509
    /// certificate; else why not.
    pub fn der(&self) -> Result<rustls_pki_types::CertificateDer<'static>, String> {
        use rustls_pki_types::pem::PemObject as _;
        let certs = rustls_pki_types::CertificateDer::pem_slice_iter(self.certificate.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("certificate: not PEM ({e})"))?;
        let [cert] = <[_; 1]>::try_from(certs).map_err(|certs: Vec<_>| {
            format!(
                "certificate: give exactly one PEM CERTIFICATE block (found {})",
                certs.len()
            )
        })?;
        crate::tls::subject_dn(&cert).map_err(|e| format!("certificate: {e}"))?;
        Ok(cert)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.sub.trim().is_empty() {
            return Err("sub: must not be empty".into());
        }
        self.der().map(|_| ())
    }
}

/// `GET /mtls/orders`.
pub async fn orders(
    State(state): State<BrandApiState>,
    peer: Option<Extension<PeerCertificates>>,
) -> Response {
    let Some(cert) = peer.as_ref().and_then(|Extension(p)| p.end_entity()) else {
        return json_error(
            StatusCode::FORBIDDEN,
            "certificate_required",
            "this route needs mutual TLS: call it on the API's TLS listener with a client certificate",
        );
    };
    let subject = crate::tls::subject_dn(cert).unwrap_or_default();
    let common_name = crate::tls::common_name(cert);
    let mapped = state.pinned_clients().label(cert).or_else(|| {
        common_name.as_deref().and_then(|cn| {
            state
                .fixtures()
                .client_certificates
                .iter()
                .find(|c| c.common_name == cn)
                .map(|c| c.sub.clone())
        })
    });
    let Some(sub) = mapped else {
        return json_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            &format!("the client certificate {subject} is not mapped to a consumer of this API"),
        );
    };
    let certificate = json!({
        "subject": subject,
        "common_name": common_name,
        "x5t#S256": crate::tls::x5t_s256(cert),
    });
    super::orders::of_caller(&state, [("client_certificate", certificate)], sub)
}
