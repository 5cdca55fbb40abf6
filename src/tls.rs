//! Serving a party's router over TLS, and what a party reads from a client
//! certificate.
//!
//! rustls with aws-lc-rs, TLS 1.2 and 1.3 only (rustls has nothing older),
//! ALPN `h2` and `http/1.1`. Client certificates are [`ClientAuth::Required`]
//! (the handshake fails without one that chains to the configured CA),
//! [`ClientAuth::Optional`] (anonymous clients pass, a presented certificate
//! must still chain to the CA) or not asked for. Whether a client
//! certificate has expired is judged on the shared [`Clock`], so a test can
//! move past a certificate's `notAfter` without waiting.
//!
//! The peer's certificate chain reaches handlers as the [`PeerCertificates`]
//! request extension, present on every request that came over TLS (empty
//! when the client sent none) and absent on plain HTTP. As with
//! [`crate::server::Server`], the listener is bound first (port 0 works and
//! the address is known before anything is served) and the server stops
//! when its [`TlsServer`] handle is dropped.
//!
//! Besides the CA, a listener may trust client certificates one by one
//! ([`PinnedCertificates`]): an exact match of the presented certificate,
//! in date on the shared clock, passes without any chain, as a brand
//! imports a partner's self-signed certificate into its trust store.
//!
//! From a certificate: its subject DN as an RFC 4514 string
//! ([`subject_dn`]), its common name, its `x5t#S256` thumbprint (RFC 8705
//! 3.1, [`x5t_s256`]), and the DN comparison of RFC 8705 2.1.2
//! ([`SubjectDn::matches`]).

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::str::FromStr as _;
use std::sync::{Arc, Once, RwLock};
use std::time::Duration;

use axum::{Extension, Router};
use axum_server::accept::Accept;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use base64::Engine as _;
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig,
    SignatureScheme,
};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use sha2::Digest as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tower::Layer as _;
use x509_cert::der::Decode as _;

use crate::clock::Clock;
use crate::pki::{Ca, Issued, PkiError, SERVER_SANS};

