//! The `standin` command line.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use standin::brand_api::introspection::IntrospectionClient;
use standin::brand_api::{BrandApiOptions, MockBrandApi};
use standin::clock::Clock;
use standin::idp::{Fixtures, IdpOptions, Limits, MockIdp};
use standin::nlu::{MockNlu, NluOptions};
use standin::platform::credentials::{VaultLocation, cipher::KEY_ENV};
use standin::platform::{Platform, PlatformFixtures, PlatformOptions};
use standin::stack::{Brand, BrandOptions, IdpChoice};
use standin::tls::TlsSettings;
use tracing_subscriber::EnvFilter;

/// Print a line to stdout; a closed pipe (`standin idp | head -1`) is not
/// an error worth dying for, unlike `println!`, which panics on it.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// A stand-in brand identity provider (and, with it, a brand API and a
/// conversational platform) for testing OAuth 2.0 consumer delegation on
/// one machine.
#[derive(Parser)]
#[command(name = "standin", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a brand's own IdP with the embedded reference platform as its
    /// client: discovery, the consumer's sign-in, the code exchange, the ID
    /// token, the brand API call, expiry, and what keeps codes safe. Exit
    /// code 0 when no check failed (warnings allowed), 1 when one did, 2
    /// when the run could not start.
    Conform {
        /// The profile: the IdP, its test client and test user
        /// (`--init` writes one to fill in).
        #[arg(long, value_name = "FILE", required_unless_present_any = ["init", "list_steps"])]
        profile: Option<PathBuf>,
        /// Write a commented profile to fill in (to --profile's path, which
        /// must not exist yet, or to standard output).
        #[arg(long)]
        init: bool,
        /// Print the step vocabulary, with an example of each.
        #[arg(long)]
        list_steps: bool,
        /// Run the feature files of this directory instead of the built-in
        /// checks, with the same step vocabulary.
        #[arg(long, value_name = "DIR")]
        features: Option<PathBuf>,
        /// Only the checks this tag expression selects
        /// (e.g. "@discovery or @authorization_server").
        #[arg(long, value_name = "EXPR")]
        tags: Option<String>,
        /// Write the HTML report (index.html: each check, and the HTTP
        /// exchanges behind each WARN and FAIL, secrets replaced by short
        /// ids) and the verdicts (verdicts.json) into this directory.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
        /// Write a JUnit XML report (one test case per check).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Write a Cucumber JSON report.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write the verdicts as JSON (check, verdict, rule, findings, fix).
        #[arg(long, value_name = "FILE")]
        verdicts: Option<PathBuf>,
        /// The whole run's limit, in seconds (default: the profile's
        /// [timeouts] run_secs).
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
        /// The consumer's browser: `http` (an HTTP agent filling forms, no
        /// JavaScript) or `chromium` (real headless Chromium over WebDriver:
        /// Debian's chromium and chromium-driver).
        #[arg(long, value_name = "http|chromium", default_value = "http", value_parser = ["http", "chromium"])]
        browser: String,
    },
    /// Start the mock brand IdP (port 8400), the mock brand API (8401) and
    /// the reference platform (8402) on 127.0.0.1 with the default fixtures
    /// and one shared clock, and print where to begin: a chat page where you
    /// talk to the demo bot, get its sign-in link and see your orders.
    Up {
        #[command(flatten)]
        vault: VaultArgs,
        /// Certificates of the TLS listeners (the brand API's mTLS
        /// listener on 8443, the IdP's on 8444); written here by
        /// `standin certs` if absent, with the client key stores to upload.
        #[arg(long, value_name = "DIR", default_value = "certs")]
        certs: PathBuf,
    },
    /// Start the mock brand IdP alone.
    Idp {
        /// Address to listen on. Off loopback, the admin API needs the
        /// fixtures' `admin_token`.
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        host: IpAddr,
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 8400)]
        port: u16,
        /// A brand fixtures file (see fixtures/brand.toml); default: the
        /// built-in brand.
        #[arg(long, value_name = "FILE")]
        fixtures: Option<PathBuf>,
        /// Public issuer URL, when clients reach the IdP by another name.
        #[arg(long, value_name = "URL")]
        issuer: Option<String>,
        /// Depart from the standards in this way (repeatable), as real
        /// IdPs do: state_dropped, iss_missing, code_reusable,
        /// pkce_not_enforced, ... (an unknown name lists them all; also
        /// PUT /admin/quirks at run time).
        #[arg(long = "quirk", value_name = "NAME")]
        quirks: Vec<String>,
        #[command(flatten)]
        limits: IdpLimitArgs,
    },
    /// Start the mock brand API alone: bearer JWTs checked against the
    /// JWKS of the IdP at `--issuer`, opaque tokens at its introspection
    /// endpoint when `--introspection-client` is given.
    #[command(name = "brand-api", alias = "resource")]
    BrandApi {
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        host: IpAddr,
        #[arg(long, default_value_t = 8401)]
        port: u16,
        /// The IdP whose tokens the API accepts (discovery, then JWKS).
        #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8400")]
        issuer: String,
        /// The `aud` the API requires in access tokens.
        #[arg(long, default_value = "brand-api")]
        audience: String,
        /// Also accept opaque access tokens, checked at the IdP's
        /// introspection endpoint (RFC 7662) as this client; its secret is
        /// read from STANDIN_INTROSPECTION_SECRET.
        #[arg(long, value_name = "CLIENT_ID")]
        introspection_client: Option<String>,
        /// Also serve the API over TLS on this port, requiring a client
        /// certificate from the CA in `--certs` (`/mtls/orders`).
        #[arg(long, value_name = "PORT")]
        mtls_port: Option<u16>,
        /// Certificates of the mTLS listener (written by `standin certs`
        /// if absent).
        #[arg(long, value_name = "DIR", default_value = "certs")]
        certs: PathBuf,
    },
    /// Start the mock NLU service alone (Dialogflow- and Watson-style
    /// training endpoints accepting the IdP's service tokens).
    Nlu {
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        host: IpAddr,
        #[arg(long, default_value_t = 8403)]
        port: u16,
        /// The IdP whose tokens the service accepts.
        #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8400")]
        issuer: String,
    },
    /// Start the reference platform alone (organisations, bots,
    /// conversations, consumer delegation).
    Platform {
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        host: IpAddr,
        #[arg(long, default_value_t = 8402)]
        port: u16,
        /// A platform fixtures file (see fixtures/platform.toml); default:
        /// the built-in demo organisation and bot.
        #[arg(long, value_name = "FILE")]
        fixtures: Option<PathBuf>,
        /// Public URL of the platform, from which callback URLs are built.
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        #[command(flatten)]
        vault: VaultArgs,
    },
    /// Write a CA, the brand API's mTLS server certificate (localhost,
    /// 127.0.0.1) and a client key certificate (PKCS#12, JKS, PEM), with a
    /// README saying what each file is. For tests only.
    Certs {
        /// Directory to write into (created if missing; files replaced).
        #[arg(long, value_name = "DIR", default_value = "certs")]
        out: PathBuf,
        /// Password of the PKCS#12 and JKS stores (JKS wants 6 characters
        /// or more).
        #[arg(long, default_value = "changeit")]
        password: String,
    },
}

