//! Mutual Authentication credentials: the brand's test PKI (one CA and a
//! foreign one per test process), the key stores and trust certificates a
//! scenario issues, and what a saved credential shows of them.
//!
//! A file issued under a name goes into a saved body as `{file:NAME}`
//! (see [`DelegationWorld::expand`]): base64 for binary files (`.p12`,
//! `.pfx`, `.jks`, `.der`, `.cer`), JSON-escaped PEM text for `.pem` and
//! `.crt`. `{mtls_api}` is the brand API's mutual TLS listener,
//! `{external_api}` the external system's ([`external_system`]): the files
//! of the documents' recipe, made by keytool and openssl, are in
//! `fixtures/mtls/` (their README gives each command).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use anyhow::{Context as _, anyhow, bail, ensure};
use base64::Engine as _;
use cucumber::{given, then, when};
use serde_json::json;
use sha2::Digest as _;
use standin::MockBrandApi;
use standin::brand_api::{BrandApiFixtures, BrandApiOptions};
use standin::clock::Clock;
use standin::pki::{Ca, Issued, Validity};
use standin::tls::TlsSettings;

use super::DelegationWorld;

/// The common name of the brand API's mTLS listener's CA.
pub const BRAND_CA: &str = "standin brand CA";

/// The brand's CA (which issued the mTLS listener's server certificate and
/// whose client certificates it accepts) and a foreign CA.
pub struct Pki {
    pub settings: TlsSettings,
    pub brand: Ca,
    pub foreign: Ca,
}

static PKI: LazyLock<Result<Pki, String>> = LazyLock::new(|| {
    let (settings, brand) = TlsSettings::generate(BRAND_CA).map_err(|e| e.to_string())?;
    let foreign = Ca::generate("someone else's CA").map_err(|e| e.to_string())?;
    Ok(Pki {
        settings,
        brand,
        foreign,
    })
});

/// The process's PKI, generated on first use (ECDSA keys: milliseconds).
pub fn pki() -> anyhow::Result<&'static Pki> {
    PKI.as_ref()
        .map_err(|e| anyhow!("cannot generate the test PKI: {e}"))
}

/// The files a scenario issued, by name.
#[derive(Default)]
pub struct MtlsFiles {
    /// As they go into a JSON string.
    encoded: BTreeMap<String, String>,
    /// The certificate (DER) of each key store.
    certificates: BTreeMap<String, Vec<u8>>,
}

impl fmt::Debug for MtlsFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.encoded.keys()).finish()
    }
}

impl MtlsFiles {
    /// `text` with `{file:NAME}` replaced by each file's encoding.
    pub fn expand(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (name, encoded) in &self.encoded {
            out = out.replace(&format!("{{file:{name}}}"), encoded);
        }
        out
    }

    fn add(&mut self, name: &str, bytes: &[u8]) {
        self.encoded.insert(
            name.to_string(),
            base64::engine::general_purpose::STANDARD.encode(bytes),
        );
    }

    fn add_text(&mut self, name: &str, text: &str) -> anyhow::Result<()> {
        let json = serde_json::to_string(text)?;
        self.encoded
            .insert(name.to_string(), json.trim_matches('"').to_string());
        Ok(())
    }
}

fn extension(name: &str) -> anyhow::Result<&str> {
    name.rsplit_once('.')
        .map(|(_, ext)| ext)
        .ok_or_else(|| anyhow!("{name:?} has no extension to say its format"))
}

impl DelegationWorld {
    /// Keep `issued` as a key store named `name` (its extension says PKCS#12
    /// or JKS).
    fn issue_key_store(
        &mut self,
        name: &str,
        issued: &Issued,
        password: &str,
    ) -> anyhow::Result<()> {
        let bytes = match extension(name)? {
            "p12" | "pfx" => issued.to_pkcs12(password)?,
            "jks" => issued.to_jks(password)?,
            other => bail!("a key store is .p12, .pfx or .jks, not .{other}"),
        };
        self.mtls.add(name, &bytes);
        self.mtls
            .certificates
            .insert(name.to_string(), issued.to_der());
        Ok(())
    }

