//! The certificates are real: PKCS#12 and JKS stores open with their
//! password (and only with it) and hold a key matching its certificate,
//! client certificates chain to their CA (and expired or foreign ones do
//! not), the server certificate names localhost and 127.0.0.1, and
//! `standin certs` writes every file its README lists.

use std::process::Command;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier as _;
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use standin::pki::{Ca, Issued, Validity};

const PASSWORD: &str = "changeit";

fn provider() -> Arc<CryptoProvider> {
    Arc::new(aws_lc_rs::default_provider())
}

fn now() -> standin::clock::Instant {
    standin::clock::Clock::new().now()
}

fn roots(ca: &Ca) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert_der().clone()).unwrap();
    Arc::new(roots)
}

/// Whether a server requiring client certificates from `ca` accepts `cert`.
fn client_verifies(ca: &Ca, cert: &CertificateDer<'_>) -> Result<(), rustls::Error> {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(ca), provider())
        .build()
        .unwrap();
    verifier
        .verify_client_cert(cert, &[], UnixTime::now())
        .map(|_| ())
}

/// The key is the one the certificate was issued for.
fn assert_key_matches(chain: Vec<CertificateDer<'static>>, key_pkcs8: &[u8]) {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pkcs8.to_vec()));
    let certified = CertifiedKey::from_der(chain, key, &provider()).unwrap();
    certified.keys_match().expect("key matches certificate");
}

fn client(ca: &Ca) -> Issued {
    ca.issue_client("bot-1", Validity::days_from(now(), 30))
        .unwrap()
}

#[test]
fn a_client_certificate_chains_to_its_ca_and_expired_or_foreign_ones_do_not() {
    let ca = Ca::generate("test CA").unwrap();
    let good = client(&ca);
    client_verifies(&ca, good.cert_der()).expect("a fresh client certificate verifies");

    let expired = ca
        .issue_client("bot-1", Validity::expired_at(now()))
        .unwrap();
    let err = client_verifies(&ca, expired.cert_der()).unwrap_err();
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(rustls::CertificateError::Expired)
                | rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ExpiredContext { .. }
                )
        ),
        "expired: {err:?}"
    );

    let foreign = client(&Ca::generate("someone else's CA").unwrap());
    let err = client_verifies(&ca, foreign.cert_der()).unwrap_err();
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        ),
        "foreign: {err:?}"
    );
}

#[test]
fn each_client_certificate_has_its_own_key() {
    let ca = Ca::generate("test CA").unwrap();
    let (a, b) = (client(&ca), client(&ca));
    assert_ne!(a.to_der(), b.to_der());
    assert_ne!(
        a.key_der().secret_pkcs8_der(),
        b.key_der().secret_pkcs8_der()
    );
}

#[test]
fn pem_exports_are_the_der_ones_and_the_key_is_pkcs8() {
    let ca = Ca::generate("test CA").unwrap();
    let trust = CertificateDer::from_pem_slice(ca.to_pem().as_bytes()).unwrap();
    assert_eq!(trust.as_ref(), ca.to_der().as_slice());

    let issued = client(&ca);
    let pem = issued.to_pem();
    assert_eq!(
        CertificateDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .as_ref(),
        issued.to_der().as_slice()
    );
    let chain: Vec<_> = CertificateDer::pem_slice_iter(issued.chain_pem().as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        chain,
        vec![issued.cert_der().clone(), ca.cert_der().clone()]
    );

    let key_pem = issued.key_pem();
    assert!(
        key_pem.starts_with("-----BEGIN PRIVATE KEY-----"),
        "{key_pem}"
    );
    let key = PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    assert_eq!(key.secret_pkcs8_der(), issued.key_der().secret_pkcs8_der());
    assert_key_matches(vec![issued.cert_der().clone()], key.secret_pkcs8_der());
}

#[test]
fn pkcs12_opens_with_its_password_only_and_holds_the_key_and_chain() {
    use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
    let ca = Ca::generate("test CA").unwrap();
    let issued = client(&ca);
    let p12 = issued.to_pkcs12(PASSWORD).unwrap();

    assert!(KeyStore::from_pkcs12(&p12, "wrong-password", Pkcs12ImportPolicy::Strict).is_err());

    let store = KeyStore::from_pkcs12(&p12, PASSWORD, Pkcs12ImportPolicy::Strict).unwrap();
    let (alias, chain) = store.private_key_chain().expect("a key entry");
    assert_eq!(alias, "bot-1");
    let certs: Vec<CertificateDer<'static>> = chain
        .certs()
        .iter()
        .map(|c| CertificateDer::from(c.as_der().to_vec()))
        .collect();
    assert_eq!(
        certs,
        vec![issued.cert_der().clone(), ca.cert_der().clone()]
    );
    assert_key_matches(certs.clone(), chain.key().as_der());
    client_verifies(&ca, &certs[0]).expect("the stored certificate chains to the CA");
}