/// How much the IdP holds (see the README's "Long runs and load tests").
#[derive(clap::Args)]
struct IdpLimitArgs {
    /// Codes and tokens held at most. At the ceiling, expired records and
    /// then live JWT client-credentials tokens make room; otherwise token
    /// requests get 503 temporarily_unavailable.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_records)]
    max_records: usize,
    /// Records of each kind that inspection (/admin/grants, the inspector)
    /// lists at most, the most recent.
    #[arg(long, value_name = "N", default_value_t = Limits::default().inspect_limit)]
    inspect_limit: usize,
    /// How long expired codes and tokens stay listed before they are
    /// forgotten (default: the fixtures' [idp] retain_expired_secs, 3600).
    #[arg(long, value_name = "SECS")]
    retain_expired_secs: Option<u64>,
}

impl IdpLimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_records: self.max_records,
            inspect_limit: self.inspect_limit,
            ..Limits::default()
        }
    }
}

/// Where the platform keeps its credential vault.
#[derive(clap::Args)]
struct VaultArgs {
    /// Directory of the credential vault: `vault.sqlite3`, and `vault.key`
    /// (created 0600 on first start) unless STANDIN_VAULT_KEY holds the key
    /// (32 bytes, base64).
    #[arg(
        long,
        value_name = "DIR",
        env = "STANDIN_DATA_DIR",
        default_value = "standin-data"
    )]
    data_dir: PathBuf,
    /// Keep the vault in memory instead (nothing survives a restart).
    #[arg(long, conflicts_with = "data_dir")]
    in_memory: bool,
}