/// How long a dropped server lets open requests finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Whether a TLS listener asks clients for a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// Not asked for; [`PeerCertificates`] is always empty.
    None,
    /// Asked for: a client without one is served, a certificate that does
    /// not chain to the CA (or has expired) fails the handshake.
    Optional,
    /// Required: the handshake fails without a certificate that chains to
    /// the CA.
    Required,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{what}: {message}")]
    Pem { what: String, message: String },
    #[error("issuing the certificates: {0}")]
    Pki(#[from] PkiError),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// What a TLS listener needs: where to listen, its certificate chain and
/// key, and the CAs whose client certificates it accepts.
#[derive(Clone)]
pub struct TlsSettings {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The server's certificate first, then its issuers.
    pub cert_chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
    /// Trust anchors for client certificates.
    pub client_cas: Vec<CertificateDer<'static>>,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("addr", &self.addr)
            .field("cert_chain", &self.cert_chain.len())
            .field("key", &"[redacted]")
            .field("client_cas", &self.client_cas.len())
            .finish()
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn pem_error(what: &str, message: impl fmt::Display) -> TlsError {
    TlsError::Pem {
        what: what.to_string(),
        message: message.to_string(),
    }
}

fn certs_from_pem(what: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(what, e))?;
    if certs.is_empty() {
        return Err(pem_error(what, "no CERTIFICATE block"));
    }
    Ok(certs)
}

impl TlsSettings {
    /// A listener on 127.0.0.1 (free port) presenting `server` (with its
    /// chain) and trusting client certificates issued by `client_ca`.
    pub fn new(server: &Issued, client_ca: &Ca) -> Result<Self, TlsError> {
        Ok(Self {
            addr: loopback(),
            cert_chain: certs_from_pem("server certificate", server.chain_pem().as_bytes())?,
            key: Arc::new(PrivateKeyDer::Pkcs8(server.key_der())),
            client_cas: vec![client_ca.cert_der().clone()],
        })
    }

    /// From PEM: the server chain (certificate first), its private key
    /// (PKCS#8, PKCS#1 or SEC1) and the client CA certificate(s).
    pub fn from_pem(chain: &[u8], key: &[u8], client_cas: &[u8]) -> Result<Self, TlsError> {
        Ok(Self {
            addr: loopback(),
            cert_chain: certs_from_pem("server certificate", chain)?,
            key: Arc::new(
                PrivateKeyDer::from_pem_slice(key).map_err(|e| pem_error("server key", e))?,
            ),
            client_cas: certs_from_pem("client CA", client_cas)?,
        })
    }

    /// From a directory `standin certs` wrote: `server.pem`,
    /// `server-key.pem` and `ca.pem` (the CA of the client certificates).
    pub fn from_dir(dir: &Path) -> Result<Self, TlsError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| TlsError::Io { path, source })
        };
        Self::from_pem(
            &read("server.pem")?,
            &read("server-key.pem")?,
            &read("ca.pem")?,
        )
    }

    /// A fresh CA named `ca_name` and a server certificate from it for
    /// localhost and 127.0.0.1; returns the CA too, to issue client
    /// certificates from.
    pub fn generate(ca_name: &str) -> Result<(Self, Ca), TlsError> {
        let ca = Ca::generate(ca_name)?;
        let server = ca.issue_server(SERVER_SANS)?;
        Ok((Self::new(&server, &ca)?, ca))
    }

    /// The same, listening on `addr`.
    pub fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The rustls configuration: TLS 1.2 and 1.3, ALPN h2 and http/1.1,
    /// client certificates as `auth` says, their validity judged on `clock`.
    pub fn server_config(
        &self,
        auth: ClientAuth,
        clock: &Clock,
    ) -> Result<Arc<ServerConfig>, TlsError> {
        self.server_config_pinned(auth, clock, None)
    }

    /// The same, also trusting the client certificates in `pinned`, one
    /// by one.
    pub fn server_config_pinned(
        &self,
        auth: ClientAuth,
        clock: &Clock,
        pinned: Option<&PinnedCertificates>,
    ) -> Result<Arc<ServerConfig>, TlsError> {
        install_crypto_provider();
        let provider = Arc::new(aws_lc_rs::default_provider());
        let builder = ServerConfig::builder_with_details(provider.clone(), Arc::new(clock.clone()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
        let builder = match auth {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::Optional | ClientAuth::Required => {
                let mut roots = RootCertStore::empty();
                for ca in &self.client_cas {
                    roots.add(ca.clone())?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let verifier = if auth == ClientAuth::Optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier.build()?;
                match pinned {
                    Some(pinned) => builder.with_client_cert_verifier(Arc::new(PinningVerifier {
                        pinned: pinned.clone(),
                        ca: verifier,
                    })),
                    None => builder.with_client_cert_verifier(verifier),
                }
            }
        };
        let mut config = builder.with_single_cert(self.cert_chain.clone(), self.key.clone_key())?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Install aws-lc-rs as the process's rustls provider, once. The servers
/// here name their provider explicitly; this is for code that asks rustls
/// for the default (with more than one backend in the tree, rustls cannot
/// pick one by itself).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another provider was installed first: that one stays.
        let _ = CryptoProvider::install_default(aws_lc_rs::default_provider());
    });
}

/// Client certificates trusted one by one, each with a label its owner
/// maps it to (the brand API: the consumer it reads for). Cloning shares
/// the list; a listener built with it sees later additions.
#[derive(Clone, Debug, Default)]
pub struct PinnedCertificates {
    inner: Arc<RwLock<Vec<(CertificateDer<'static>, String)>>>,
}

impl PinnedCertificates {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<(CertificateDer<'static>, String)>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<(CertificateDer<'static>, String)>> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Trust `cert`, labelled `label` (a certificate pinned again gets
    /// the new label).
    pub fn pin(&self, cert: CertificateDer<'static>, label: impl Into<String>) {
        let label = label.into();
        let mut pins = self.write();
        match pins.iter_mut().find(|(c, _)| *c == cert) {
            Some(entry) => entry.1 = label,
            None => pins.push((cert, label)),
        }
    }

    /// The label of `cert`, if it is pinned.
    pub fn label(&self, cert: &[u8]) -> Option<String> {
        self.read()
            .iter()
            .find(|(c, _)| c.as_ref() == cert)
            .map(|(_, l)| l.clone())
    }

    /// Every pinned certificate with its label.
    pub fn list(&self) -> Vec<(CertificateDer<'static>, String)> {
        self.read().clone()
    }

    /// Trust exactly these.
    pub fn replace(&self, pins: Vec<(CertificateDer<'static>, String)>) {
        *self.write() = pins;
    }
}

/// The CA's verifier, with pinned certificates passing by exact match.
#[derive(Debug)]
struct PinningVerifier {
    pinned: PinnedCertificates,
    ca: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for PinningVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.ca.client_auth_mandatory()
    }

    /// No hints: a client picks its certificate by the CA names a server
    /// hints at (Java does), and a pinned self-signed certificate's issuer
    /// is in no list. An empty list means "send whatever you have".
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self.pinned.label(end_entity).is_none() {
            return self.ca.verify_client_cert(end_entity, intermediates, now);
        }
        let cert = parse_cert(end_entity)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let validity = cert.tbs_certificate().validity();
        let now = now.as_secs();
        if now < validity.not_before.to_unix_duration().as_secs() {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidYet,
            ));
        }
        if now > validity.not_after.to_unix_duration().as_secs() {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
        }
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.ca.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.ca.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.ca.supported_verify_schemes()
    }
}

