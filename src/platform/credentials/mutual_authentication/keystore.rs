//! Reading the files an admin uploads for a Mutual Authentication
//! credential: key stores (PKCS#12 with `p12-keystore`, JKS with `jks`)
//! and trust certificates (PEM, DER, or a PKCS#12 / JKS trust store), and
//! the facts a read shows about a certificate (`x509-cert`).
//!
//! Nothing here trusts the upload: the format is sniffed from the content
//! and compared with the one the file name announces, and every failure is
//! an [`OpenError`] that says which of wrong password, damaged file or
//! unsupported algorithm it is, as far as the format lets one tell.

use crate::clock::Instant;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use sha2::Digest as _;
use x509_cert::der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use x509_cert::der::{Decode as _, Encode as _, Reader as _};
use x509_cert::spki::AlgorithmIdentifierRef;

/// The largest file accepted, decoded: key stores and certificate bundles
/// are a few kilobytes.
pub const MAX_FILE_BYTES: usize = 256 * 1024;

/// A key store format the vault reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreFormat {
    Pkcs12,
    Jks,
}

impl StoreFormat {
    /// The format a file name's extension announces: `.p12` / `.pfx` for
    /// PKCS#12, `.jks` for JKS.
    pub fn from_file_name(name: &str) -> Option<Self> {
        match extension(name).as_deref() {
            Some("p12" | "pfx") => Some(Self::Pkcs12),
            Some("jks") => Some(Self::Jks),
            _ => None,
        }
    }

    /// As shown in reads and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pkcs12 => "PKCS#12",
            Self::Jks => "JKS",
        }
    }
}

/// A file name's extension, lower case.
pub fn extension(name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// What a file's content is, judged from its structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniffed {
    Store(StoreFormat),
    /// Java's JCEKS (magic `CECECECE`), which no Rust crate reads.
    Jceks,
    Unknown,
}

/// Sniff a key store: the JKS / JCEKS magic numbers, or a DER `SEQUENCE`
/// whose first element is the PFX version 3 (RFC 7292 4).
pub fn sniff(bytes: &[u8]) -> Sniffed {
    match bytes {
        [0xFE, 0xED, 0xFE, 0xED, ..] => Sniffed::Store(StoreFormat::Jks),
        [0xCE, 0xCE, 0xCE, 0xCE, ..] => Sniffed::Jceks,
        _ if is_pfx(bytes) => Sniffed::Store(StoreFormat::Pkcs12),
        _ => Sniffed::Unknown,
    }
}

fn is_pfx(bytes: &[u8]) -> bool {
    let Ok(any) = AnyRef::from_der(bytes) else {
        return false;
    };
    any.sequence(|r| {
        let version = u8::decode(r)?;
        while !r.is_finished() {
            AnyRef::decode(r)?;
        }
        Ok::<_, x509_cert::der::Error>(version)
    })
    .is_ok_and(|v| v == 3)
}

/// A private key entry: its alias, its PKCS#8 key, its certificate chain
/// (its own certificate first).
pub struct KeyEntry {
    pub alias: String,
    pub key: Vec<u8>,
    pub chain: Vec<CertificateDer<'static>>,
}

/// What a store holds.
#[derive(Default)]
pub struct Contents {
    pub keys: Vec<KeyEntry>,
    /// Certificates outside any key entry (trusted certificate entries).
    pub certificates: Vec<CertificateDer<'static>>,
}

/// Why a store did not open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// The store wants a password and none was given.
    PasswordRequired,
    /// The password does not open the store (its integrity check fails).
    WrongPassword,
    /// The store opened but a key entry's own password differs.
    WrongKeyPassword { alias: String },
    /// The store is of the format but damaged.
    Corrupt(String),
    /// The store uses an algorithm the crates do not implement.
    Unsupported(String),
}

/// Open a key store of `format` (already sniffed) with `password`.
/// `trust_store` imports every certificate of a PKCS#12 file as a trusted
/// certificate, linked to no key (a trust store made with openssl carries
/// no Java trust attribute).
pub fn open(
    format: StoreFormat,
    bytes: &[u8],
    password: Option<&str>,
    trust_store: bool,
) -> Result<Contents, OpenError> {
    match format {
        StoreFormat::Pkcs12 => open_pkcs12(bytes, password, trust_store),
        StoreFormat::Jks => open_jks(bytes, password),
    }
}

