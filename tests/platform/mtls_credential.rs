//! The Mutual Authentication credential's validation against real key
//! stores (issued by the test PKI): every fault its own error, the facts a
//! read shows, nothing secret in a read, the client cache, and arbitrary
//! bytes as a key store or trust certificate never panicking the validator.

use std::sync::LazyLock;

use rustls_pki_types::pem::PemObject as _;

use base64::Engine as _;
use proptest::prelude::*;
use serde_json::{Value, json};
use standin::clock::{Clock, Instant};
use standin::pki::{Ca, Issued, Validity};
use standin::platform::credentials::mutual_authentication::MutualAuth;
use standin::platform::credentials::{self, FieldError, Kind, SaveContext};
use standin::platform::org::Org;

const PASSWORD: &str = "changeit";
const SUBJECT: &str = "standin-client";

struct Pki {
    ca: Ca,
    foreign: Ca,
    client: Issued,
    other_client: Issued,
    foreign_client: Issued,
    p12: Vec<u8>,
    jks: Vec<u8>,
}

static PKI: LazyLock<Pki> = LazyLock::new(|| {
    let now = Clock::new().now();
    let ca = Ca::generate("mtls test CA").unwrap();
    let foreign = Ca::generate("someone else's CA").unwrap();
    let client = ca
        .issue_client(SUBJECT, Validity::days_from(now, 30))
        .unwrap();
    let other_client = ca
        .issue_client("other", Validity::days_from(now, 30))
        .unwrap();
    let foreign_client = foreign
        .issue_client(SUBJECT, Validity::days_from(now, 30))
        .unwrap();
    let p12 = client.to_pkcs12(PASSWORD).unwrap();
    let jks = client.to_jks(PASSWORD).unwrap();
    Pki {
        ca,
        foreign,
        client,
        other_client,
        foreign_client,
        p12,
        jks,
    }
});

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn org() -> Org {
    serde_json::from_value(json!({
        "id": "demo",
        "provider": {"token_endpoint": "http://127.0.0.1:1/token", "client_id": "c", "client_secret": "s"}
    }))
    .unwrap()
}

fn now() -> i64 {
    Clock::new().now().unix_secs()
}

fn validate_at(fields: Value, at: i64) -> Result<MutualAuth, Vec<FieldError>> {
    let org = org();
    let ctx = SaveContext {
        org: &org,
        platform_url: "http://127.0.0.1:1",
        now: Instant::from_unix_secs(at),
    };
    match credentials::validate("mutual_authentication", "api-mtls", fields, &ctx)? {
        Kind::MutualAuthentication(m) => Ok(m),
        other => panic!("another kind: {other:?}"),
    }
}

fn validate(fields: Value) -> Result<MutualAuth, Vec<FieldError>> {
    validate_at(fields, now())
}

fn codes(fields: Value) -> Vec<(&'static str, &'static str)> {
    match validate(fields) {
        Ok(_) => vec![],
        Err(errors) => {
            for e in &errors {
                assert!(e.message.len() > 20, "a terse message: {e:?}");
            }
            errors.into_iter().map(|e| (e.field, e.code)).collect()
        }
    }
}

fn p12_body() -> Value {
    json!({
        "key_store": b64(&PKI.p12),
        "key_store_file_name": "bot.p12",
        "key_store_password": PASSWORD,
    })
}

fn with(mut body: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// A PKCS#12 store from raw parts, for stores the PKI does not issue.
fn p12_of(key_der: &[u8], chain: &[&[u8]], extra_certs: &[&[u8]]) -> Vec<u8> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
    let mut store = KeyStore::new();
    if !chain.is_empty() {
        let certs: Vec<Certificate> = chain
            .iter()
            .map(|c| Certificate::from_der(c).unwrap())
            .collect();
        store.add_entry(
            "bot",
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(
                vec![1; 20],
                PrivateKey::from_der(key_der).unwrap(),
                certs,
            )),
        );
    }
    for (i, c) in extra_certs.iter().enumerate() {
        store.add_entry(
            &format!("trusted-{i}"),
            KeyStoreEntry::Certificate(Certificate::from_der(c).unwrap()),
        );
    }
    store.writer(PASSWORD).write().unwrap()
}

#[test]
fn jks_and_trust_certificates_in_every_encoding_are_saved() {
    let jks = json!({"key_store": b64(&PKI.jks), "key_store_file_name": "bot.jks", "key_store_password": PASSWORD});
    let m = validate(jks.clone()).expect("JKS");
    assert_eq!(m.key_certificate.format, "JKS");
    assert_eq!(m.key_certificate.facts.subject, "CN=standin-client");

    for (trust, name) in [
        (json!(PKI.ca.to_pem()), "ca.pem"),
        (json!(PKI.ca.to_pem()), "ca.crt"),
        (json!(b64(&PKI.ca.to_der())), "ca.der"),
        (json!(b64(&PKI.ca.to_der())), "ca.cer"),
    ] {
        for body in [p12_body(), jks.clone()] {
            let m = validate(with(
                body,
                json!({"trust_certificate": trust, "trust_certificate_file_name": name}),
            ))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(m.trust_certificates.len(), 1);
            assert_eq!(m.trust_certificates[0].subject, "CN=mtls test CA");
            assert_eq!(m.trust_certificate_file_name.as_deref(), Some(name));
        }
    }

    // A PEM bundle: both CAs are trusted.
    let bundle = PKI.ca.to_pem() + &PKI.foreign.to_pem();
    let m = validate(with(
        p12_body(),
        json!({"trust_certificate": bundle, "trust_certificate_file_name": "bundle.pem"}),
    ))
    .unwrap();
    assert_eq!(m.trust_certificates.len(), 2);

    // A password-protected PKCS#12 trust store holding only the CA.
    let trust_store = p12_of(&[], &[], &[PKI.ca.cert_der()]);
    let m = validate(with(
        p12_body(),
        json!({"trust_certificate": b64(&trust_store), "trust_certificate_file_name": "trust.p12", "trust_certificate_password": PASSWORD}),
    ))
    .unwrap();
    assert_eq!(m.trust_certificates[0].subject, "CN=mtls test CA");
    assert_eq!(
        codes(with(
            p12_body(),
            json!({"trust_certificate": b64(&trust_store), "trust_certificate_file_name": "trust.p12", "trust_certificate_password": "nope"}),
        )),
        vec![("trust_certificate_password", "wrong_password")]
    );
}