/// The certificate chain the client presented on this connection, its own
/// certificate first; empty when it presented none. Inserted into every
/// request served by a [`TlsServer`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerCertificates(pub Vec<CertificateDer<'static>>);

impl PeerCertificates {
    /// The client's own certificate.
    pub fn end_entity(&self) -> Option<&CertificateDer<'static>> {
        self.0.first()
    }

    /// `x5t#S256` of the client's certificate (RFC 8705 3.1).
    pub fn thumbprint(&self) -> Option<String> {
        self.end_entity().map(|c| x5t_s256(c))
    }

    /// Subject DN of the client's certificate, RFC 4514.
    pub fn subject(&self) -> Option<String> {
        self.end_entity().and_then(|c| subject_dn(c).ok())
    }

    /// Common name of the client's certificate.
    pub fn common_name(&self) -> Option<String> {
        self.end_entity().and_then(|c| common_name(c))
    }
}

/// The certificate thumbprint confirmation method of RFC 8705 3.1:
/// base64url (no padding) of the SHA-256 of the certificate's DER.
pub fn x5t_s256(cert_der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(cert_der))
}

fn parse_cert(cert_der: &[u8]) -> Result<x509_cert::Certificate, String> {
    x509_cert::Certificate::from_der(cert_der)
        .map_err(|e| format!("not a DER X.509 certificate: {e}"))
}

/// The subject DN of a certificate as an RFC 4514 string (`CN=bot-1,O=Brand`).
pub fn subject_dn(cert_der: &[u8]) -> Result<String, String> {
    Ok(parse_cert(cert_der)?
        .tbs_certificate()
        .subject()
        .to_string())
}

/// The (first) common name in a certificate's subject.
pub fn common_name(cert_der: &[u8]) -> Option<String> {
    let cert = parse_cert(cert_der).ok()?;
    let cn = cert.tbs_certificate().subject().common_name().ok()??;
    Some(cn.value().into_owned())
}

/// A subject DN a client is registered with (`tls_client_auth_subject_dn`,
/// RFC 8705 2.1.2), parsed from its RFC 4514 string form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectDn(String);

impl SubjectDn {
    /// Parse an RFC 4514 string (`CN=bot-1,O=Brand`: most specific RDN
    /// first, no spaces around `,` and `=`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let name = x509_cert::name::Name::from_str(text)
            .map_err(|e| format!("`{text}` is not an RFC 4514 distinguished name ({e})"))?;
        if name.is_empty() {
            return Err("the distinguished name is empty".into());
        }
        Ok(Self(name.to_string()))
    }

    /// The canonical RFC 4514 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `cert_der`'s subject is this DN: the same attributes in the
    /// same order, values compared without regard to ASCII case (the
    /// caseIgnoreMatch of the usual DN attributes).
    pub fn matches(&self, cert_der: &[u8]) -> bool {
        subject_dn(cert_der).is_ok_and(|s| s.eq_ignore_ascii_case(&self.0))
    }
}

impl fmt::Display for SubjectDn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// rustls's acceptor, with the peer's certificates added to every request
/// of the connection.
#[derive(Clone)]
struct PeerCertAcceptor(RustlsAcceptor);

type AcceptFuture<T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send>>;

impl<S> Accept<TcpStream, S> for PeerCertAcceptor
where
    S: Send + 'static,
{
    type Stream = <RustlsAcceptor as Accept<TcpStream, S>>::Stream;
    type Service = axum::middleware::AddExtension<S, PeerCertificates>;
    type Future = AcceptFuture<(Self::Stream, Self::Service)>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let handshake = self.0.accept(stream, service);
        Box::pin(async move {
            let (stream, service) = handshake.await.inspect_err(|e| {
                tracing::debug!(error = %e, "TLS handshake refused");
            })?;
            let chain = stream
                .get_ref()
                .1
                .peer_certificates()
                .map(|certs| certs.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default();
            Ok((stream, Extension(PeerCertificates(chain)).layer(service)))
        })
    }
}