#[test]
fn jks_opens_with_its_password_only_and_holds_the_key_and_chain() {
    let ca = Ca::generate("test CA").unwrap();
    let issued = client(&ca);
    let bytes = issued.to_jks(PASSWORD).unwrap();

    let mut wrong = jks::KeyStore::new();
    assert!(wrong.load(bytes.as_slice(), b"wrong-password").is_err());

    let mut store = jks::KeyStore::new();
    store.load(bytes.as_slice(), PASSWORD.as_bytes()).unwrap();
    assert_eq!(store.aliases(), vec!["bot-1".to_string()]);
    assert!(
        store
            .get_private_key_entry("bot-1", b"wrong-password")
            .is_err()
    );
    let entry = store
        .get_private_key_entry("bot-1", PASSWORD.as_bytes())
        .unwrap();
    let certs: Vec<CertificateDer<'static>> = entry
        .certificate_chain
        .iter()
        .map(|c| CertificateDer::from(c.content.clone()))
        .collect();
    assert_eq!(
        certs,
        vec![issued.cert_der().clone(), ca.cert_der().clone()]
    );
    assert_key_matches(certs, &entry.private_key);
}

#[test]
fn the_server_certificate_is_valid_for_localhost_and_127_0_0_1_only() {
    let ca = Ca::generate("test CA").unwrap();
    let server = ca.issue_server(&["localhost", "127.0.0.1"]).unwrap();
    let verifier = WebPkiServerVerifier::builder_with_provider(roots(&ca), provider())
        .build()
        .unwrap();
    let verify = |name: &str| {
        verifier.verify_server_cert(
            server.cert_der(),
            &[],
            &ServerName::try_from(name.to_string()).unwrap(),
            &[],
            UnixTime::now(),
        )
    };
    verify("localhost").expect("localhost");
    verify("127.0.0.1").expect("127.0.0.1");
    assert!(verify("example.com").is_err());
    assert!(verify("127.0.0.2").is_err());
    // A server certificate is no client certificate.
    assert!(client_verifies(&ca, server.cert_der()).is_err());
}

#[test]
fn standin_certs_writes_every_file_its_readme_lists() {
    let dir = std::env::temp_dir().join(format!("standin-certs-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let out = Command::new(env!("CARGO_BIN_EXE_standin"))
        .args(["certs", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);

    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert_eq!(
        readme,
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/certs/README.md")).unwrap(),
        "the README written is certs/README.md"
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "README.md",
            "ca.der",
            "ca.pem",
            "client-key.pem",
            "client.jks",
            "client.p12",
            "client.pem",
            "server-key.pem",
            "server.pem"
        ]
    );
    for name in &names {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README misses {name}"
        );
        assert!(
            stdout.contains(name.as_str()),
            "output misses {name}:\n{stdout}"
        );
    }
    assert!(readme.to_lowercase().contains("tests only"));

    // The files are what they say: the client certificate in every form
    // chains to the written CA, with the default password.
    let ca_der = std::fs::read(dir.join("ca.der")).unwrap();
    let ca_pem = CertificateDer::from_pem_file(dir.join("ca.pem")).unwrap();
    assert_eq!(ca_pem.as_ref(), ca_der.as_slice());
    let mut roots = RootCertStore::empty();
    roots.add(ca_pem).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .unwrap();
    let client = CertificateDer::from_pem_file(dir.join("client.pem")).unwrap();
    verifier
        .verify_client_cert(&client, &[], UnixTime::now())
        .unwrap();
    let key = PrivatePkcs8KeyDer::from_pem_file(dir.join("client-key.pem")).unwrap();
    assert_key_matches(vec![client.clone()], key.secret_pkcs8_der());
    let p12 = std::fs::read(dir.join("client.p12")).unwrap();
    let store = p12_keystore::KeyStore::from_pkcs12(
        &p12,
        PASSWORD,
        p12_keystore::Pkcs12ImportPolicy::Strict,
    )
    .unwrap();
    assert_eq!(
        store.private_key_chain().unwrap().1.certs()[0].as_der(),
        client.as_ref()
    );
    let mut jks = jks::KeyStore::new();
    jks.load(
        std::fs::read(dir.join("client.jks")).unwrap().as_slice(),
        PASSWORD.as_bytes(),
    )
    .unwrap();
    assert_eq!(
        jks.aliases(),
        vec![standin::pki::CLIENT_SUBJECT.to_string()]
    );
    let server = CertificateDer::from_pem_file(dir.join("server.pem")).unwrap();
    let server_key = PrivatePkcs8KeyDer::from_pem_file(dir.join("server-key.pem")).unwrap();
    assert_key_matches(vec![server], server_key.secret_pkcs8_der());
    std::fs::remove_dir_all(&dir).ok();
}
