//! The encodings of a CA certificate and of an issued certificate with its
//! key: PEM, DER, PKCS#12 and JKS.

use std::time::SystemTime;

use base64::Engine as _;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use sha2::Digest as _;

use super::{Ca, Issued, PkiError};

/// PEM armour (RFC 7468): base64 in 64-character lines.
fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

impl Ca {
    /// The CA certificate (the trust certificate), PEM.
    pub fn to_pem(&self) -> String {
        pem("CERTIFICATE", self.cert_der())
    }

    /// The CA certificate (the trust certificate), DER.
    pub fn to_der(&self) -> Vec<u8> {
        self.cert_der().to_vec()
    }
}

impl Issued {
    /// The certificate, DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// The certificate, DER, as bytes.
    pub fn to_der(&self) -> Vec<u8> {
        self.cert.to_vec()
    }

    /// The certificate, PEM.
    pub fn to_pem(&self) -> String {
        pem("CERTIFICATE", &self.cert)
    }

    /// The certificate followed by its CA's, PEM: with [`Issued::key_pem`],
    /// what a TLS client or server presents.
    pub fn chain_pem(&self) -> String {
        pem("CERTIFICATE", &self.cert) + &pem("CERTIFICATE", &self.ca)
    }

    /// The private key, PKCS#8 DER.
    pub fn key_der(&self) -> PrivatePkcs8KeyDer<'static> {
        PrivatePkcs8KeyDer::from(self.key.serialize_der())
    }

    /// The private key, PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// A PKCS#12 store holding the key and the chain (certificate, then
    /// CA) under the subject as alias, protected by `password` (AES-256,
    /// HMAC-SHA-256).
    pub fn to_pkcs12(&self, password: &str) -> Result<Vec<u8>, PkiError> {
        use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
        let key = PrivateKey::from_der(&self.key.serialize_der())?;
        let chain = [
            Certificate::from_der(&self.cert)?,
            Certificate::from_der(&self.ca)?,
        ];
        let local_key_id = sha2::Sha256::digest(&self.cert)[..20].to_vec();
        let mut store = KeyStore::new();
        store.add_entry(
            &self.subject,
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, key, chain)),
        );
        Ok(store.writer(password).write()?)
    }

    /// A Java KeyStore holding the key (protected by `password`) and the
    /// chain under the subject as alias; the store's integrity password is
    /// `password` too. JKS wants at least 6 characters.
    pub fn to_jks(&self, password: &str) -> Result<Vec<u8>, PkiError> {
        use jks::{Certificate, KeyStore, PrivateKeyEntry};
        let x509 = |der: &CertificateDer<'_>| Certificate {
            cert_type: "X509".to_string(),
            content: der.to_vec(),
        };
        let entry = PrivateKeyEntry {
            creation_time: SystemTime::now(),
            private_key: self.key.serialize_der(),
            certificate_chain: vec![x509(&self.cert), x509(&self.ca)],
        };
        let mut store = KeyStore::new();
        store.set_private_key_entry(&self.subject, entry, password.as_bytes())?;
        let mut out = Vec::new();
        store.store(&mut out, password.as_bytes())?;
        Ok(out)
    }
}