fn open_pkcs12(
    bytes: &[u8],
    password: Option<&str>,
    trust_store: bool,
) -> Result<Contents, OpenError> {
    use p12_keystore::error::Error as E;
    use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
    let policy = if trust_store {
        Pkcs12ImportPolicy::Raw
    } else {
        Pkcs12ImportPolicy::Strict
    };
    let store =
        KeyStore::from_pkcs12(bytes, password.unwrap_or(""), policy).map_err(|e| match e {
            // The MAC is keyed by the password; a bad padding after decryption
            // is how a wrong password shows in a store without a MAC.
            E::MacError(_) | E::UnpadError if password.is_none() => OpenError::PasswordRequired,
            E::MacError(_) | E::UnpadError => OpenError::WrongPassword,
            E::UnsupportedEncryptionScheme
            | E::UnsupportedMacAlgorithm
            | E::UnsupportedContentType
            | E::UnsupportedCertificateType => OpenError::Unsupported(e.to_string()),
            other => OpenError::Corrupt(other.to_string()),
        })?;
    let mut contents = Contents::default();
    for (alias, entry) in store.entries() {
        match entry {
            KeyStoreEntry::PrivateKeyChain(chain) if !trust_store => contents.keys.push(KeyEntry {
                alias: alias.clone(),
                key: chain.key().as_der().to_vec(),
                chain: chain
                    .certs()
                    .iter()
                    .map(|c| CertificateDer::from(c.as_der().to_vec()))
                    .collect(),
            }),
            KeyStoreEntry::Certificate(cert) => contents
                .certificates
                .push(CertificateDer::from(cert.as_der().to_vec())),
            _ => {}
        }
    }
    Ok(contents)
}

/// Sun's proprietary key protection, the one JKS private keys use.
const JKS_KEY_PROTECTOR: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.42.2.17.1.1");

fn open_jks(bytes: &[u8], password: Option<&str>) -> Result<Contents, OpenError> {
    use jks::{KeyStore, KeyStoreError, KeyStoreOptions};
    jks_structure(bytes).map_err(OpenError::Corrupt)?;
    // Java can list a JKS without its password (skipping the integrity
    // check) but never decrypt its key: a key store always has one.
    let Some(password) = password else {
        return Err(OpenError::PasswordRequired);
    };
    let mut store = KeyStore::with_options(KeyStoreOptions {
        // Aliases are looked up as stored.
        case_exact_aliases: true,
        ..KeyStoreOptions::default()
    });
    store
        .load(bytes, password.as_bytes())
        .map_err(|e| match e {
            KeyStoreError::InvalidDigest => OpenError::WrongPassword,
            other => OpenError::Corrupt(other.to_string()),
        })?;
    let mut aliases = store.aliases();
    aliases.sort();
    let mut contents = Contents::default();
    for alias in aliases {
        if store.is_trusted_certificate_entry(&alias) {
            if let Ok(entry) = store.get_trusted_certificate_entry(&alias) {
                contents
                    .certificates
                    .push(CertificateDer::from(entry.certificate.content));
            }
            continue;
        }
        let raw = store
            .get_raw_private_key_entry(&alias)
            .map_err(|e| OpenError::Corrupt(e.to_string()))?;
        jks_protected_key(&raw.private_key)?;
        let entry = store
            .get_private_key_entry(&alias, password.as_bytes())
            .map_err(|e| match e {
                KeyStoreError::InvalidDigest => OpenError::WrongKeyPassword {
                    alias: alias.clone(),
                },
                KeyStoreError::UnsupportedAlgorithm => OpenError::Unsupported(e.to_string()),
                other => OpenError::Corrupt(other.to_string()),
            })?;
        contents.keys.push(KeyEntry {
            alias,
            key: entry.private_key,
            chain: entry
                .certificate_chain
                .into_iter()
                .map(|c| CertificateDer::from(c.content))
                .collect(),
        });
    }
    Ok(contents)
}

