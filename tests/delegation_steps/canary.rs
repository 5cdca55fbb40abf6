//! Looking for a secret where it must never be: the vault's files on disk,
//! the log lines every party wrote (captured at trace level by the
//! runner, see [`super::runner::logs`]) and every read of the credential
//! API.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, ensure};
use cucumber::{given, then};

use super::DelegationWorld;

/// A fresh directory for one scenario's platform data, removed on drop.
#[derive(Debug)]
pub struct DataDir(PathBuf);

impl DataDir {
    pub fn new() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "standin-suite-{}-{}",
            std::process::id(),
            standin::secret::random_token(9)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir` (the SQLite database, its WAL, the key file).
fn files(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(files(&path)?);
        } else {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            out.push((path, bytes));
        }
    }
    Ok(out)
}

#[then(expr = "no vault file, log line or credential read of {string} holds {string}")]
async fn nowhere(world: &mut DelegationWorld, org: String, canary: String) -> anyhow::Result<()> {
    let found = files(world.data_dir.path())?;
    ensure!(
        found.iter().any(|(p, _)| p.ends_with("vault.sqlite3")),
        "no vault database under {}",
        world.data_dir.path().display()
    );
    ensure!(
        found.iter().map(|(_, b)| b.len()).sum::<usize>() > 4096,
        "the vault files are empty"
    );
    for (path, bytes) in &found {
        ensure!(
            !contains(bytes, canary.as_bytes()),
            "{} holds the canary",
            path.display()
        );
    }
    let logs = super::runner::logs();
    ensure!(!logs.is_empty(), "no log line was captured: logging is off");
    for line in logs.lines() {
        ensure!(
            !line.contains(&canary),
            "a log line holds the canary: {line}"
        );
    }
    for read in world.credential_reads(&org).await? {
        ensure!(
            !read.contains(&canary),
            "a credential read holds the canary: {read}"
        );
    }
    Ok(())
}

#[given(expr = "the IdP has the service client {string} with the secret {string}")]
fn service_client(
    world: &mut DelegationWorld,
    client: String,
    secret: String,
) -> anyhow::Result<()> {
    let config: standin::idp::ClientConfig = serde_json::from_value(serde_json::json!({
        "id": client,
        "secret": secret,
        "grant_types": ["client_credentials"],
        "scopes": ["orders:read"],
    }))?;
    world
        .idp
        .control()?
        .add_client(config)
        .map_err(|e| anyhow::anyhow!("the IdP refused the client {client}: {e}"))
}

#[given(expr = "the IdP has the Watson API key {string} acting as {string}")]
fn api_key(world: &mut DelegationWorld, key: String, iam_id: String) -> anyhow::Result<()> {
    let config: standin::idp::ApiKeyConfig = serde_json::from_value(serde_json::json!({
        "id": format!("ApiKey-{iam_id}"),
        "apikey": key,
        "iam_id": iam_id,
    }))?;
    world
        .idp
        .control()?
        .add_api_key(config)
        .map_err(|e| anyhow::anyhow!("the IdP refused the API key: {e}"))
}

#[then(expr = "the vault on disk opens again with the same credentials of {string}")]
fn reopens(world: &mut DelegationWorld, org: String) -> anyhow::Result<()> {
    use standin::platform::OrgId;
    use standin::platform::credentials::{Vault, VaultLocation};
    let org = OrgId::parse(&org).map_err(anyhow::Error::msg)?;
    let reopened = Vault::open(&VaultLocation::Dir(world.data_dir.path().into()), None)
        .map_err(|e| anyhow::anyhow!("the vault does not open again: {e}"))?;
    let live = world.platform.state().vault.list(&org);
    let again = reopened.list(&org);
    ensure!(!live.is_empty(), "the organisation has no credential");
    ensure!(
        live == again,
        "the reopened vault differs: {} credentials live, {} read back",
        live.len(),
        again.len()
    );
    Ok(())
}