impl VaultArgs {
    fn location(&self) -> VaultLocation {
        if self.in_memory {
            VaultLocation::Memory
        } else {
            VaultLocation::Dir(self.data_dir.clone())
        }
    }
}

fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_target(false)
        .init();
}

async fn start_idp(
    fixtures: Fixtures,
    addr: SocketAddr,
    clock: Clock,
    issuer: Option<String>,
    tls: Option<TlsSettings>,
    quirks: standin::idp::quirks::Quirks,
    limits: Limits,
) -> anyhow::Result<MockIdp> {
    let options = IdpOptions {
        addr,
        clock,
        issuer,
        quirks,
        limits,
    };
    MockIdp::start_with_tls(fixtures, options, tls)
        .await
        .context("starting the mock IdP")
}

async fn start_brand_api(
    addr: SocketAddr,
    clock: Clock,
    issuer: String,
    audience: String,
    tls: Option<TlsSettings>,
    introspection: Option<IntrospectionClient>,
) -> anyhow::Result<MockBrandApi> {
    let mut options = BrandApiOptions::new(issuer);
    options.addr = addr;
    options.clock = clock;
    options.audience = audience;
    options.tls = tls;
    options.introspection = introspection;
    MockBrandApi::start_with(options)
        .await
        .context("starting the mock brand API")
}

/// The server certificate of the TLS listeners, from `dir` (written by
/// `standin certs` first if it holds none).
fn tls_from(dir: &Path) -> anyhow::Result<TlsSettings> {
    if !dir.join("server.pem").exists() {
        standin::pki::write_bundle(dir, "changeit")
            .with_context(|| format!("writing test certificates to {}", dir.display()))?;
        say!(
            "wrote test certificates to {} (see its README.md)",
            dir.display()
        );
    }
    TlsSettings::from_dir(dir)
        .with_context(|| format!("reading the certificates in {}", dir.display()))
}

fn platform_options(
    addr: SocketAddr,
    public_url: Option<String>,
    vault: &VaultArgs,
) -> PlatformOptions {
    PlatformOptions {
        addr,
        public_url,
        vault: vault.location(),
        vault_key: std::env::var(KEY_ENV)
            .ok()
            .map(standin::secret::Secret::new),
        ..PlatformOptions::default()
    }
}

fn say_vault(platform: &Platform) {
    let v = &platform.state().vault;
    match v.location() {
        VaultLocation::Memory => say!("credential vault: in memory"),
        VaultLocation::Dir(dir) => say!(
            "credential vault: {} (key: {})",
            dir.join(standin::platform::credentials::DB_FILE).display(),
            v.key_source()
        ),
    }
}

async fn start_platform(
    fixtures: PlatformFixtures,
    addr: SocketAddr,
    clock: Clock,
    public_url: Option<String>,
    vault: &VaultArgs,
) -> anyhow::Result<Platform> {
    let options = PlatformOptions {
        clock,
        ..platform_options(addr, public_url, vault)
    };
    let platform = Platform::start_with(fixtures, options)
        .await
        .context("starting the reference platform")?;
    say_vault(&platform);
    Ok(platform)
}

