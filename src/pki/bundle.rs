//! The directory `standin certs` writes: a CA, the brand API's server
//! certificate and a client key certificate in every format the vault
//! accepts, with a README saying what each file is.

use std::path::{Path, PathBuf};

use super::{Ca, PkiError, Validity};
use crate::clock::Instant;

/// The README written with the files; the same text as `certs/README.md`.
const README: &str = include_str!("../../certs/README.md");

/// The common name of the CA `standin certs` writes.
pub const CA_NAME: &str = "standin test CA";
/// The common name of the client certificate `standin certs` writes.
pub const CLIENT_SUBJECT: &str = "standin-client";
/// The names the server certificate is valid for.
pub const SERVER_SANS: &[&str] = &["localhost", "127.0.0.1"];

/// A file [`write_bundle`] wrote, and what it is.
#[derive(Debug, Clone)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub what: &'static str,
}

/// Write a fresh CA, server certificate and client certificate into `dir`
/// (created if missing, files in it replaced), the key stores protected by
/// `password`. Returns what was written, in order.
pub fn write_bundle(dir: &Path, password: &str) -> Result<Vec<WrittenFile>, PkiError> {
    let now = Instant::from_unix_secs(time::OffsetDateTime::now_utc().unix_timestamp());
    let ca = Ca::generate(CA_NAME)?;
    let server = ca.issue_server(SERVER_SANS)?;
    let client = ca.issue_client(CLIENT_SUBJECT, Validity::days_from(now, 365))?;
    let files: Vec<(&str, Vec<u8>, &'static str)> = vec![
        (
            "ca.pem",
            ca.to_pem().into_bytes(),
            "CA certificate (trust certificate), PEM",
        ),
        ("ca.der", ca.to_der(), "the same CA certificate, DER"),
        (
            "server.pem",
            server.chain_pem().into_bytes(),
            "brand API server certificate (localhost, 127.0.0.1) and CA, PEM",
        ),
        (
            "server-key.pem",
            server.key_pem().into_bytes(),
            "server private key, PKCS#8 PEM",
        ),
        (
            "client.pem",
            client.chain_pem().into_bytes(),
            "client certificate and CA, PEM",
        ),
        (
            "client-key.pem",
            client.key_pem().into_bytes(),
            "client private key, PKCS#8 PEM",
        ),
        (
            "client.p12",
            client.to_pkcs12(password)?,
            "client key and chain, PKCS#12 (password)",
        ),
        (
            "client.jks",
            client.to_jks(password)?,
            "client key and chain, JKS (password)",
        ),
        ("README.md", README.as_bytes().to_vec(), "what each file is"),
    ];
    std::fs::create_dir_all(dir).map_err(|source| PkiError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::with_capacity(files.len());
    for (name, bytes, what) in files {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|source| PkiError::Io {
            path: path.clone(),
            source,
        })?;
        written.push(WrittenFile { path, what });
    }
    Ok(written)
}