/// Check a JKS protected key (`EncryptedPrivateKeyInfo` with Sun's key
/// protector) before the `jks` crate decrypts it: it indexes the bytes
/// without bounds checks, so a malformed entry would panic.
fn jks_protected_key(blob: &[u8]) -> Result<(), OpenError> {
    let parsed = AnyRef::from_der(blob).and_then(|any| {
        any.sequence(|r| {
            let algorithm = AlgorithmIdentifierRef::decode(r)?;
            let data = <&OctetStringRef>::decode(r)?;
            Ok::<_, x509_cert::der::Error>((algorithm.oid, data.as_bytes().len()))
        })
    });
    match parsed {
        // A 20-byte salt and a 20-byte check digest around the key.
        Ok((oid, len)) if oid == JKS_KEY_PROTECTOR && len > 40 => Ok(()),
        Ok((oid, _)) if oid != JKS_KEY_PROTECTOR => Err(OpenError::Unsupported(format!(
            "the private key is protected with {oid}, not the JKS key protector"
        ))),
        Ok(_) => Err(OpenError::Corrupt(
            "the protected private key is too short".into(),
        )),
        Err(e) => Err(OpenError::Corrupt(format!(
            "the protected private key: {e}"
        ))),
    }
}

/// Walk a JKS file's structure, checking every length field against the
/// bytes left, before the `jks` crate reads it: it allocates what a length
/// field says before reading, so a forged length would ask for gigabytes.
fn jks_structure(bytes: &[u8]) -> Result<(), String> {
    struct Cursor<'a>(&'a [u8]);
    impl Cursor<'_> {
        fn take(&mut self, n: usize) -> Result<(), String> {
            if n > self.0.len() {
                return Err("the file ends in the middle of an entry".into());
            }
            self.0 = &self.0[n..];
            Ok(())
        }
        fn number<const N: usize>(&mut self) -> Result<u64, String> {
            let Some((head, rest)) = self.0.split_first_chunk::<N>() else {
                return Err("the file ends in the middle of an entry".into());
            };
            self.0 = rest;
            Ok(head.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
        }
        fn length<const N: usize>(&mut self) -> Result<usize, String> {
            let n = self.number::<N>()?;
            usize::try_from(n).map_err(|_| "a length field is out of range".to_string())
        }
        fn certificate(&mut self, version: u64) -> Result<(), String> {
            if version == 2 {
                let n = self.length::<2>()?;
                self.take(n)?;
            }
            let n = self.length::<4>()?;
            self.take(n)
        }
    }
    let mut c = Cursor(bytes);
    if c.number::<4>()? != 0xFEED_FEED {
        return Err("not a JKS file (no FEEDFEED magic number)".into());
    }
    let version = c.number::<4>()?;
    if !matches!(version, 1 | 2) {
        return Err(format!("unknown JKS version {version}"));
    }
    let entries = c.number::<4>()?;
    // Every entry takes bytes or fails: the loop ends with the file.
    for _ in 0..entries {
        let tag = c.number::<4>()?;
        let alias = c.length::<2>()?;
        c.take(alias)?;
        c.take(8)?; // creation time
        match tag {
            1 => {
                let key = c.length::<4>()?;
                c.take(key)?;
                let certs = c.number::<4>()?;
                for _ in 0..certs {
                    c.certificate(version)?;
                }
            }
            2 => c.certificate(version)?,
            other => return Err(format!("unknown JKS entry tag {other}")),
        }
    }
    c.take(20)
        .map_err(|_| "the file has no integrity digest".to_string())
}

/// The facts a read shows about a certificate.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertificateFacts {
    /// RFC 4514, e.g. `CN=bot-1,O=Brand`.
    pub subject: String,
    pub issuer: String,
    /// Unix seconds in JSON.
    pub not_before: Instant,
    /// Unix seconds in JSON.
    pub not_after: Instant,
    /// `RSA 2048`, `EC P-256`, `Ed25519`, ...
    pub key_type: String,
    /// Colon-separated upper-case hex of the SHA-256 of the DER, as
    /// `keytool -list` and `openssl x509 -fingerprint -sha256` show it.
    pub sha256_fingerprint: String,
}