    fn issue_from(
        &mut self,
        name: &str,
        ca: &Ca,
        subject: &str,
        validity: Validity,
        password: &str,
    ) -> anyhow::Result<()> {
        let issued = ca
            .issue_client(subject, validity)
            .context("issuing the client certificate")?;
        self.issue_key_store(name, &issued, password)
    }

    /// Keep CA certificates as a trust certificate file named `name`.
    fn trust_file(&mut self, name: &str, cas: &[&Ca]) -> anyhow::Result<()> {
        match extension(name)? {
            "pem" | "crt" => {
                let text: String = cas.iter().map(|c| c.to_pem()).collect();
                self.mtls.add_text(name, &text)
            }
            "der" | "cer" => {
                ensure!(cas.len() == 1, "a DER file holds one certificate");
                self.mtls.add(name, &cas[0].to_der());
                Ok(())
            }
            other => bail!("a trust certificate is .pem, .crt, .der or .cer, not .{other}"),
        }
    }
}

#[given(expr = "a key store {string} issued by the brand's CA to {string} with password {string}")]
fn brand_key_store(
    world: &mut DelegationWorld,
    name: String,
    subject: String,
    password: String,
) -> anyhow::Result<()> {
    let validity = Validity::days_from(world.clock.now(), 30);
    world.issue_from(&name, &pki()?.brand, &subject, validity, &password)
}

#[given(
    expr = "a key store {string} issued by the brand's CA to {string} with password {string}, valid for {int} day(s)"
)]
fn brand_key_store_for(
    world: &mut DelegationWorld,
    name: String,
    subject: String,
    password: String,
    days: u32,
) -> anyhow::Result<()> {
    let validity = Validity::days_from(world.clock.now(), days);
    world.issue_from(&name, &pki()?.brand, &subject, validity, &password)
}

#[given(
    expr = "an expired key store {string} issued by the brand's CA to {string} with password {string}"
)]
fn expired_key_store(
    world: &mut DelegationWorld,
    name: String,
    subject: String,
    password: String,
) -> anyhow::Result<()> {
    let validity = Validity::expired_at(world.clock.now());
    world.issue_from(&name, &pki()?.brand, &subject, validity, &password)
}

#[given(expr = "a key store {string} issued by a foreign CA to {string} with password {string}")]
fn foreign_key_store(
    world: &mut DelegationWorld,
    name: String,
    subject: String,
    password: String,
) -> anyhow::Result<()> {
    let validity = Validity::days_from(world.clock.now(), 30);
    world.issue_from(&name, &pki()?.foreign, &subject, validity, &password)
}

#[given(
    expr = "a key store {string} pairing one key with another key's certificate, with password {string}"
)]
fn mismatched_key_store(
    world: &mut DelegationWorld,
    name: String,
    password: String,
) -> anyhow::Result<()> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
    let pki = pki()?;
    let validity = Validity::days_from(world.clock.now(), 30);
    let certified = pki.brand.issue_client("standin-client", validity)?;
    let other = pki.brand.issue_client("standin-client", validity)?;
    let chain = [
        Certificate::from_der(certified.cert_der())?,
        Certificate::from_der(pki.brand.cert_der())?,
    ];
    let mut store = KeyStore::new();
    store.add_entry(
        "standin-client",
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(
            vec![1; 20],
            PrivateKey::from_der(other.key_der().secret_pkcs8_der())?,
            chain,
        )),
    );
    ensure!(extension(&name)? == "p12", "this key store is a .p12");
    world.mtls.add(&name, &store.writer(&password).write()?);
    Ok(())
}

#[given(expr = "the brand's CA certificate as {string}")]
fn brand_ca_file(world: &mut DelegationWorld, name: String) -> anyhow::Result<()> {
    world.trust_file(&name, &[&pki()?.brand])
}

#[given(expr = "the brand's and the foreign CA's certificates as {string}")]
fn both_ca_file(world: &mut DelegationWorld, name: String) -> anyhow::Result<()> {
    let pki = pki()?;
    world.trust_file(&name, &[&pki.brand, &pki.foreign])
}

