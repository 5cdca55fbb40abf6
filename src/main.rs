//! The `standin` command line.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use standin::clock::Clock;
use standin::idp::{Fixtures, IdpOptions, MockIdp};
use tracing_subscriber::EnvFilter;

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
    /// Start everything with the default fixtures and print where to begin:
    /// the issuer, the discovery URL and a ready-to-open authorization link
    /// for the demo client and user.
    Up {
        /// Address to listen on (loopback keeps the admin API open).
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        host: IpAddr,
        /// Port of the mock IdP.
        #[arg(long, default_value_t = 8400)]
        idp_port: u16,
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
    },
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
    host: IpAddr,
    port: u16,
    issuer: Option<String>,
) -> anyhow::Result<MockIdp> {
    let options = IdpOptions {
        addr: SocketAddr::new(host, port),
        clock: Clock::new(),
        issuer,
    };
    MockIdp::start_with(fixtures, options)
        .await
        .context("starting the mock IdP")
}

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

/// Print a line to stdout; a closed pipe (`standin idp | head -1`) is not
/// an error worth dying for, unlike `println!`, which panics on it.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// The demo link returns to the IdP's own demo callback page; on another
/// port than the fixtures expect, register that page for the demo client.
fn register_demo_callback(idp: &MockIdp) {
    let callback = format!("{}/demo/callback", idp.issuer());
    let mut store = idp.control().store();
    if let Some(client) = store.clients.get_mut("demo-bot")
        && !client.redirect_uris.contains(&callback)
    {
        client.redirect_uris.push(callback);
    }
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up { host, idp_port } => {
            let idp = start_idp(Fixtures::default_brand(), host, idp_port, None).await?;
            register_demo_callback(&idp);
            say!("standin is up.\n");
            say!("  mock brand IdP   {}", idp.issuer());
            say!(
                "  discovery        {}/.well-known/openid-configuration",
                idp.issuer()
            );
            say!("  JWKS             {}/jwks", idp.issuer());
            say!(
                "  admin API        {}/admin/grants (clock, faults, inspection)\n",
                idp.issuer()
            );
            say!("Open this link to sign in as the demo user (alice / alice-password):\n");
            say!("  {}\n", demo_link(&idp));
            say!("Press Ctrl-C to stop.");
            shutdown_signal().await;
        }
        Command::Idp {
            host,
            port,
            fixtures,
            issuer,
        } => {
            let fixtures = match fixtures {
                Some(path) => Fixtures::load(&path)?,
                None => Fixtures::default_brand(),
            };
            let idp = start_idp(fixtures, host, port, issuer).await?;
            say!("mock brand IdP: {}", idp.issuer());
            say!(
                "discovery: {}/.well-known/openid-configuration",
                idp.issuer()
            );
            shutdown_signal().await;
        }
    }
    Ok(())
}
