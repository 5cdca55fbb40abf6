//! Certificates for mutual TLS: a CA, the brand API's server certificate
//! and client key certificates, in every format the vault accepts.
//!
//! Everything here is for tests. Keys are ECDSA P-256 (fast to generate,
//! even in debug builds) and nothing is kept secret.
//!
//! ```no_run
//! use standin::pki::{Ca, Validity};
//!
//! let now = standin::clock::Clock::new().now();
//! let ca = Ca::generate("standin test CA").unwrap();
//! let client = ca.issue_client("bot-1", Validity::days_from(now, 30)).unwrap();
//! let expired = ca.issue_client("bot-1", Validity::expired_at(now)).unwrap();
//! let foreign = Ca::generate("someone else").unwrap().issue_client("bot-1", Validity::days_from(now, 30)).unwrap();
//! let p12 = client.to_pkcs12("changeit").unwrap();
//! # let _ = (expired, foreign, p12);
//! ```
//!
//! - `ca`: generating a CA and issuing server and client certificates.
//! - `export`: PEM, DER, PKCS#12 and JKS encodings of what was issued.
//! - `bundle`: the directory `standin certs` writes, with its README.

mod bundle;
mod ca;
mod export;

pub use bundle::{CA_NAME, CLIENT_SUBJECT, SERVER_SANS, WrittenFile, write_bundle};
pub use ca::{Ca, Issued, Validity};

/// Why a certificate could not be issued, exported or written.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("generating a key or certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("validity date out of range: unix time {0}")]
    Validity(i64),
    #[error("encoding PKCS#12: {0}")]
    Pkcs12(#[from] p12_keystore::error::Error),
    #[error("encoding JKS: {0}")]
    Jks(#[from] jks::KeyStoreError),
    #[error("writing {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}
