//! The handle of a consumer session: what proves, when a conversation is
//! opened, that the consumer signed in on the brand's side.
//!
//! A consumer id alone proves nothing: anyone who can open a conversation
//! can type one. So starting a session answers, besides the consumer id,
//! an unguessable handle (256 random bits from the system CSPRNG,
//! base64url without padding: 43 characters) that the brand's page passes
//! to its messaging client, which presents it as `consumer_session` when
//! it opens the consumer's conversation
//! ([`crate::platform::conversations::http`]). The platform resolves it to
//! the organisation and consumer of the session it belongs to, and to
//! nothing once that session has ended.
//!
//! The platform keeps only the handle's SHA-256, never the handle itself:
//! a copy of its memory opens no conversation. Looking a presented handle
//! up by its digest leaks, through timing, at most something about the
//! digest, which says nothing useful about any live handle.

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::secret::{Secret, random_token};

/// Random bytes in a handle.
const BYTES: usize = 32;

/// Characters of a handle: base64url of [`BYTES`] bytes, without padding.
const LEN: usize = 43;

/// A new session's handle, to be given to the brand once. `Debug` and
/// `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionHandle(Secret);

impl SessionHandle {
    /// A fresh handle and the digest the platform keeps of it.
    pub fn generate() -> (Self, HandleDigest) {
        let handle = random_token(BYTES);
        let digest = HandleDigest::of(&handle);
        (Self(Secret::new(handle)), digest)
    }

    /// The handle itself, for the one answer that hands it to the brand.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionHandle([redacted])")
    }
}

/// The SHA-256 of a handle: all the platform keeps of it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HandleDigest([u8; 32]);

impl HandleDigest {
    fn of(handle: &str) -> Self {
        Self(Sha256::digest(handle.as_bytes()).into())
    }

    /// The digest of a presented handle, or `None` if it cannot be one
    /// this platform issued (wrong length or alphabet).
    pub fn of_presented(presented: &str) -> Option<Self> {
        let shaped = presented.len() == LEN
            && presented
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        shaped.then(|| Self::of(presented))
    }
}

impl fmt::Debug for HandleDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HandleDigest([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_random_and_kept_as_digests() {
        let (a, da) = SessionHandle::generate();
        let (b, db) = SessionHandle::generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), LEN);
        assert_eq!(HandleDigest::of_presented(a.expose()), Some(da));
        assert_eq!(HandleDigest::of_presented(b.expose()), Some(db));
        assert_ne!(da, db);
        for bad in [
            "",
            "short",
            &"x".repeat(44),
            &format!("{}=", &"x".repeat(42)),
        ] {
            assert_eq!(HandleDigest::of_presented(bad), None, "{bad:?}");
        }
        let debug = format!("{a:?} {da:?}");
        assert!(!debug.contains(a.expose()), "{debug}");
    }
}