#[test]
fn passwords_wrong_or_missing_are_told_apart() {
    assert_eq!(
        codes(with(
            p12_body(),
            json!({"key_store_password": "wrong-password"})
        )),
        vec![("key_store_password", "wrong_password")]
    );
    assert_eq!(
        codes(with(p12_body(), json!({"key_store_password": null}))),
        vec![("key_store_password", "missing")]
    );
    let jks = json!({"key_store": b64(&PKI.jks), "key_store_file_name": "bot.jks", "key_store_password": "wrong-password"});
    assert_eq!(
        codes(jks.clone()),
        vec![("key_store_password", "wrong_password")]
    );
    assert_eq!(
        codes(with(jks, json!({"key_store_password": ""}))),
        vec![("key_store_password", "missing")]
    );

    // A JKS whose key entry has its own password.
    let mut store = jks::KeyStore::new();
    store
        .set_private_key_entry(
            "bot",
            jks::PrivateKeyEntry {
                creation_time: std::time::SystemTime::now(),
                private_key: PKI.client.key_der().secret_pkcs8_der().to_vec(),
                certificate_chain: vec![jks::Certificate {
                    cert_type: "X509".into(),
                    content: PKI.client.to_der(),
                }],
            },
            b"another-password",
        )
        .unwrap();
    let mut bytes = Vec::new();
    store.store(&mut bytes, PASSWORD.as_bytes()).unwrap();
    assert_eq!(
        codes(
            json!({"key_store": b64(&bytes), "key_store_file_name": "k.jks", "key_store_password": PASSWORD})
        ),
        vec![("key_store_password", "wrong_key_password")]
    );
}

#[test]
fn files_that_are_not_key_stores_are_refused_clearly() {
    let body = |ks: &str, name: &str| json!({"key_store": ks, "key_store_file_name": name, "key_store_password": PASSWORD});
    assert_eq!(
        codes(body("%%% not base64 %%%", "a.p12")),
        vec![("key_store", "not_base64")]
    );
    assert_eq!(
        codes(body(&b64(b"hello, world"), "a.p12")),
        vec![("key_store", "not_a_key_store")]
    );
    assert_eq!(
        codes(body(&b64(&PKI.p12), "a.jks")),
        vec![("key_store", "format_mismatch")]
    );
    assert_eq!(
        codes(body(&b64(&PKI.jks), "a.pfx")),
        vec![("key_store", "format_mismatch")]
    );
    assert_eq!(
        codes(body(&b64(&[0xCE, 0xCE, 0xCE, 0xCE, 0, 0, 0, 2]), "a.jks")),
        vec![("key_store", "unsupported")]
    );
    assert_eq!(
        codes(body(&b64(&PKI.p12), "a.pem")),
        vec![("key_store_file_name", "unsupported_extension")]
    );
    assert_eq!(
        codes(json!({})),
        vec![("key_store_file_name", "missing"), ("key_store", "missing")]
    );
    let mut truncated = PKI.p12.clone();
    truncated.truncate(truncated.len() / 2);
    assert_eq!(
        codes(body(&b64(&truncated), "a.p12")),
        vec![("key_store", "not_a_key_store")]
    );
    let huge = b64(&vec![0u8; 300 * 1024]);
    assert_eq!(
        codes(body(&huge, "a.p12")),
        vec![("key_store", "too_large")]
    );
}

#[test]
fn stores_without_one_matching_key_are_refused() {
    let c = &PKI.client;
    let other = &PKI.other_client;
    // The key of one certificate with another's certificate.
    let mismatch = p12_of(
        other.key_der().secret_pkcs8_der(),
        &[c.cert_der(), PKI.ca.cert_der()],
        &[],
    );
    assert_eq!(
        codes(
            json!({"key_store": b64(&mismatch), "key_store_file_name": "m.p12", "key_store_password": PASSWORD})
        ),
        vec![("key_store", "key_mismatch")]
    );
    // Certificates only: a trust store uploaded as the key store.
    let certs_only = p12_of(&[], &[], &[c.cert_der()]);
    assert_eq!(
        codes(
            json!({"key_store": b64(&certs_only), "key_store_file_name": "t.p12", "key_store_password": PASSWORD})
        ),
        vec![("key_store", "no_private_key")]
    );
}