/// A router being served over TLS. Dropping it shuts the server down
/// (open requests get a few seconds to finish).
pub struct TlsServer {
    addr: SocketAddr,
    handle: axum_server::Handle<SocketAddr>,
    task: Option<JoinHandle<()>>,
}

impl TlsServer {
    /// Serve `app` over TLS on `listener` (already bound to `addr`) in the
    /// background.
    pub fn spawn(
        listener: TcpListener,
        addr: SocketAddr,
        app: Router,
        config: Arc<ServerConfig>,
    ) -> Self {
        let handle = axum_server::Handle::new();
        let acceptor = PeerCertAcceptor(RustlsAcceptor::new(RustlsConfig::from_config(config)));
        let server = axum_server::Server::from_listener(listener)
            .acceptor(acceptor)
            .handle(handle.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = server.serve(app.into_make_service()).await {
                tracing::warn!(error = %e, "TLS server stopped");
            }
        });
        Self {
            addr,
            handle,
            task: Some(task),
        }
    }

    /// Bind `settings.addr` and serve `app` with client certificates as
    /// `auth` says, judged on `clock`.
    pub async fn start(
        settings: &TlsSettings,
        auth: ClientAuth,
        clock: &Clock,
        app: Router,
    ) -> Result<Self, TlsStartError> {
        Self::start_pinned(settings, auth, clock, None, app).await
    }

    /// The same, also trusting the client certificates in `pinned`.
    pub async fn start_pinned(
        settings: &TlsSettings,
        auth: ClientAuth,
        clock: &Clock,
        pinned: Option<&PinnedCertificates>,
        app: Router,
    ) -> Result<Self, TlsStartError> {
        let (listener, addr) = bind(settings.addr).await?;
        let config = settings.server_config_pinned(auth, clock, pinned)?;
        Ok(Self::spawn(listener, addr, app, config))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://{addr}`, no trailing slash.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Serve until the server stops (for the command line).
    pub async fn wait(&mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
    }
}

/// Why a TLS listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum TlsStartError {
    #[error("cannot listen on {addr}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Bind `addr` for a TLS listener; returns the listener and its real address.
pub async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), TlsStartError> {
    let bind = |source| TlsStartError::Bind { addr, source };
    let listener = crate::server::bind(addr).await.map_err(bind)?;
    let local = listener.local_addr().map_err(bind)?;
    Ok((listener, local))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::Validity;

    fn now() -> crate::clock::Instant {
        Clock::new().now()
    }

    #[test]
    fn the_thumbprint_is_base64url_sha256_of_the_der() {
        // RFC 4648 test vector for SHA-256 of the empty string.
        assert_eq!(x5t_s256(b""), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    }

    #[test]
    fn subjects_are_read_and_matched_as_rfc_4514_names() {
        let ca = Ca::generate("unit CA").unwrap();
        let client = ca
            .issue_client("bot-1", Validity::days_from(now(), 1))
            .unwrap();
        let der = client.cert_der();
        assert_eq!(subject_dn(der).unwrap(), "CN=bot-1");
        assert_eq!(common_name(der).as_deref(), Some("bot-1"));
        assert!(SubjectDn::parse("CN=bot-1").unwrap().matches(der));
        assert!(SubjectDn::parse("cn=BOT-1").unwrap().matches(der));
        assert!(!SubjectDn::parse("CN=bot-2").unwrap().matches(der));
        assert!(!SubjectDn::parse("CN=bot-1,O=Brand").unwrap().matches(der));
        assert!(SubjectDn::parse("no equals sign").is_err());
        assert!(SubjectDn::parse("").is_err());
        assert!(subject_dn(b"not a certificate").is_err());
    }

    #[test]
    fn settings_build_configs_for_every_client_auth_mode() {
        let (settings, _ca) = TlsSettings::generate("unit CA").unwrap();
        for auth in [ClientAuth::None, ClientAuth::Optional, ClientAuth::Required] {
            let config = settings.server_config(auth, &Clock::new()).unwrap();
            assert_eq!(
                config.alpn_protocols,
                [b"h2".to_vec(), b"http/1.1".to_vec()]
            );
        }
        assert!(!format!("{settings:?}").contains("PRIVATE"));
        let bad = TlsSettings::from_pem(b"nothing", b"nothing", b"nothing");
        assert!(bad.is_err());
    }
}