/// Read a DER certificate's facts; `Err` says why it is not one.
pub fn facts(der: &[u8]) -> Result<CertificateFacts, String> {
    let cert = x509_cert::Certificate::from_der(der)
        .map_err(|e| format!("not a DER X.509 certificate ({e})"))?;
    let tbs = cert.tbs_certificate();
    let unix = |t: x509_cert::time::Time| Instant::UNIX_EPOCH + t.to_unix_duration();
    Ok(CertificateFacts {
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        not_before: unix(tbs.validity().not_before),
        not_after: unix(tbs.validity().not_after),
        key_type: key_type(tbs.subject_public_key_info()),
        sha256_fingerprint: fingerprint(der),
    })
}

/// What the save checks read from a certificate beyond its [`facts`].
pub struct Usage {
    /// 1, 2 or 3 (the X.509 version, not its encoded value).
    pub version: u8,
    /// Whether an extended key usage extension allows TLS client
    /// authentication: `None` without the extension (any use allowed,
    /// RFC 5280 4.2.1.12).
    pub client_auth: Option<bool>,
    /// Whether the certificate is self-signed (subject equals issuer).
    pub self_issued: bool,
    /// The DER of its SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
}

/// Read a DER certificate's [`Usage`]; `Err` says why it is not one.
pub fn usage(der: &[u8]) -> Result<Usage, String> {
    use x509_cert::certificate::Version;
    use x509_cert::ext::pkix::ExtendedKeyUsage;
    const ID_KP_CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
    const ANY_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");
    let cert = x509_cert::Certificate::from_der(der)
        .map_err(|e| format!("not a DER X.509 certificate ({e})"))?;
    let tbs = cert.tbs_certificate();
    let client_auth = tbs
        .get_extension::<ExtendedKeyUsage>()
        .map_err(|e| format!("its extended key usage extension does not decode ({e})"))?
        .map(|(_, eku)| {
            eku.0
                .iter()
                .any(|oid| *oid == ID_KP_CLIENT_AUTH || *oid == ANY_EXTENDED_KEY_USAGE)
        });
    Ok(Usage {
        version: match tbs.version() {
            Version::V1 => 1,
            Version::V2 => 2,
            Version::V3 => 3,
        },
        client_auth,
        self_issued: tbs.subject() == tbs.issuer(),
        spki: tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|e| format!("its public key does not encode ({e})"))?,
    })
}