#[test]
fn certificates_out_of_validity_are_refused_and_another_ca_is_not_a_fault() {
    let at = now();
    let expired = PKI
        .ca
        .issue_client(SUBJECT, Validity::expired_at(Instant::from_unix_secs(at)))
        .unwrap();
    let body = |issued: &Issued| json!({"key_store": b64(&issued.to_pkcs12(PASSWORD).unwrap()), "key_store_file_name": "k.p12", "key_store_password": PASSWORD});
    assert_eq!(codes(body(&expired)), vec![("key_store", "expired")]);

    let future = PKI
        .ca
        .issue_client(
            SUBJECT,
            Validity {
                not_before: Instant::from_unix_secs(at + 3600),
                not_after: Instant::from_unix_secs(at + 7200),
            },
        )
        .unwrap();
    assert_eq!(codes(body(&future)), vec![("key_store", "not_yet_valid")]);

    // Judged on the clock given, not the system's: a day later, the
    // 30-day certificate is still valid, 31 days later it is not.
    assert!(validate_at(p12_body(), at + 86_400).is_ok());
    let late = validate_at(p12_body(), at + 31 * 86_400).unwrap_err();
    assert_eq!((late[0].field, late[0].code), ("key_store", "expired"));

    // The key certificate need not chain to the trust certificate: one
    // identifies the platform to the server, the other is what the
    // platform trusts the server's certificate by (source document 004).
    let trust =
        json!({"trust_certificate": PKI.ca.to_pem(), "trust_certificate_file_name": "ca.pem"});
    assert_eq!(
        codes(with(body(&PKI.foreign_client), trust.clone())),
        vec![]
    );
    let foreign_future = PKI
        .foreign
        .issue_client(
            SUBJECT,
            Validity {
                not_before: Instant::from_unix_secs(at + 3600),
                not_after: Instant::from_unix_secs(at + 7200),
            },
        )
        .unwrap();
    assert_eq!(
        codes(with(body(&foreign_future), trust)),
        vec![("key_store", "not_yet_valid")]
    );
    // The foreign certificate with its own CA in the store is consistent.
    assert!(validate(body(&PKI.foreign_client)).is_ok());
}

#[test]
fn trust_certificate_faults_have_their_own_errors() {
    let t = |cert: Value, name: Value| {
        with(
            p12_body(),
            json!({"trust_certificate": cert, "trust_certificate_file_name": name}),
        )
    };
    assert_eq!(
        codes(t(json!(b64(&PKI.ca.to_der())), json!("ca.pem"))),
        vec![("trust_certificate", "format_mismatch")]
    );
    assert_eq!(
        codes(t(json!(PKI.ca.to_pem()), json!("ca.der"))),
        vec![("trust_certificate", "format_mismatch")]
    );
    assert_eq!(
        codes(t(json!("@@@"), json!("ca.der"))),
        vec![("trust_certificate", "not_base64")]
    );
    assert_eq!(
        codes(t(json!(b64(b"not a certificate")), json!("ca.cer"))),
        vec![("trust_certificate", "invalid")]
    );
    assert_eq!(
        codes(t(
            json!("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            json!("ca.pem")
        )),
        vec![("trust_certificate", "no_certificate")]
    );
    assert_eq!(
        codes(t(json!(PKI.ca.to_pem()), json!("ca.txt"))),
        vec![("trust_certificate_file_name", "unsupported_extension")]
    );
    assert_eq!(
        codes(t(json!(PKI.ca.to_pem()), Value::Null)),
        vec![("trust_certificate_file_name", "missing")]
    );
    assert_eq!(
        codes(with(
            t(json!(PKI.ca.to_pem()), json!("ca.pem")),
            json!({"trust_certificate_password": "x"})
        )),
        vec![("trust_certificate_password", "unused")]
    );
}

#[test]
fn every_fault_is_reported_at_once() {
    let got = codes(json!({
        "key_store": b64(&PKI.p12),
        "key_store_file_name": "bot.p12",
        "key_store_password": "wrong",
        "trust_certificate": "@@@",
        "trust_certificate_file_name": "ca.der",
        "tls_versions": ["TLSv1.1"],
    }));
    assert_eq!(
        got,
        vec![
            ("tls_versions", "deprecated"),
            ("key_store_password", "wrong_password"),
            ("trust_certificate", "not_base64"),
        ]
    );
}

#[tokio::test]
async fn the_client_is_cached_until_the_credential_changes() {
    use standin::platform::conversations::ConvInfo;
    use standin::platform::integrations::apply;
    use standin::platform::{Platform, PlatformFixtures};

    let fixtures = PlatformFixtures::from_toml(
        r#"
[[orgs]]
id = "demo"
[orgs.provider]
token_endpoint = "http://127.0.0.1:1/token"
client_id = "c"
client_secret = "s"
"#,
        "test",
    )
    .unwrap();
    let platform = Platform::start_with(fixtures, Default::default())
        .await
        .unwrap();
    let state = platform.state();
    let save = |name: &str, body: Value| {
        state
            .add_credential(
                "demo",
                with(body, json!({"type": "mutual_authentication", "name": name})),
            )
            .unwrap()
    };
    save("a", p12_body());
    save(
        "b",
        json!({"key_store": b64(&PKI.jks), "key_store_file_name": "b.jks", "key_store_password": PASSWORD}),
    );
    let conv = ConvInfo {
        id: serde_json::from_value(json!("c1")).unwrap(),
        org: standin::platform::OrgId::parse("demo").unwrap(),
        bot: "bot".into(),
        consumer_id: None,
        authenticated: None,
        closed: false,
    };
    let get = |name: &str| state.vault.get(&conv.org, name).unwrap();
    let saved = |name: &str| match get(name).kind {
        Kind::MutualAuthentication(m) => m,
        _ => unreachable!(),
    };
    let auth = apply::authorize(state, &conv, &get("a")).await.unwrap();
    assert!(auth.client.is_some() && auth.authorization.is_none());
    assert!(state.mtls_clients.holds(&conv.org, "a", &saved("a")));
    apply::authorize(state, &conv, &get("a")).await.unwrap();
    assert_eq!(state.mtls_clients.len(), 1);

    // Replaced: the next call builds a new client for the new store.
    let mut replaced = get("a");
    let other = PKI.other_client.to_pkcs12(PASSWORD).unwrap();
    let Kind::MutualAuthentication(m) = &mut replaced.kind else {
        unreachable!()
    };
    m.key_store = standin::secret::Secret::new(b64(&other));
    state.vault.replace(&conv.org, replaced).unwrap();
    assert!(!state.mtls_clients.holds(&conv.org, "a", &saved("a")));
    apply::authorize(state, &conv, &get("a")).await.unwrap();
    assert!(state.mtls_clients.holds(&conv.org, "a", &saved("a")));

    // Deleted: its client goes at the next call of another credential.
    state.vault.remove(&conv.org, "a").unwrap();
    apply::authorize(state, &conv, &get("b")).await.unwrap();
    assert_eq!(state.mtls_clients.len(), 1);
    assert!(state.mtls_clients.holds(&conv.org, "b", &saved("b")));

    // On the shared clock, past the certificate's expiry, no client.
    platform
        .clock()
        .advance(std::time::Duration::from_secs(31 * 86_400));
    let refused = apply::authorize(state, &conv, &get("b")).await.unwrap_err();
    assert!(refused.contains("expired"), "{refused}");
}

/// A JKS file holding one key entry whose protected key is `blob`, with
/// a correct integrity digest for [`PASSWORD`]: what only someone who
/// knows the password can forge.
fn jks_with_key_blob(blob: &[u8]) -> Vec<u8> {
    let mut body = vec![
        0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 3,
    ];
    body.extend(b"bot");
    body.extend([0; 8]);
    body.extend((blob.len() as u32).to_be_bytes());
    body.extend(blob);
    body.extend(1u32.to_be_bytes());
    body.extend(4u16.to_be_bytes());
    body.extend(b"X509");
    body.extend((PKI.client.to_der().len() as u32).to_be_bytes());
    body.extend(PKI.client.to_der());
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY);
    let password: Vec<u8> = PASSWORD.bytes().flat_map(|b| [0, b]).collect();
    ctx.update(&password);
    ctx.update(b"Mighty Aphrodite");
    ctx.update(&body);
    body.extend(ctx.finish().as_ref());
    body
}

