//! Encryption at rest for the vault: AES-256-GCM (aws-lc-rs), a fresh
//! random 96-bit nonce per write, and associated data naming what the
//! ciphertext is (which organisation, which credential, credential or
//! token), so a row copied under another organisation or name fails to
//! open instead of being used there.
//!
//! The key is 32 bytes, from the `STANDIN_VAULT_KEY` environment variable
//! (base64, standard or URL-safe alphabet) or from a key file created on
//! first start with 0600 permissions.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;

/// The environment variable holding a base64 vault key.
pub const KEY_ENV: &str = "STANDIN_VAULT_KEY";

/// Where the key came from, for the start-up line (never the key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    File(PathBuf),
    /// Created now, in this file.
    Created(PathBuf),
    /// Random, for an in-memory vault.
    Ephemeral,
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Environment => write!(f, "${KEY_ENV}"),
            KeySource::File(p) => write!(f, "{}", p.display()),
            KeySource::Created(p) => write!(f, "{} (created)", p.display()),
            KeySource::Ephemeral => f.write_str("a random key (in-memory vault)"),
        }
    }
}

/// Why the key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "{KEY_ENV} must be 32 bytes in base64 (44 characters), e.g. from `openssl rand -base64 32`"
    )]
    BadEnv,
    #[error("the vault key file {path} must hold 32 bytes in base64")]
    BadFile { path: PathBuf },
    #[error(
        "the vault key file {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("cannot read or create the vault key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The vault's AEAD key. `Debug` shows nothing of it.
pub struct VaultKey {
    key: LessSafeKey,
    source: KeySource,
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultKey")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// A ciphertext could not be opened: wrong key, or altered or moved data.
#[derive(Debug, thiserror::Error)]
#[error("the sealed data does not open with this key and label")]
pub struct OpenError;

fn decode_key(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
        .ok()?;
    bytes.try_into().ok()
}

impl VaultKey {
    fn from_bytes(bytes: [u8; 32], source: KeySource) -> Self {
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &bytes).expect("32 bytes make an AES-256 key"),
        );
        Self { key, source }
    }

    /// A random key that lives as long as the process (in-memory vaults).
    pub fn ephemeral() -> Self {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system CSPRNG works");
        Self::from_bytes(bytes, KeySource::Ephemeral)
    }

    /// The key from `env_value` (the content of [`KEY_ENV`]) when given,
    /// otherwise from `key_file`, created with 0600 permissions if absent.
    pub fn load(env_value: Option<&str>, key_file: &Path) -> Result<Self, KeyError> {
        if let Some(v) = env_value {
            let bytes = decode_key(v).ok_or(KeyError::BadEnv)?;
            return Ok(Self::from_bytes(bytes, KeySource::Environment));
        }
        let io = |source| KeyError::Io {
            path: key_file.to_path_buf(),
            source,
        };
        match std::fs::read_to_string(key_file) {
            Ok(text) => {
                check_permissions(key_file)?;
                let bytes = decode_key(&text).ok_or_else(|| KeyError::BadFile {
                    path: key_file.to_path_buf(),
                })?;
                Ok(Self::from_bytes(
                    bytes,
                    KeySource::File(key_file.to_path_buf()),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                SystemRandom::new()
                    .fill(&mut bytes)
                    .expect("the system CSPRNG works");
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt as _;
                    options.mode(0o600);
                }
                let mut file = options.open(key_file).map_err(io)?;
                let text = base64::engine::general_purpose::STANDARD.encode(bytes);
                file.write_all(format!("{text}\n").as_bytes())
                    .and_then(|_| file.sync_all())
                    .map_err(io)?;
                Ok(Self::from_bytes(
                    bytes,
                    KeySource::Created(key_file.to_path_buf()),
                ))
            }
            Err(e) => Err(io(e)),
        }
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// Encrypt `plaintext` under `label` (the associated data):
    /// `nonce || ciphertext || tag`.
    pub fn seal(&self, label: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system CSPRNG works");
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(label.as_bytes()),
                &mut buf,
            )
            .expect("AES-GCM seals any length the vault writes");
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        out
    }

    /// Decrypt what [`VaultKey::seal`] wrote under the same `label`.
    pub fn open(&self, label: &str, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
        let mut buf = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(label.as_bytes()), &mut buf)
            .map_err(|_| OpenError)?;
        Ok(plain.to_vec())
    }
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_: &Path) -> Result<(), KeyError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_under_its_label_and_key() {
        let key = VaultKey::ephemeral();
        let sealed = key.seal("credential\0a\0x", b"canary");
        assert!(!sealed.windows(6).any(|w| w == b"canary"));
        assert_eq!(key.open("credential\0a\0x", &sealed).unwrap(), b"canary");
        assert!(key.open("credential\0b\0x", &sealed).is_err());
        assert!(
            VaultKey::ephemeral()
                .open("credential\0a\0x", &sealed)
                .is_err()
        );
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(key.open("credential\0a\0x", &flipped).is_err());
        assert!(key.open("credential\0a\0x", &sealed[..5]).is_err());
        assert_ne!(
            sealed,
            key.seal("credential\0a\0x", b"canary"),
            "fresh nonce"
        );
        assert!(!format!("{key:?}").contains("key:"));
    }

    #[test]
    fn a_key_file_is_created_0600_and_read_back() {
        let dir =
            std::env::temp_dir().join(format!("standin-key-{}", crate::secret::random_token(6)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("vault.key");
        let first = VaultKey::load(None, &path).unwrap();
        assert!(matches!(first.source(), KeySource::Created(_)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let sealed = first.seal("l", b"v");
        let second = VaultKey::load(None, &path).unwrap();
        assert_eq!(second.open("l", &sealed).unwrap(), b"v");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                VaultKey::load(None, &path),
                Err(KeyError::Permissions { .. })
            ));
        }
        assert!(matches!(
            VaultKey::load(Some("short"), &path),
            Err(KeyError::BadEnv)
        ));
        let env = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(
            VaultKey::load(Some(&env), &path).unwrap().source(),
            &KeySource::Environment
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