#[then(expr = "the answer shows the SHA-256 fingerprint of the certificate in {string}")]
fn shows_fingerprint(world: &mut DelegationWorld, name: String) -> anyhow::Result<()> {
    let der = world
        .mtls
        .certificates
        .get(&name)
        .ok_or_else(|| anyhow!("the scenario issued no key store {name:?}"))?;
    let expected = sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let (_, body) = world.last_credential_answer()?;
    let shown = body["key_certificate"]["sha256_fingerprint"]
        .as_str()
        .unwrap_or_default();
    ensure!(
        shown == expected,
        "the fingerprint shown is {shown:?}, the certificate's is {expected:?}: {body}"
    );
    Ok(())
}

#[then(
    expr = "the answer shows the key certificate valid from now until about {int} day(s) from now"
)]
fn shows_validity(world: &mut DelegationWorld, days: i64) -> anyhow::Result<()> {
    let (_, body) = world.last_credential_answer()?;
    let not_before = body["key_certificate"]["not_before"]
        .as_i64()
        .ok_or_else(|| anyhow!("no key_certificate.not_before in {body}"))?;
    ensure!(
        not_before <= world.clock.now().unix_secs(),
        "the certificate is valid only from {not_before}, after now"
    );
    let not_after = body["key_certificate"]["not_after"]
        .as_i64()
        .ok_or_else(|| anyhow!("no key_certificate.not_after in {body}"))?;
    let expected = world.clock.now().unix_secs() + days * 86_400;
    ensure!(
        (not_after - expected).abs() < 120,
        "the certificate is valid until {not_after}, expected about {expected}"
    );
    Ok(())
}

#[then(expr = "the answer shows {int} trust certificate(s)")]
fn shows_trust_count(world: &mut DelegationWorld, expected: usize) -> anyhow::Result<()> {
    let (_, body) = world.last_credential_answer()?;
    let count = body["trust_certificates"]
        .as_array()
        .ok_or_else(|| anyhow!("no trust_certificates in {body}"))?
        .len();
    ensure!(
        count == expected,
        "the answer shows {count} trust certificates, expected {expected}"
    );
    Ok(())
}

/// The consumer the external system's registered certificates read for.
const ALICE: &str = "c0ffee00-a11c-4e00-8000-000000000001";

fn fixture(name: &str) -> anyhow::Result<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/mtls")
        .join(name);
    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
}

/// The external system of the documents' recipe: the brand API serving
/// mutual TLS with its own self-signed certificate
/// (`fixtures/mtls/brand-server.pem`), trusting client certificates of the
/// brand's CA and, one by one, the ones registered with it (none at
/// first: the default fixtures' pinned certificate is left out).
pub async fn external_system(issuer: &str, clock: &Clock) -> anyhow::Result<MockBrandApi> {
    let tls = TlsSettings::from_pem(
        &fixture("brand-server.pem")?,
        &fixture("brand-server-key.pem")?,
        pki()?.brand.to_pem().as_bytes(),
    )?;
    let mut fixtures = BrandApiFixtures::default_brand();
    fixtures.pinned_client_certificates.clear();
    let mut options = BrandApiOptions::new(issuer);
    options.clock = clock.clone();
    options.fixtures = fixtures;
    options.tls = Some(tls);
    MockBrandApi::start_with(options)
        .await
        .map_err(|e| anyhow!("cannot start the external system: {e}"))
}

#[given(expr = "the file {string} made by keytool or openssl")]
fn fixture_file(world: &mut DelegationWorld, name: String) -> anyhow::Result<()> {
    let bytes = fixture(&name)?;
    if matches!(extension(&name)?, "pem" | "crt") {
        world.mtls.add_text(&name, std::str::from_utf8(&bytes)?)
    } else {
        world.mtls.add(&name, &bytes);
        Ok(())
    }
}

#[when(expr = "the brand registers the platform's certificate {string} at the external system")]
async fn register(world: &mut DelegationWorld, name: String) -> anyhow::Result<()> {
    let pem = String::from_utf8(fixture(&name)?)?;
    let response = world
        .http
        .post(format!(
            "{}/admin/client-certificates",
            world.external.url()
        ))
        .json(&json!({"certificate": pem, "sub": ALICE}))
        .send()
        .await?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    ensure!(
        status == 201,
        "the external system answered {status}: {body}"
    );
    Ok(())
}

#[when(expr = "the admin of {string} tests the connection of {string} to the external system")]
async fn test_external(
    world: &mut DelegationWorld,
    org: String,
    name: String,
) -> anyhow::Result<()> {
    let url = format!(
        "{}/mtls/orders",
        world.external.mtls_url().unwrap_or_default()
    );
    connection_test(world, &org, &name, &url).await
}