#[test]
fn a_malformed_protected_key_in_a_sound_jks_is_refused() {
    for blob in [&[0x30, 0x00][..], &[0x30, 0x02, 0x30, 0x00], &[0x04, 0x00]] {
        assert_eq!(
            codes(
                json!({"key_store": b64(&jks_with_key_blob(blob)), "key_store_file_name": "k.jks", "key_store_password": PASSWORD})
            ),
            vec![("key_store", "corrupt")],
            "{blob:?}"
        );
    }
}

/// Every key store name the validator knows, and one it does not.
fn any_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["k.p12", "k.pfx", "k.jks", "k.bin"])
}

/// A valid store with a few bytes changed.
fn mutated(store: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((0..store.len(), any::<u8>()), 1..8).prop_map(move |edits| {
        let mut bytes = store.to_vec();
        for (i, b) in edits {
            bytes[i] = b;
        }
        bytes
    })
}

fn assert_no_panic(fields: Value) {
    // Ok or a list of errors, each with a message: anything but a panic.
    if let Err(errors) = validate(fields) {
        assert!(!errors.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_as_a_key_store_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048), name in any_name()) {
        assert_no_panic(json!({"key_store": b64(&bytes), "key_store_file_name": name, "key_store_password": PASSWORD}));
    }

    #[test]
    fn forged_jks_headers_never_panic(tail in prop::collection::vec(any::<u8>(), 0..512)) {
        let bytes = [&[0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2][..], &tail].concat();
        assert_no_panic(json!({"key_store": b64(&bytes), "key_store_file_name": "k.jks", "key_store_password": PASSWORD}));
    }

    #[test]
    fn forged_jks_lengths_never_panic(
        alias in 0u16..16,
        key in prop_oneof![0u32..64, any::<u32>()],
        certs in prop_oneof![0u32..4, any::<u32>()],
        tail in prop::collection::vec(any::<u8>(), 0..128),
    ) {
        // A key entry whose length fields may claim far more than the file holds.
        let mut bytes = vec![0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1];
        bytes.extend(alias.to_be_bytes());
        bytes.extend(std::iter::repeat_n(b'a', usize::from(alias)));
        bytes.extend([0; 8]);
        bytes.extend(key.to_be_bytes());
        bytes.extend(std::iter::repeat_n(0x30, key.min(64) as usize));
        bytes.extend(certs.to_be_bytes());
        bytes.extend(tail);
        assert_no_panic(json!({"key_store": b64(&bytes), "key_store_file_name": "k.jks", "key_store_password": PASSWORD}));
    }

    #[test]
    fn arbitrary_protected_keys_in_a_sound_jks_never_panic(blob in prop::collection::vec(any::<u8>(), 0..128)) {
        assert_no_panic(json!({"key_store": b64(&jks_with_key_blob(&blob)), "key_store_file_name": "k.jks", "key_store_password": PASSWORD}));
    }

    #[test]
    fn damaged_key_stores_never_panic(p12 in mutated(&PKI.p12), jks in mutated(&PKI.jks)) {
        assert_no_panic(json!({"key_store": b64(&p12), "key_store_file_name": "k.p12", "key_store_password": PASSWORD}));
        assert_no_panic(json!({"key_store": b64(&jks), "key_store_file_name": "k.jks", "key_store_password": PASSWORD}));
    }

    #[test]
    fn arbitrary_trust_certificates_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        text in ".{0,300}",
        name in prop::sample::select(vec!["t.pem", "t.der", "t.crt", "t.p12", "t.jks"]),
    ) {
        assert_no_panic(with(p12_body(), json!({"trust_certificate": b64(&bytes), "trust_certificate_file_name": name})));
        assert_no_panic(with(p12_body(), json!({"trust_certificate": text, "trust_certificate_file_name": name})));
        let pem = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", b64(&bytes));
        assert_no_panic(with(p12_body(), json!({"trust_certificate": pem, "trust_certificate_file_name": name})));
    }
}

