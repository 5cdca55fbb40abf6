//! oidc-provider, the OpenID-certified Node.js provider, as a brand IdP
//! nobody here wrote (`tests/peers/oidc-provider/`): installed from its
//! lock file with `npm ci` when missing, started on a free loopback port,
//! stopped when dropped.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// A running oidc-provider. Dropping it stops the process.
pub struct Peer {
    child: Child,
    pub issuer: String,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/oidc-provider")
}

/// `npm ci` once, when the package is not installed yet.
fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if dir()
            .join("node_modules/oidc-provider/package.json")
            .exists()
        {
            return;
        }
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir())
            .output()
            .expect("npm (Node.js 20 or later) is needed to install oidc-provider for these tests");
        assert!(
            out.status.success(),
            "npm ci in tests/peers/oidc-provider failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

impl Peer {
    /// Start oidc-provider configured as `mode` (`plain` or `unusual`, see
    /// `server.mjs`).
    pub fn start(mode: &str) -> Peer {
        install();
        let mut child = Command::new("node")
            .arg("server.mjs")
            .env("MODE", mode)
            .env("PORT", "0")
            .current_dir(dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node (Node.js 20 or later) is needed to run oidc-provider");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("oidc-provider: ") {
                    let _ = tx.send(issuer.to_string());
                }
            }
        });
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = err_tx.send(text);
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(issuer) => Peer { child, issuer },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = err_rx
                    .recv_timeout(Duration::from_secs(5))
                    .unwrap_or_default();
                panic!("oidc-provider did not start: {stderr}");
            }
        }
    }

    /// Register a client (its metadata, RFC 7591 names).
    pub async fn register(&self, metadata: Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/test-admin/clients", self.issuer))
            .json(&metadata)
            .send()
            .await
            .expect("oidc-provider answers");
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, 201, "oidc-provider refused the client: {body}");
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