/// `AB:CD:...` of the SHA-256 of `der`.
pub fn fingerprint(der: &[u8]) -> String {
    sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn key_type(spki: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> String {
    const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
    const ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
    let oid = spki.algorithm.oid;
    if oid == RSA {
        let bits = spki
            .to_der()
            .ok()
            .and_then(|der| aws_lc_rs::rsa::PublicEncryptingKey::from_der(&der).ok())
            .map(|k| k.key_size_bits());
        return match bits {
            Some(bits) => format!("RSA {bits}"),
            None => "RSA".into(),
        };
    }
    if oid == EC {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        let name = match curve.map(|c| c.to_string()).as_deref() {
            Some("1.2.840.10045.3.1.7") => "P-256".to_string(),
            Some("1.3.132.0.34") => "P-384".to_string(),
            Some("1.3.132.0.35") => "P-521".to_string(),
            Some(other) => other.to_string(),
            None => "unknown curve".to_string(),
        };
        return format!("EC {name}");
    }
    if oid == ED25519 {
        return "Ed25519".into();
    }
    if oid == ED448 {
        return "Ed448".into();
    }
    oid.to_string()
}

/// How a trust certificate file is encoded, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustFormat {
    /// `.pem`: PEM text.
    Pem,
    /// `.der`: DER, base64 in the JSON.
    Der,
    /// `.crt` / `.cer`: either.
    PemOrDer,
    /// `.p12` / `.pfx` / `.jks`: a trust store, base64 in the JSON.
    Store(StoreFormat),
}

impl TrustFormat {
    pub fn from_file_name(name: &str) -> Option<Self> {
        match extension(name).as_deref() {
            Some("pem") => Some(Self::Pem),
            Some("der") => Some(Self::Der),
            Some("crt" | "cer") => Some(Self::PemOrDer),
            _ => StoreFormat::from_file_name(name).map(Self::Store),
        }
    }
}

/// Whether `text` is PEM armour rather than base64.
pub fn is_pem(text: &str) -> bool {
    text.trim_start().starts_with("-----BEGIN")
}

/// The `CERTIFICATE` blocks of PEM text (other blocks are skipped).
pub fn pem_certificates(text: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the PEM text does not decode ({e})"))
}

/// PEM armour (RFC 7468) for one DER object.
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_extensions_case_insensitively() {
        assert_eq!(
            StoreFormat::from_file_name("a.P12"),
            Some(StoreFormat::Pkcs12)
        );
        assert_eq!(
            StoreFormat::from_file_name("a.pfx"),
            Some(StoreFormat::Pkcs12)
        );
        assert_eq!(
            StoreFormat::from_file_name("keys.jks"),
            Some(StoreFormat::Jks)
        );
        assert_eq!(StoreFormat::from_file_name("a.pem"), None);
        assert_eq!(StoreFormat::from_file_name(".jks"), None);
        assert_eq!(StoreFormat::from_file_name("jks"), None);
        assert_eq!(
            TrustFormat::from_file_name("ca.CER"),
            Some(TrustFormat::PemOrDer)
        );
        assert_eq!(
            TrustFormat::from_file_name("trust.jks"),
            Some(TrustFormat::Store(StoreFormat::Jks))
        );
        assert_eq!(TrustFormat::from_file_name("ca.txt"), None);
    }

    #[test]
    fn sniffing_reads_magic_numbers_and_the_pfx_version() {
        assert_eq!(
            sniff(&[0xFE, 0xED, 0xFE, 0xED, 0]),
            Sniffed::Store(StoreFormat::Jks)
        );
        assert_eq!(sniff(&[0xCE, 0xCE, 0xCE, 0xCE]), Sniffed::Jceks);
        // SEQUENCE { INTEGER 3, NULL }
        assert_eq!(
            sniff(&[0x30, 0x05, 0x02, 0x01, 0x03, 0x05, 0x00]),
            Sniffed::Store(StoreFormat::Pkcs12)
        );
        // SEQUENCE { INTEGER 2 }: a DER sequence, not a PFX.
        assert_eq!(sniff(&[0x30, 0x03, 0x02, 0x01, 0x02]), Sniffed::Unknown);
        assert_eq!(sniff(b"hello"), Sniffed::Unknown);
        assert_eq!(sniff(&[]), Sniffed::Unknown);
    }

    #[test]
    fn a_jks_whose_lengths_overrun_the_file_is_refused_before_parsing() {
        let mut forged = vec![0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2, 0, 0, 0, 1];
        forged.extend([0, 0, 0, 1, 0, 1, b'a']); // key entry, alias "a"
        forged.extend([0; 8]); // creation time
        forged.extend([0xFF, 0xFF, 0xFF, 0xFF]); // a 4 GiB key
        assert!(jks_structure(&forged).is_err());
        assert!(matches!(
            open(StoreFormat::Jks, &forged, Some("changeit"), false),
            Err(OpenError::Corrupt(_))
        ));
        let mut many = vec![0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2, 0xFF, 0xFF, 0xFF, 0xFF];
        many.extend([0; 20]);
        assert!(jks_structure(&many).is_err());
        let empty = [
            [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2, 0, 0, 0, 0].as_slice(),
            &[0; 20],
        ]
        .concat();
        assert!(jks_structure(&empty).is_ok());
    }

    #[test]
    fn malformed_jks_protected_keys_are_refused_not_indexed() {
        for blob in [
            &[][..],
            &[0x30],
            &[0x30, 0x00],
            &[0x30, 0x02, 0x30, 0x00],
            &[0x04, 0x01, 0x00],
        ] {
            assert!(jks_protected_key(blob).is_err(), "{blob:?}");
        }
    }

    #[test]
    fn fingerprints_are_colon_separated_upper_hex() {
        let f = fingerprint(b"");
        assert!(f.starts_with("E3:B0:C4:42:98:FC:1C:14"), "{f}");
        assert_eq!(f.len(), 32 * 3 - 1);
    }

    #[test]
    fn pem_armour_round_trips() {
        let der = vec![7u8; 100];
        let text = pem("CERTIFICATE", &der);
        assert!(is_pem(&text));
        assert_eq!(pem_certificates(&text).unwrap()[0].as_ref(), der.as_slice());
    }
}