// ---------------------------------------------------------------------
// Real-world key stores: made by keytool and openssl (fixtures/mtls/,
// each file's command in its README), saved, then presented to a TLS
// server that pins them or trusts their CA.

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/mtls")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A key store from fixtures/mtls with its password (none when empty).
fn store(name: &str, password: &str) -> Value {
    let mut body = json!({"key_store": b64(&fixture(name)), "key_store_file_name": name});
    if !password.is_empty() {
        body["key_store_password"] = json!(password);
    }
    body
}

/// A trust certificate from fixtures/mtls: PEM as text, anything else
/// base64.
fn trust(name: &str, password: Option<&str>) -> Value {
    let bytes = fixture(name);
    let text = if name.ends_with(".pem") {
        String::from_utf8(bytes).unwrap()
    } else {
        b64(&bytes)
    };
    let mut body = json!({"trust_certificate": text, "trust_certificate_file_name": name});
    if let Some(p) = password {
        body["trust_certificate_password"] = json!(p);
    }
    body
}

fn external_trust() -> Value {
    trust("brand-server.pem", None)
}

/// The fixtures' notAfter is 3650 days after they were made; a few
/// tests move the clock relative to it.
fn not_after_of(saved: &MutualAuth) -> i64 {
    saved.key_certificate.facts.not_after.unix_secs()
}

/// The vault seals a Mutual Authentication credential's key store and
/// passwords in clear and reads them back whole (everywhere else they
/// serialise as "[redacted]").
#[test]
fn the_vault_seals_the_key_store_and_its_passwords() {
    let saved = validate(with(
        store("cb-mtls-server.p12", PASSWORD),
        trust("brand-trust.p12", Some("trustpass")),
    ))
    .unwrap();
    let credential = credentials::Credential {
        name: "api-mtls".into(),
        kind: Kind::MutualAuthentication(saved),
        created_at: Instant::from_unix_secs(1),
        updated_at: Instant::from_unix_secs(1),
    };
    let sealed = credential.sealed().to_string();
    assert!(!sealed.contains("[redacted]"), "{sealed}");
    assert!(sealed.contains(PASSWORD) && sealed.contains("trustpass"));
    let back: credentials::Credential = serde_json::from_str(&sealed).unwrap();
    assert_eq!(back, credential);
    assert_eq!(
        credential.view().to_string().matches("[redacted]").count(),
        3
    );
}

#[test]
fn the_documents_keytool_recipe_is_saved_with_its_imported_server_certificate() {
    // keytool -genkeypair ... -keystore cb-mtls-server.p12, then
    // keytool -import -alias company-alias -file brand-server.der.
    let saved = validate(store("cb-mtls-server.p12", PASSWORD)).unwrap();
    assert_eq!(saved.key_certificate.facts.subject, "CN=cb-mtls");
    assert_eq!(saved.key_certificate.facts.issuer, "CN=cb-mtls");
    assert_eq!(saved.key_certificate.facts.key_type, "RSA 2048");
    assert_eq!(saved.key_certificate.alias, "nt-ms");
    let trusted: Vec<&str> = saved
        .trust_certificates
        .iter()
        .map(|t| t.subject.as_str())
        .collect();
    assert_eq!(trusted, ["CN=brand-api.example"]);
    assert!(saved.warnings.is_empty(), "{:?}", saved.warnings);
    // The same key store with the server certificate uploaded as well.
    for t in [
        trust("brand-server.der", None),
        trust("brand-server.pem", None),
    ] {
        let saved = validate(with(store("cb-mtls-server.p12", PASSWORD), t)).unwrap();
        assert_eq!(saved.trust_certificates[0].subject, "CN=brand-api.example");
    }
}

#[test]
fn a_key_store_alone_without_a_trusted_entry_asks_for_the_trust_certificate() {
    let errors = validate(store("cb-mtls-key-only.p12", PASSWORD)).unwrap_err();
    assert_eq!(
        errors.iter().map(|e| (e.field, e.code)).collect::<Vec<_>>(),
        [("trust_certificate", "missing")]
    );
    assert!(
        errors[0].message.contains("server certificate"),
        "{}",
        errors[0].message
    );
}

#[test]
fn trust_certificates_in_every_documented_format_are_read() {
    let key = || store("cb-mtls-key-only.p12", PASSWORD);
    for t in [
        trust("brand-server.pem", None),
        trust("brand-server.der", None),
        trust("brand-trust.p12", Some("trustpass")),
        trust("brand-trust.jks", Some("trustpass")),
    ] {
        let saved = validate(with(key(), t.clone())).unwrap_or_else(|e| panic!("{t}: {e:?}"));
        assert_eq!(saved.trust_certificates.len(), 1);
        assert_eq!(saved.trust_certificates[0].subject, "CN=brand-api.example");
    }
    assert_eq!(
        codes(with(key(), trust("brand-trust.p12", Some("wrong")))),
        [("trust_certificate_password", "wrong_password")]
    );
    assert_eq!(
        codes(with(key(), trust("brand-trust.jks", None))),
        [("trust_certificate_password", "missing")]
    );
}

