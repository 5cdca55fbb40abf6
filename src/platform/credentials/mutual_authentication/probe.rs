//! The connection test of a Mutual Authentication credential:
//! `POST /api/orgs/{org}/credentials/{name}/test {"url": "https://..."}`
//! makes the TLS handshake an integration call would make, then sends one
//! `GET` request (reading only the status line and headers), and answers
//! what happened.
//!
//! `200 {"connected": true, "tls_version", "cipher_suite",
//! "server_certificate": {subject, issuer, not_after, sha256_fingerprint,
//! trusted_as}, "client_certificate": {subject}, "http_status"}` when the
//! server accepted the connection (`http_error` instead of `http_status`
//! when it then said nothing over HTTP); `200 {"connected": false,
//! "error": {stage, code, message}}` when not, with the reason a person can
//! act on: the server's certificate is not trusted by the trust
//! certificate (naming both), the host name does not match, the server
//! refused our client certificate, no common TLS version, the server is
//! unreachable. A body that is not `{"url": "https://..."}`, or a
//! credential of another type, is a 400.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rustls_pki_types::ServerName;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use url::Url;

use super::keystore;
use super::verify::{self, Refusal};
use super::{Material, MutualAuth, date};
use crate::clock::Clock;
use crate::platform::PlatformState;
use crate::platform::credentials::Kind;
use crate::platform::credentials::http::authorised_credential;

/// The server certificate a successful test met.
#[derive(Debug, Serialize)]
pub struct ServerCertificate {
    pub subject: String,
    pub issuer: String,
    pub not_after: String,
    pub sha256_fingerprint: String,
    /// `pinned` (it is one of the trust certificates) or `chain` (a trust
    /// certificate issued it, directly or through intermediates).
    pub trusted_as: &'static str,
}

/// Why a test did not connect.
#[derive(Debug, Serialize)]
pub struct Failure {
    /// `tcp`, `tls` or `http`.
    pub stage: &'static str,
    pub code: &'static str,
    pub message: String,
}

/// What the connection test found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub connected: bool,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_certificate: Option<ServerCertificate>,
    pub client_certificate: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Connected, but the server gave no HTTP answer to a `GET`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    url: String,
}

fn bad_request(code: &str, description: impl Into<String>) -> Response {
    crate::platform::web::error(StatusCode::BAD_REQUEST, code, description)
}

/// The URL to test: absolute `https`, with a host, at most 2,000 bytes.
#[allow(clippy::result_large_err)]
fn parse(body: &[u8]) -> Result<Url, Response> {
    let usage = "send {\"url\": \"https://host[:port]/path\"}, the external system's address";
    let body: Body = serde_json::from_slice(body).map_err(|_| {
        bad_request(
            "invalid_request",
            format!("the body is not JSON of this form: {usage}"),
        )
    })?;
    if body.url.len() > 2000 {
        return Err(bad_request(
            "invalid_request",
            "url is longer than 2,000 bytes",
        ));
    }
    let url = Url::parse(&body.url).map_err(|e| {
        bad_request(
            "invalid_request",
            format!("url is not an absolute URL ({e}): {usage}"),
        )
    })?;
    if url.scheme() != "https" {
        return Err(bad_request(
            "invalid_request",
            format!(
                "url must be https: mutual TLS is TLS (the URL given is {})",
                url.scheme()
            ),
        ));
    }
    if url.host().is_none() {
        return Err(bad_request("invalid_request", "url has no host"));
    }
    Ok(url)
}

/// `POST /api/orgs/{org}/credentials/{name}/test`.
pub async fn handler(
    State(state): State<PlatformState>,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (_, credential) = match authorised_credential(&state, &org, &name, &headers) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Kind::MutualAuthentication(saved) = credential.kind else {
        return bad_request(
            "wrong_type",
            format!(
                "credential {name:?} is a {} credential; the connection test is for Mutual Authentication credentials",
                credential.kind.type_name()
            ),
        );
    };
    let url = match parse(&body) {
        Ok(url) => url,
        Err(r) => return r,
    };
    // Opening a key store costs key derivations: off the async workers.
    let opened = tokio::task::spawn_blocking(move || saved.material().map(|m| (saved, m))).await;
    let (saved, material) = match opened {
        Ok(Ok(opened)) => opened,
        Ok(Err(e)) => {
            return crate::platform::web::error(
                StatusCode::CONFLICT,
                "unusable_credential",
                format!("credential {name:?} no longer opens: {e}; save it again"),
            );
        }
        Err(_) => {
            return crate::platform::web::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the key store could not be opened; try again",
            );
        }
    };
    let report = probe(
        &saved,
        &material,
        &url,
        &state.clock,
        state.options.http_timeout,
    )
    .await;
    Json(report).into_response()
}

/// Connect to `url` with the credential and say what happened.
pub async fn probe(
    saved: &MutualAuth,
    material: &Material,
    url: &Url,
    clock: &Clock,
    timeout: Duration,
) -> Report {
    let mut report = Report {
        url: url.to_string(),
        client_certificate: serde_json::json!({
            "subject": saved.key_certificate.facts.subject,
            "not_after": date(saved.key_certificate.facts.not_after),
        }),
        ..Report::default()
    };
    if let Err((stage, refusal)) = connect(saved, material, url, clock, timeout, &mut report).await
    {
        report.connected = false;
        report.error = Some(Failure {
            stage,
            code: refusal.code,
            message: refusal.message,
        });
    }
    report
}