/// An authorization link for the demo client and user, returning to the
/// IdP's own demo callback page.
fn demo_link(idp: &MockIdp) -> String {
    let mut url =
        url::Url::parse(&format!("{}/authorize", idp.issuer())).expect("the issuer is a URL");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "demo-bot")
        .append_pair("redirect_uri", &format!("{}/demo/callback", idp.issuer()))
        .append_pair("scope", "openid profile email orders:read")
        .append_pair("state", "demo-state")
        .append_pair("nonce", "demo-nonce")
        .append_pair("login_hint", "alice");
    url.to_string()
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Conform { .. } = cli.command {
        // The gate's output is its table; the parties' logs stay quiet.
        return conform(cli.command);
    }
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A user's mistake (a bad fixtures file, a port in use) reads as
            // one line with its causes, never as a backtrace.
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `standin conform`: 0 no check failed, 1 a check failed, 2 the run
/// could not start.
fn conform(command: Command) -> ExitCode {
    let Command::Conform {
        profile,
        init,
        list_steps,
        features,
        tags,
        report: report_dir,
        junit,
        json,
        verdicts,
        timeout,
        browser,
    } = command
    else {
        unreachable!("called for conform only");
    };
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    };
    if list_steps {
        for step in standin::conform::steps::VOCABULARY {
            say!(
                "{:<6} {}\n       e.g. {}",
                format!("{:?}", step.kind),
                step.pattern,
                step.example
            );
        }
        return ExitCode::SUCCESS;
    }
    if init {
        return match &profile {
            None => {
                say!("{}", standin::conform::init::TEMPLATE);
                ExitCode::SUCCESS
            }
            Some(path) => {
                let written = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path)
                    .and_then(|mut f| {
                        use std::io::Write as _;
                        f.write_all(standin::conform::init::TEMPLATE.as_bytes())
                    });
                match written {
                    Ok(()) => {
                        say!("wrote {}: fill in the values marked <...>", path.display());
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(format!(
                        "cannot write {}: {e} (an existing profile is never overwritten)",
                        path.display()
                    )),
                }
            }
        };
    }
    let Some(path) = profile else {
        return fail("--profile FILE is needed".into());
    };
    let profile = match standin::conformance::Profile::load(&path) {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let options = standin::conform::Options {
        profile,
        source: match features {
            Some(dir) => standin::conform::features::Source::Dir(dir),
            None => standin::conform::features::Source::BuiltIn,
        },
        tags,
        timeout: timeout.map(std::time::Duration::from_secs),
        cucumber_json: json,
        chromium: browser == "chromium",
    };
    let report = match runtime.block_on(standin::conform::run(options)) {
        Ok(r) => r,
        Err(e) => return fail(e.to_string()),
    };
    say!("{}", report.table());
    let mut written = Vec::new();
    if let Some(path) = junit {
        written.push(report.junit().and_then(|xml| {
            std::fs::write(&path, xml).map_err(|e| format!("{}: {e}", path.display()))
        }));
    }
    if let Some(dir) = report_dir {
        written.push(
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(dir.join("index.html"), report.html()))
                .and_then(|()| std::fs::write(dir.join("verdicts.json"), report.json()))
                .map_err(|e| format!("{}: {e}", dir.display())),
        );
    }
    if let Some(path) = verdicts {
        written.push(
            std::fs::write(&path, report.json()).map_err(|e| format!("{}: {e}", path.display())),
        );
    }
    for e in written.into_iter().filter_map(Result::err) {
        eprintln!("error: cannot write a report: {e}");
    }
    ExitCode::from(report.exit_code())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let local = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    match cli.command {
        Command::Conform { .. } => unreachable!("standin conform runs on its own"),
        Command::Up { vault, certs } => {
            let tls = tls_from(&certs)?;
            let mut api = BrandApiOptions::new("");
            api.addr = local(8401);
            api.tls = Some(tls.clone().with_addr(local(8443)));
            // One clock for all parties, as in the tests.
            let brand = Brand::start(BrandOptions {
                clock: Clock::new(),
                idp: IdpChoice::Embedded {
                    fixtures: Box::new(Fixtures::default_brand()),
                    options: Box::new(IdpOptions {
                        addr: local(8400),
                        ..IdpOptions::default()
                    }),
                    tls: Some(tls.with_addr(local(8444))),
                },
                api,
                nlu: Some(local(8403)),
            })
            .await?;
            let stack = brand
                .with_platform(platform_options(local(8402), None, &vault), |_| {
                    PlatformFixtures::default_demo()
                })
                .await?;
            say_vault(&stack.platform);
            let (Some(idp), Some(nlu)) = (&stack.brand.idp, &stack.brand.nlu) else {
                unreachable!("the stack was started with its own IdP and NLU");
            };
            let (api, platform) = (&stack.brand.api, &stack.platform);
            say!("standin is up.\n");
            say!("  mock brand IdP       {}", idp.issuer());
            say!(
                "    discovery          {}/.well-known/openid-configuration",
                idp.issuer()
            );
            say!(
                "    admin              {}/admin/grants (clock, faults, inspection)",
                idp.issuer()
            );
            say!(
                "    inspector          {}/admin/inspector (what was issued; a switchboard)",
                idp.issuer()
            );
            if let Some(mtls) = idp.mtls_url() {
                say!("    mTLS token         {mtls}/token (tls_client_auth)");
            }
            say!("  mock brand API       {}/api/orders", api.url());
            if let Some(mtls) = api.mtls_url() {
                say!(
                    "    mTLS               {mtls}/mtls/orders (client certificate from {}, or registered: /admin/client-certificates)",
                    certs.display()
                );
            }
            say!("  mock NLU             {}", nlu.url());
            say!("  reference platform   {}", platform.url());
            say!(
                "    vault console      {}/console (credentials, as Bot Accounts shows them)",
                platform.url()
            );
            say!("\nTalk to the demo bot (sign in as alice / alice-password when it asks):\n");
            say!("  {}/chat\n", platform.url());
            say!("Say \"my orders\". Or try the IdP alone with this authorization link:\n");
            say!("  {}\n", demo_link(idp));
            say!("Press Ctrl-C to stop.");
            shutdown_signal().await;
        }
        Command::Idp {
            host,
            port,
            fixtures,
            issuer,
            quirks,
            limits,
        } => {
            let mut fixtures = match fixtures {
                Some(path) => Fixtures::load(&path)?,
                None => Fixtures::default_brand(),
            };
            if let Some(secs) = limits.retain_expired_secs {
                fixtures.idp.retain_expired_secs = secs;
            }
            let quirks = quirks
                .iter()
                .map(|q| q.parse())
                .collect::<Result<_, String>>()
                .map_err(|e| anyhow::anyhow!("--quirk: {e}"))?;
            let idp = start_idp(
                fixtures,
                SocketAddr::new(host, port),
                Clock::new(),
                issuer,
                None,
                quirks,
                limits.limits(),
            )
            .await?;
            say!("mock brand IdP: {}", idp.issuer());
            say!(
                "discovery: {}/.well-known/openid-configuration",
                idp.issuer()
            );
            shutdown_signal().await;
        }
        Command::BrandApi {
            host,
            port,
            issuer,
            audience,
            introspection_client,
            mtls_port,
            certs,
        } => {
            let introspection = match introspection_client {
                None => None,
                Some(client_id) => {
                    let secret = std::env::var("STANDIN_INTROSPECTION_SECRET").map_err(|_| {
                        anyhow::anyhow!(
                            "--introspection-client {client_id} needs the client's secret in STANDIN_INTROSPECTION_SECRET"
                        )
                    })?;
                    Some(IntrospectionClient {
                        client_id: client_id.into(),
                        client_secret: standin::secret::Secret::new(secret),
                    })
                }
            };
            let tls = match mtls_port {
                Some(p) => Some(tls_from(&certs)?.with_addr(SocketAddr::new(host, p))),
                None => None,
            };
            let api = start_brand_api(
                SocketAddr::new(host, port),
                Clock::new(),
                issuer,
                audience,
                tls,
                introspection,
            )
            .await?;
            say!("mock brand API: {}", api.url());
            if let Some(mtls) = api.mtls_url() {
                say!("mTLS: {mtls}/mtls/orders");
            }
            say!("accepting tokens from: {}", api.issuer());
            shutdown_signal().await;
        }
        Command::Nlu { host, port, issuer } => {
            let mut options = NluOptions::new(issuer);
            options.addr = SocketAddr::new(host, port);
            let nlu = MockNlu::start_with(options)
                .await
                .context("starting the mock NLU service")?;
            say!("mock NLU: {}", nlu.url());
            shutdown_signal().await;
        }
        Command::Platform {
            host,
            port,
            fixtures,
            public_url,
            vault,
        } => {
            let fixtures = match fixtures {
                Some(path) => PlatformFixtures::load(&path)?,
                None => PlatformFixtures::default_demo(),
            };
            let platform = start_platform(
                fixtures,
                SocketAddr::new(host, port),
                Clock::new(),
                public_url,
                &vault,
            )
            .await?;
            say!("reference platform: {}", platform.url());
            say!("chat: {}/chat", platform.url());
            shutdown_signal().await;
        }
        Command::Certs { out, password } => {
            let written = standin::pki::write_bundle(&out, &password)
                .with_context(|| format!("writing certificates to {}", out.display()))?;
            say!("wrote test-only certificates to {}:", out.display());
            for file in written {
                say!("  {:<40} {}", file.path.display(), file.what);
            }
        }
    }
    Ok(())
}