/// A key store that is refused: file, password, extra fields, the errors.
type Refused = (
    &'static str,
    &'static str,
    Value,
    &'static [(&'static str, &'static str)],
);

#[test]
fn real_world_key_stores_are_accepted_or_refused_with_a_precise_reason() {
    // (file, password, subject, key type) that save.
    let accepted = [
        ("openssl3-rsa.p12", PASSWORD, "CN=openssl3-rsa", "RSA 2048"),
        ("openssl3-ec.p12", PASSWORD, "CN=openssl3-ec", "EC P-256"),
        (
            "openssl-legacy.p12",
            PASSWORD,
            "CN=openssl-legacy",
            "RSA 2048",
        ),
        (
            "openssl-empty-password.p12",
            "",
            "CN=openssl-nopass",
            "EC P-256",
        ),
        (
            "openssl-unencrypted.p12",
            "",
            "CN=openssl-nopass",
            "EC P-256",
        ),
        ("keytool-rsa.jks", PASSWORD, "CN=keytool-rsa", "RSA 2048"),
        ("keytool-ec.jks", PASSWORD, "CN=keytool-ec", "EC P-256"),
        ("keytool-ec.p12", PASSWORD, "CN=keytool-ec-p12", "EC P-256"),
        ("chain.p12", PASSWORD, "CN=chain-client", "EC P-256"),
    ];
    for (file, password, subject, key_type) in accepted {
        let saved = validate(with(store(file, password), external_trust()))
            .unwrap_or_else(|e| panic!("{file}: {e:?}"));
        assert_eq!(saved.key_certificate.facts.subject, subject, "{file}");
        assert_eq!(saved.key_certificate.facts.key_type, key_type, "{file}");
        assert!(saved.warnings.is_empty(), "{file}: {:?}", saved.warnings);
    }
    let chain = validate(with(store("chain.p12", PASSWORD), external_trust())).unwrap();
    assert_eq!(chain.key_certificate.chain_length, 3);
    assert_eq!(
        chain.key_certificate.facts.issuer,
        "CN=fixture intermediate CA"
    );
    // Alone, a chain's CAs are what the store trusts.
    let alone = validate(store("chain.p12", PASSWORD)).unwrap();
    assert_eq!(alone.trust_certificates.len(), 2);

    // (file, password, extra fields, expected errors).
    let refused: [Refused; 6] = [
        (
            "cb-mtls-server.p12",
            "not-the-password",
            json!({}),
            &[("key_store_password", "wrong_password")],
        ),
        (
            "keytool-rsa.jks",
            "",
            json!({}),
            &[("key_store_password", "missing")],
        ),
        (
            "expired.p12",
            PASSWORD,
            json!({}),
            &[("key_store", "expired")],
        ),
        (
            "two-keys.p12",
            PASSWORD,
            json!({}),
            &[("key_store", "several_private_keys")],
        ),
        (
            "two-keys.p12",
            PASSWORD,
            json!({"key_alias": "third"}),
            &[("key_alias", "unknown_alias")],
        ),
        (
            "server-only-eku.p12",
            PASSWORD,
            json!({}),
            &[("key_store", "not_for_client_auth")],
        ),
    ];
    for (file, password, extra, expected) in refused {
        let body = with(with(store(file, password), external_trust()), extra);
        assert_eq!(codes(body), expected, "{file}");
    }
    let expired = validate(with(store("expired.p12", PASSWORD), external_trust())).unwrap_err();
    assert!(
        expired[0].message.contains("expired on 20"),
        "a date people read: {}",
        expired[0].message
    );
    let several = validate(with(store("two-keys.p12", PASSWORD), external_trust())).unwrap_err();
    assert!(
        several[0].message.contains("first, second") && several[0].message.contains("key_alias"),
        "{}",
        several[0].message
    );
    // Naming the alias picks that key.
    let second = validate(with(
        with(store("two-keys.p12", PASSWORD), external_trust()),
        json!({"key_alias": "second"}),
    ))
    .unwrap();
    assert_eq!(second.key_certificate.facts.subject, "CN=second");
    assert_eq!(second.key_certificate.alias, "second");
}

#[test]
fn a_version_1_certificate_is_saved_with_a_warning_that_says_what_it_is() {
    let saved = validate(with(store("v1-rsa.p12", PASSWORD), external_trust())).unwrap();
    assert_eq!(saved.key_certificate.facts.key_type, "RSA 2048");
    let codes: Vec<&str> = saved.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["x509_v1"]);
    let message = &saved.warnings[0].message;
    assert!(message.contains("version 1"), "{message}");
    assert!(message.contains("rustls"), "{message}");
    assert!(!message.contains("are supported"), "{message}");
}

#[test]
fn a_key_certificate_expiring_within_30_days_is_saved_with_a_warning() {
    let body = || with(store("cb-mtls-key-only.p12", PASSWORD), external_trust());
    let not_after = not_after_of(&validate(body()).unwrap());
    let soon = validate_at(body(), not_after - 10 * 86_400).unwrap();
    assert_eq!(soon.warnings.len(), 1, "{:?}", soon.warnings);
    assert_eq!(soon.warnings[0].code, "expires_soon");
    assert!(
        soon.warnings[0].message.contains("10 days"),
        "{}",
        soon.warnings[0].message
    );
    let later = validate_at(body(), not_after - 31 * 86_400).unwrap();
    assert!(later.warnings.is_empty());
    // Past both certificates' end: each said.
    let past = validate_at(body(), not_after + 86_400).unwrap_err();
    let mut codes: Vec<(&str, &str)> = past.iter().map(|e| (e.field, e.code)).collect();
    codes.sort();
    assert_eq!(
        codes,
        [
            ("key_store", "expired"),
            ("trust_certificate", "trust_expired")
        ]
    );
}