/// A failure, with the stage it happened at.
type Stopped = (&'static str, Refusal);

fn stopped(stage: &'static str, code: &'static str, message: String) -> Stopped {
    (stage, Refusal { code, message })
}

/// The handshake, then one `GET`; fills `report` as it goes.
async fn connect(
    saved: &MutualAuth,
    material: &Material,
    url: &Url,
    clock: &Clock,
    timeout: Duration,
    report: &mut Report,
) -> Result<(), Stopped> {
    let client_subject = &saved.key_certificate.facts.subject;
    let versions = &saved.tls_versions;
    let (host, server_name) = match url.host() {
        Some(url::Host::Domain(d)) => (
            d.to_string(),
            ServerName::try_from(d.to_string()).map_err(|e| e.to_string()),
        ),
        Some(url::Host::Ipv4(ip)) => (ip.to_string(), Ok(ServerName::from(IpAddr::V4(ip)))),
        Some(url::Host::Ipv6(ip)) => (ip.to_string(), Ok(ServerName::from(IpAddr::V6(ip)))),
        None => (String::new(), Err("no host".to_string())),
    };
    let server_name = server_name.map_err(|e| {
        stopped(
            "tcp",
            "invalid_host",
            format!("{host:?} is not a host name TLS can check ({e})"),
        )
    })?;
    let port = url.port_or_known_default().unwrap_or(443);
    let late = |what: &str| {
        format!(
            "no {what} with {host}:{port} within {} s",
            timeout.as_secs()
        )
    };
    let config = verify::client_config(material, versions, clock, &[b"http/1.1"])
        .map_err(|e| stopped("tls", "unusable_credential", e))?;
    let tcp = tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| stopped("tcp", "timeout", late("TCP connection")))?
        .map_err(|e| {
            stopped(
                "tcp",
                "unreachable",
                format!(
                    "could not connect to {host}:{port} ({e}): check the URL and that the external system is listening"
                ),
            )
        })?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut tls = tokio::time::timeout(timeout, connector.connect(server_name, tcp))
        .await
        .map_err(|_| stopped("tls", "timeout", late("TLS handshake")))?
        .map_err(|e| {
            let refusal = verify::explain(&e, client_subject, versions, false).unwrap_or(Refusal {
                code: "handshake_failed",
                message: format!(
                    "the TLS handshake with {host}:{port} failed ({e}): is it a TLS port?"
                ),
            });
            ("tls", refusal)
        })?;
    {
        let conn = tls.get_ref().1;
        report.tls_version = conn.protocol_version().map(|v| match v {
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
            other => format!("{other:?}"),
        });
        report.cipher_suite = conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()));
        report.server_certificate =
            conn.peer_certificates()
                .and_then(|c| c.first())
                .and_then(|leaf| {
                    let facts = keystore::facts(leaf).ok()?;
                    let pinned = material.anchors.iter().any(|a| a.as_ref() == leaf.as_ref());
                    Some(ServerCertificate {
                        subject: facts.subject,
                        issuer: facts.issuer,
                        not_after: date(facts.not_after),
                        sha256_fingerprint: facts.sha256_fingerprint,
                        trusted_as: if pinned { "pinned" } else { "chain" },
                    })
                });
    }
    // Under TLS 1.3 the server judges the client certificate after the
    // handshake: its refusal arrives with the first read. `GET`, which
    // every HTTP server answers (not every one answers `HEAD`); only the
    // status line and headers are read.
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let authority = &url[url::Position::BeforeHost..url::Position::AfterPort];
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: standin-connection-test\r\nConnection: close\r\n\r\n"
    );
    let exchange = async {
        tls.write_all(request.as_bytes()).await?;
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            let n = tls.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok::<_, std::io::Error>(head)
    };
    let closed = |detail: String| Refusal {
        code: "connection_closed",
        message: format!(
            "the server closed the connection after the handshake without answering{detail}: it may have refused the client certificate {client_subject}"
        ),
    };
    let head = match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(head)) if head.is_empty() => return Err(("tls", closed(String::new()))),
        Ok(Ok(head)) => head,
        Ok(Err(e)) => {
            let refusal = verify::explain(&e, client_subject, versions, true)
                .unwrap_or_else(|| closed(format!(" ({e})")));
            return Err(("tls", refusal));
        }
        // The handshake held and nothing refused the client certificate:
        // connected, though the server said nothing over HTTP.
        Err(_) => {
            report.connected = true;
            report.http_error = Some(late("HTTP answer"));
            return Ok(());
        }
    };
    report.connected = true;
    let status = std::str::from_utf8(&head)
        .ok()
        .and_then(|h| h.lines().next())
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse::<u16>().ok());
    match status {
        Some(status) => report.http_status = Some(status),
        None => report.http_error = Some("the server's answer is not HTTP".into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_https_urls_are_tested() {
        assert!(parse(br#"{"url": "https://127.0.0.1:8443/mtls/orders"}"#).is_ok());
        for bad in [
            &br#"{"url": "http://127.0.0.1/"}"#[..],
            br#"{"url": "/relative"}"#,
            br#"{"url": 5}"#,
            br#"{"uri": "https://x"}"#,
            b"not json",
        ] {
            let r = parse(bad).unwrap_err();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bodies_get_a_400_or_an_https_url(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            match parse(&body) {
                Ok(url) => proptest::prop_assert_eq!(url.scheme(), "https"),
                Err(r) => proptest::prop_assert_eq!(r.status(), StatusCode::BAD_REQUEST),
            }
        }

        #[test]
        fn arbitrary_urls_get_a_400_or_an_https_url(url in "\\PC{0,80}") {
            let body = serde_json::json!({ "url": url }).to_string();
            match parse(body.as_bytes()) {
                Ok(parsed) => proptest::prop_assert!(parsed.scheme() == "https" && parsed.host().is_some()),
                Err(r) => proptest::prop_assert_eq!(r.status(), StatusCode::BAD_REQUEST),
            }
        }
    }
}
