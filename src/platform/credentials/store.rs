//! The vault's SQLite file: one row per credential and one per persisted
//! token, each a sealed JSON document (see [`super::cipher`]); only the
//! organisation, the name and the kind are in clear, for lookups.
//!
//! The file is opened in WAL mode with `synchronous = FULL`: a write has
//! reached the disk when the call returns, so a process killed right after
//! (even with SIGKILL) loses nothing. A `meta` row sealed at creation tells
//! a wrong key apart from a damaged row at start-up.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _, params};

use super::cipher::VaultKey;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS credentials (
    org TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (org, name)
);
CREATE TABLE IF NOT EXISTS credential_tokens (
    org TEXT NOT NULL,
    name TEXT NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (org, name)
);
";

const KEY_CHECK: &[u8] = b"standin vault key check";

/// Why the store could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the vault {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error(
        "the vault key does not open the vault {path}: start with the key it was created with (the key file beside it, or the same STANDIN_VAULT_KEY)"
    )]
    WrongKey { path: String },
}

/// One sealed row as read at start-up.
pub struct Row {
    pub org: String,
    pub name: String,
    pub kind: String,
    pub sealed: Vec<u8>,
}

/// The SQLite connection and where it is.
pub struct Store {
    conn: Connection,
    path: String,
}

pub fn credential_label(org: &str, name: &str) -> String {
    format!("standin-vault-v1\0credential\0{org}\0{name}")
}

pub fn token_label(org: &str, name: &str) -> String {
    format!("standin-vault-v1\0token\0{org}\0{name}")
}

impl Store {
    /// Open (or create) the vault file at `path`; `None` for an in-memory
    /// database.
    pub fn open(path: Option<&Path>, key: &VaultKey) -> Result<Self, StoreError> {
        let shown = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| ":memory:".into());
        let sql = |source| StoreError::Sqlite {
            path: shown.clone(),
            source,
        };
        let conn = match path {
            Some(p) => Connection::open(p),
            None => Connection::open_in_memory(),
        }
        .map_err(sql)?;
        if path.is_some() {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(sql)?;
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        conn.execute_batch(SCHEMA).map_err(sql)?;
        let check: Option<Vec<u8>> = conn
            .query_row("SELECT value FROM meta WHERE key = 'key_check'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql)?;
        match check {
            Some(sealed) => {
                let opened = key.open("standin-vault-v1\0key-check", &sealed);
                if opened.ok().as_deref() != Some(KEY_CHECK) {
                    return Err(StoreError::WrongKey { path: shown });
                }
            }
            None => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('key_check', ?1)",
                    params![key.seal("standin-vault-v1\0key-check", KEY_CHECK)],
                )
                .map_err(sql)?;
            }
        }
        Ok(Self { conn, path: shown })
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Every credential row.
    pub fn credentials(&self) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT org, name, kind, sealed FROM credentials ORDER BY org, name")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Row {
                    org: r.get(0)?,
                    name: r.get(1)?,
                    kind: r.get(2)?,
                    sealed: r.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Insert or replace a credential row, and delete its token when
    /// `drop_token` (a changed credential), in one transaction.
    pub fn put_credential(
        &mut self,
        org: &str,
        name: &str,
        kind: &str,
        sealed: &[u8],
        drop_token: bool,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute(
            "INSERT INTO credentials (org, name, kind, sealed) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (org, name) DO UPDATE SET kind = excluded.kind, sealed = excluded.sealed",
            params![org, name, kind, sealed],
        )
        .map_err(sql)?;
        if drop_token {
            tx.execute(
                "DELETE FROM credential_tokens WHERE org = ?1 AND name = ?2",
                params![org, name],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }

    /// Delete a credential and its token in one transaction.
    pub fn delete_credential(&mut self, org: &str, name: &str) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute(
            "DELETE FROM credentials WHERE org = ?1 AND name = ?2",
            params![org, name],
        )
        .map_err(sql)?;
        tx.execute(
            "DELETE FROM credential_tokens WHERE org = ?1 AND name = ?2",
            params![org, name],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// The sealed token of a credential.
    pub fn token(&self, org: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .query_row(
                "SELECT sealed FROM credential_tokens WHERE org = ?1 AND name = ?2",
                params![org, name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Insert or replace the sealed token of a credential.
    pub fn put_token(&self, org: &str, name: &str, sealed: &[u8]) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO credential_tokens (org, name, sealed) VALUES (?1, ?2, ?3)
                 ON CONFLICT (org, name) DO UPDATE SET sealed = excluded.sealed",
                params![org, name, sealed],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Forget the token of a credential.
    pub fn delete_token(&self, org: &str, name: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "DELETE FROM credential_tokens WHERE org = ?1 AND name = ?2",
                params![org, name],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }
}