const ALICE: &str = "c0ffee00-a11c-4e00-8000-000000000001";

/// The external system: the brand API's mutual TLS listener presenting
/// its self-signed certificate (fixtures/mtls/brand-server.pem), trusting
/// client certificates issued under `chain-root.pem` and those pinned. Its
/// fixtures are the default brand's (which pin the recipe's `cb-mtls`).
async fn external_system(clock: &Clock) -> standin::MockBrandApi {
    use standin::brand_api::{BrandApiOptions, CertificateSubject};
    let tls = standin::tls::TlsSettings::from_pem(
        &fixture("brand-server.pem"),
        &fixture("brand-server-key.pem"),
        &fixture("chain-root.pem"),
    )
    .unwrap();
    let mut options = BrandApiOptions::new("http://127.0.0.1:1");
    options.clock = clock.clone();
    options.tls = Some(tls);
    options
        .fixtures
        .client_certificates
        .push(CertificateSubject {
            common_name: "chain-client".into(),
            sub: ALICE.into(),
        });
    standin::MockBrandApi::start_with(options).await.unwrap()
}

fn material_leaf(saved: &MutualAuth) -> rustls_pki_types::CertificateDer<'static> {
    saved.material().unwrap().chain[0].clone()
}

#[tokio::test]
async fn real_world_key_stores_are_presented_as_client_certificates() {
    let clock = Clock::new();
    let api = external_system(&clock).await;
    let url = format!("{}/mtls/orders", api.mtls_url().unwrap());
    let timeout = std::time::Duration::from_secs(10);
    // (file, password, pinned at the brand?)
    let stores = [
        ("cb-mtls-server.p12", PASSWORD, false), // pinned by the fixtures
        ("openssl3-rsa.p12", PASSWORD, true),
        ("openssl3-ec.p12", PASSWORD, true),
        ("openssl-legacy.p12", PASSWORD, true),
        ("openssl-unencrypted.p12", "", true),
        ("keytool-rsa.jks", PASSWORD, true),
        ("keytool-ec.jks", PASSWORD, true),
        ("chain.p12", PASSWORD, false), // issued under chain-root.pem
    ];
    for (file, password, pin) in stores {
        let saved = validate(with(store(file, password), external_trust()))
            .unwrap_or_else(|e| panic!("{file}: {e:?}"));
        if pin {
            api.control()
                .pinned_clients()
                .pin(material_leaf(&saved), ALICE);
        }
        let client =
            credentials::mutual_authentication::client::build(&saved, timeout, &clock).unwrap();
        let response = client
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{file}: {e:?}"));
        assert_eq!(response.status(), 200, "{file}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["sub"], ALICE, "{file}");
        assert_eq!(
            body["client_certificate"]["subject"],
            saved.key_certificate.facts.subject.as_str(),
            "{file}"
        );
    }
}

#[tokio::test]
async fn the_connection_test_says_what_happened() {
    use credentials::mutual_authentication::probe::probe;
    let clock = Clock::new();
    let api = external_system(&clock).await;
    let url = url::Url::parse(&format!("{}/mtls/orders", api.mtls_url().unwrap())).unwrap();
    let timeout = std::time::Duration::from_secs(10);
    let run = |saved: MutualAuth| {
        let url = url.clone();
        let clock = clock.clone();
        async move {
            let m = saved.material().unwrap();
            serde_json::to_value(probe(&saved, &m, &url, &clock, timeout).await).unwrap()
        }
    };

    // The recipe: pinned both ways.
    let recipe = validate(store("cb-mtls-server.p12", PASSWORD)).unwrap();
    let report = run(recipe).await;
    assert_eq!(report["connected"], true, "{report}");
    assert_eq!(report["http_status"], 200, "{report}");
    assert_eq!(report["tls_version"], "TLSv1.3", "{report}");
    assert_eq!(
        report["server_certificate"]["subject"],
        "CN=brand-api.example"
    );
    assert_eq!(report["server_certificate"]["trusted_as"], "pinned");
    assert!(
        report["cipher_suite"]
            .as_str()
            .unwrap()
            .starts_with("TLS13_")
    );

    // TLS 1.2 only, when asked.
    let tls12 = validate(with(
        store("cb-mtls-server.p12", PASSWORD),
        json!({"tls_versions": ["TLSv1.2"]}),
    ))
    .unwrap();
    let report = run(tls12).await;
    assert_eq!(report["tls_version"], "TLSv1.2", "{report}");

    // The server's certificate is not the one trusted: both named.
    let wrong_trust = validate(with(
        store("cb-mtls-key-only.p12", PASSWORD),
        trust("other-server.pem", None),
    ))
    .unwrap();
    let report = run(wrong_trust).await;
    assert_eq!(report["connected"], false, "{report}");
    assert_eq!(report["error"]["code"], "server_not_trusted", "{report}");
    let message = report["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("CN=brand-api.example") && message.contains("CN=other-api.example"),
        "{message}"
    );

    // A client certificate the brand does not know: the server's refusal.
    let unknown = validate(with(store("keytool-ec.p12", PASSWORD), external_trust())).unwrap();
    let report = run(unknown).await;
    assert_eq!(report["connected"], false, "{report}");
    // The alert, or (TLS 1.3) the close that overtook it.
    assert!(
        ["client_certificate_refused", "connection_closed"]
            .contains(&report["error"]["code"].as_str().unwrap_or_default()),
        "{report}"
    );
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CN=keytool-ec-p12"),
        "{report}"
    );

    // Pinned at the brand but version 1: a rustls server refuses it.
    let v1 = validate(with(store("v1-rsa.p12", PASSWORD), external_trust())).unwrap();
    api.control()
        .pinned_clients()
        .pin(material_leaf(&v1), ALICE);
    let report = run(v1).await;
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("refused the client certificate CN=v1-rsa"),
        "{report}"
    );

    // Nothing listening.
    let recipe = validate(store("cb-mtls-server.p12", PASSWORD)).unwrap();
    let m = recipe.material().unwrap();
    let closed = url::Url::parse("https://127.0.0.1:1/").unwrap();
    let report = serde_json::to_value(probe(&recipe, &m, &closed, &clock, timeout).await).unwrap();
    assert_eq!(report["error"]["code"], "unreachable", "{report}");
    assert_eq!(report["error"]["stage"], "tcp", "{report}");
}