#[when(expr = "the admin of {string} tests the connection of {string} to the brand API")]
async fn test_brand_api(
    world: &mut DelegationWorld,
    org: String,
    name: String,
) -> anyhow::Result<()> {
    let url = format!("{}/mtls/orders", world.api.mtls_url().unwrap_or_default());
    connection_test(world, &org, &name, &url).await
}

async fn connection_test(
    world: &mut DelegationWorld,
    org: &str,
    name: &str,
    url: &str,
) -> anyhow::Result<()> {
    let body = json!({ "url": url }).to_string();
    let (status, answer) = world
        .credential_request(
            reqwest::Method::POST,
            &format!(
                "/api/orgs/{org}/credentials/{}/test",
                super::vault::encode(name)
            ),
            Some(&body),
        )
        .await?;
    ensure!(
        status == 200,
        "the connection test answered {status}: {answer}"
    );
    Ok(())
}

#[then(expr = "the connection test connected over {string}")]
fn connected(world: &mut DelegationWorld, version: String) -> anyhow::Result<()> {
    let (_, body) = world.last_credential_answer()?;
    ensure!(
        body["connected"] == true,
        "the test did not connect: {body}"
    );
    ensure!(
        body["tls_version"] == version.as_str(),
        "not over {version}: {body}"
    );
    ensure!(
        body["http_status"] == 200,
        "the external system did not answer 200: {body}"
    );
    Ok(())
}

#[then(expr = "the connection test failed with {string} saying {string}")]
fn failed(world: &mut DelegationWorld, code: String, part: String) -> anyhow::Result<()> {
    let (_, body) = world.last_credential_answer()?;
    ensure!(body["connected"] == false, "the test connected: {body}");
    ensure!(body["error"]["code"] == code.as_str(), "not {code}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    ensure!(
        message.contains(&part),
        "the message {message:?} does not say {part:?}"
    );
    Ok(())
}

/// A refusal of the client certificate reads as `client_certificate_refused`
/// or, when the server's close overtakes its alert (TLS 1.3),
/// `connection_closed`: both messages name the certificate.
#[then(expr = "the connection test failed saying {string}")]
fn failed_saying(world: &mut DelegationWorld, part: String) -> anyhow::Result<()> {
    let (_, body) = world.last_credential_answer()?;
    ensure!(body["connected"] == false, "the test connected: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    ensure!(
        message.contains(&part),
        "the message {message:?} does not say {part:?}"
    );
    Ok(())
}

#[then(expr = "the answer warns {string} saying {string}")]
fn warns(world: &mut DelegationWorld, code: String, part: String) -> anyhow::Result<()> {
    let (_, body) = world.last_credential_answer()?;
    let warnings = body["warnings"]
        .as_array()
        .ok_or_else(|| anyhow!("no warnings in {body}"))?;
    let found = warnings
        .iter()
        .find(|w| w["code"] == code.as_str())
        .ok_or_else(|| anyhow!("no {code} warning in {body}"))?;
    let message = found["message"].as_str().unwrap_or_default();
    ensure!(
        message.contains(&part),
        "the warning {message:?} does not say {part:?}"
    );
    Ok(())
}

#[then("the answer has no warning")]
fn no_warning(world: &mut DelegationWorld) -> anyhow::Result<()> {
    let (_, body) = world.last_credential_answer()?;
    ensure!(
        body["warnings"].as_array().is_some_and(Vec::is_empty),
        "warnings: {body}"
    );
    Ok(())
}

#[when(expr = "the shared clock moves to {int} days before the key certificate shown expires")]
fn clock_before_expiry(world: &mut DelegationWorld, days: i64) -> anyhow::Result<()> {
    let (_, body) = world.last_credential_answer()?;
    let not_after = body["key_certificate"]["not_after"]
        .as_i64()
        .ok_or_else(|| anyhow!("no key_certificate.not_after in {body}"))?;
    let by = not_after - days * 86_400 - world.clock.now().unix_secs();
    ensure!(by >= 0, "the clock cannot go back");
    world
        .clock
        .advance(std::time::Duration::from_secs(by as u64));
    Ok(())
}
