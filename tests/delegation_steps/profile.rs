//! The profile mode of the delegation suite: the scenarios against a
//! brand's own IdP, reached over HTTP only, instead of the embedded mock.
//!
//! `STANDIN_PROFILE=brand.toml cargo test --test delegation` reads the
//! profile of the IdP suite ([`standin::conformance::Profile`]). The
//! brand API and the platform stay ours, on the one clock the scenarios
//! move; the IdP keeps its own clock, so expiry is the brand API's and the
//! platform's decision, as it is in production.
//!
//! What the profile must give, besides the IdP suite's keys:
//! - `redirect_uri` is the platform's callback for organisation `demo`:
//!   `http://127.0.0.1:{port}/callback/demo/redirectCode` (or `localhost`).
//!   The platform listens on that port, so scenarios run one at a time.
//! - the client may use `orders:read` and `profile` (the brand API's
//!   scopes), and its access tokens are JWTs naming `api_audience`
//!   (default `brand-api`) or opaque tokens the IdP's introspection
//!   endpoint answers for the same client (RFC 7662).
//! - `[user] sub`, when the IdP's subject for the test user is not the
//!   default brand's alice: the brand API serves alice's data to it.
//!
//! In the scenarios, alice and `alice-password` stand for the profile's
//! test user, and the mock's 300 s access-token lifetime for
//! `access_token_lifetime`. Scenarios tagged with one of [`MOCK_ONLY_TAGS`]
//! are left out: they read or steer the mock IdP (what it issued, its
//! faults and defects) or need redirect URIs a profile does not register.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail, ensure};
use serde::Deserialize;
use standin::conformance::Profile;
use standin::idp::{IdpState, MockIdp};
use url::Url;

/// Tags of scenarios a profile run leaves out.
pub const MOCK_ONLY_TAGS: [&str; 2] = ["mock_idp", "more_redirect_uris"];

/// The profile of this run, if any (read once, before any scenario).
static PROFILE: OnceLock<Option<Arc<Profile>>> = OnceLock::new();

/// Read `STANDIN_PROFILE` for suite `suite` (only `delegation` has a
/// profile mode) and check it can run the suite; the process exits with 2
/// and one line saying why when it cannot.
pub fn init(suite: &str) -> Option<Arc<Profile>> {
    PROFILE
        .get_or_init(|| {
            let path = std::env::var_os("STANDIN_PROFILE").filter(|_| suite == "delegation")?;
            let profile = Profile::load(Path::new(&path))
                .map_err(|e| e.to_string())
                .and_then(|p| platform_addr(&p).map(|_| p));
            match profile {
                Ok(profile) => Some(Arc::new(profile)),
                Err(e) => {
                    eprintln!("STANDIN_PROFILE: {e}");
                    std::process::exit(2);
                }
            }
        })
        .clone()
}

/// The profile of this run, if any.
pub fn current() -> Option<Arc<Profile>> {
    PROFILE.get().cloned().flatten()
}

/// Where the platform must listen for the profile's redirect URI.
pub fn platform_addr(profile: &Profile) -> Result<SocketAddr, String> {
    let uri = &profile.redirect_uri;
    let wrong = |why: &str| {
        Err(format!(
            "redirect_uri {uri} {why}: the delegation suite's platform listens there; register \
             http://127.0.0.1:<port>/callback/demo/redirectCode for the client"
        ))
    };
    if uri.scheme() != "http" {
        return wrong("is not http");
    }
    if uri.path() != "/callback/demo/redirectCode" || uri.query().is_some() {
        return wrong("is not the path /callback/demo/redirectCode");
    }
    let ip = match uri.host_str() {
        Some("127.0.0.1" | "localhost") => [127, 0, 0, 1],
        _ => return wrong("is not on 127.0.0.1 or localhost"),
    };
    let Some(port) = uri.port_or_known_default() else {
        return wrong("has no port");
    };
    Ok(SocketAddr::from((ip, port)))
}

/// The IdP a scenario runs against: the embedded mock, or the profile's.
pub struct Idp {
    issuer: String,
    authorization_endpoint: String,
    mock: Option<MockIdp>,
}

impl Idp {
    pub fn mock(mock: MockIdp) -> Self {
        let issuer = mock.issuer().to_string();
        Self {
            authorization_endpoint: format!("{}/authorize", issuer.trim_end_matches('/')),
            issuer,
            mock: Some(mock),
        }
    }

    /// The profile's IdP, its authorization endpoint from discovery.
    pub async fn external(profile: &Profile) -> anyhow::Result<Self> {
        let issuer = profile.issuer_str();
        Ok(Self {
            authorization_endpoint: discovered_authorization_endpoint(&issuer).await?,
            issuer,
            mock: None,
        })
    }

    /// The issuer, exactly as the IdP names itself.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Where sign-in links point.
    pub fn authorization_endpoint(&self) -> &str {
        &self.authorization_endpoint
    }

    /// The embedded mock, for steps that read or steer it.
    pub fn embedded(&self) -> anyhow::Result<&MockIdp> {
        self.mock.as_ref().ok_or_else(|| {
            anyhow!(
                "this step reads or steers the mock IdP (what it issued, its faults), which a \
                 profile run does not have: tag the scenario @mock_idp"
            )
        })
    }

    /// The mock's control surface.
    pub fn control(&self) -> anyhow::Result<&IdpState> {
        self.embedded().map(MockIdp::control)
    }
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
}

/// Discovery once per run (the endpoint does not move during it).
async fn discovered_authorization_endpoint(issuer: &str) -> anyhow::Result<String> {
    static ENDPOINT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    ENDPOINT
        .get_or_try_init(|| async {
            let url = format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            );
            let discovery: Discovery = reqwest::get(&url)
                .await
                .with_context(|| format!("GET {url}"))?
                .error_for_status()
                .with_context(|| format!("GET {url}"))?
                .json()
                .await
                .with_context(|| format!("GET {url}: not a discovery document"))?;
            ensure!(
                discovery.issuer == issuer,
                "discovery at {url} names issuer {:?}, the profile {issuer:?}",
                discovery.issuer
            );
            Url::parse(&discovery.authorization_endpoint)
                .context("discovery's authorization_endpoint is not a URL")?;
            Ok(discovery.authorization_endpoint)
        })
        .await
        .cloned()
}

/// Bind-ready: the previous scenario's platform may still be letting go
/// of the fixed port; wait for it (a port, not an expiry), up to 5 s.
pub async fn port_free(addr: SocketAddr) -> anyhow::Result<()> {
    for _ in 0..250 {
        // As the platform binds: SO_REUSEADDR, so connections in TIME_WAIT
        // do not count, a listener still open does.
        let probe = tokio::net::TcpSocket::new_v4().and_then(|s| {
            s.set_reuseaddr(true)?;
            s.bind(addr)?;
            s.listen(1)
        });
        match probe {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => bail!("cannot listen on {addr} for the profile's redirect_uri: {e}"),
        }
    }
    bail!("{addr}, the profile's redirect_uri, stays in use by another program")
}