#[tokio::test]
async fn a_server_without_a_common_tls_version_is_named_as_such() {
    use std::sync::Arc;
    // A TLS 1.2-only server presenting the external system's certificate.
    let chain = rustls_pki_types::CertificateDer::pem_slice_iter(&fixture("brand-server.pem"))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key =
        rustls_pki_types::PrivateKeyDer::from_pem_slice(&fixture("brand-server-key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS12])
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = acceptor.accept(tcp).await;
        }
    });
    let saved = validate(with(
        store("cb-mtls-server.p12", PASSWORD),
        json!({"tls_versions": ["TLSv1.3"]}),
    ))
    .unwrap();
    let m = saved.material().unwrap();
    let url = url::Url::parse(&format!("https://{addr}/")).unwrap();
    let report = credentials::mutual_authentication::probe::probe(
        &saved,
        &m,
        &url,
        &Clock::new(),
        std::time::Duration::from_secs(10),
    )
    .await;
    let report = serde_json::to_value(report).unwrap();
    assert_eq!(report["error"]["code"], "no_common_tls_version", "{report}");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allows TLSv1.3"),
        "{report}"
    );
}

/// An external system nobody here wrote: `openssl s_server` on loopback,
/// presenting the brand's self-signed certificate and requiring a client
/// certificate that `trusted` (PEM) vouches for.
struct OpensslServer {
    child: std::process::Child,
    url: url::Url,
    _trust: tempfile_path::TempPem,
}

mod tempfile_path {
    /// A PEM file removed when dropped.
    pub struct TempPem(pub std::path::PathBuf);
    impl Drop for TempPem {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

impl OpensslServer {
    fn start(trusted: &str) -> OpensslServer {
        use std::io::{BufRead as _, BufReader};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mtls");
        let trust = std::env::temp_dir().join(format!(
            "standin-openssl-trust-{}-{}.pem",
            std::process::id(),
            standin::secret::random_token(8)
        ));
        std::fs::write(&trust, trusted).unwrap();
        let mut child = std::process::Command::new("openssl")
            .args([
                "s_server",
                "-accept",
                "127.0.0.1:0",
                "-www",
                "-Verify",
                "1",
                "-verify_return_error",
            ])
            .arg("-cert")
            .arg(dir.join("brand-server.pem"))
            .arg("-key")
            .arg(dir.join("brand-server-key.pem"))
            .arg("-CAfile")
            .arg(&trust)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl is on the machine");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let port = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| {
                l.strip_prefix("ACCEPT 127.0.0.1:")
                    .map(|p| p.trim().to_string())
            })
            .expect("openssl s_server says where it listens");
        // Keep reading its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        OpensslServer {
            child,
            url: url::Url::parse(&format!("https://127.0.0.1:{port}/")).unwrap(),
            _trust: tempfile_path::TempPem(trust),
        }
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The connection test against OpenSSL rather than rustls: the recipe's
/// key store connects when the server trusts its certificate, a store it
/// does not trust is refused and said so, and a version 1 client
/// certificate is accepted there (what the `x509_v1` warning says of
/// OpenSSL-based servers).
#[tokio::test]
async fn the_connection_test_against_an_openssl_server() {
    use credentials::mutual_authentication::keystore::pem;
    use credentials::mutual_authentication::probe::probe;
    let clock = Clock::new();
    let timeout = std::time::Duration::from_secs(10);
    let run = |saved: MutualAuth, url: url::Url| {
        let clock = clock.clone();
        async move {
            let m = saved.material().unwrap();
            serde_json::to_value(probe(&saved, &m, &url, &clock, timeout).await).unwrap()
        }
    };
    let recipe = validate(store("cb-mtls-server.p12", PASSWORD)).unwrap();
    let server = OpensslServer::start(&String::from_utf8(fixture("cb-mtls.pem")).unwrap());
    let report = run(recipe.clone(), server.url.clone()).await;
    assert_eq!(report["connected"], true, "{report}");
    assert_eq!(
        report["server_certificate"]["trusted_as"], "pinned",
        "{report}"
    );

    let stranger = validate(with(store("keytool-ec.p12", PASSWORD), external_trust())).unwrap();
    let report = run(stranger, server.url.clone()).await;
    assert_eq!(report["connected"], false, "{report}");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("refused the client certificate CN=keytool-ec-p12"),
        "{report}"
    );

    let v1 = validate(with(store("v1-rsa.p12", PASSWORD), external_trust())).unwrap();
    let v1_pem = pem("CERTIFICATE", &material_leaf(&v1));
    let v1_server = OpensslServer::start(&v1_pem);
    let report = run(v1, v1_server.url.clone()).await;
    assert_eq!(report["connected"], true, "{report}");
}
