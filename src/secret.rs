//! Values that must never leak by accident.
//!
//! [`Secret`] prints `[redacted]` through `Debug` and `Display` and
//! serialises to `"[redacted]"`; the value is read only through
//! [`Secret::expose`]. Client secrets, passwords and tokens are held in it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string that redacts itself everywhere except [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself. Call sites are where a secret is used on purpose.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Serialise the value itself: for `#[serde(serialize_with)]` on the
    /// one field of a request that must carry a secret on purpose.
    pub fn serialize_exposed<S: Serializer>(
        secret: &Secret,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&secret.0)
    }

    /// Compare with a presented value in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.0.as_bytes(), presented.as_bytes())
            .is_ok()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("[redacted]")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// A secret of one kind, with its own type (the way oauth2-rs's
/// `new_secret_type!` makes `AuthorizationCode` and `PkceCodeVerifier`):
/// one kind cannot be passed where another is wanted, and each redacts
/// itself like [`Secret`].
macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Secret);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(Secret::new(value))
            }

            /// The value itself, where it is used on purpose.
            pub fn expose(&self) -> &str {
                self.0.expose()
            }

            /// Compare with a presented value in constant time.
            pub fn matches(&self, presented: &str) -> bool {
                self.0.matches(presented)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(serializer)
            }
        }
    };
}

secret_type!(
    /// An authorization code (RFC 6749 4.1.2).
    AuthorizationCode
);
secret_type!(
    /// A refresh token (RFC 6749 1.5).
    RefreshToken
);
secret_type!(
    /// A PKCE code verifier (RFC 7636 4.1).
    PkceVerifier
);
secret_type!(
    /// An OpenID Connect `nonce` (OIDC Core 3.1.2.1).
    Nonce
);
secret_type!(
    /// A signed assertion presented as a grant (RFC 7523 2.1).
    Assertion
);
secret_type!(
    /// An IAM API key presented as a grant.
    ApiKey
);

/// Random URL-safe string of `bytes` bytes of entropy, from the same
/// CSPRNG as the signing keys.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("the system CSPRNG is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_secret_print_their_kind_only() {
        let v = PkceVerifier::new("verifier-canary");
        let n = Nonce::new("nonce-canary");
        assert_eq!(
            format!("{v:?} {n:?}"),
            "PkceVerifier([redacted]) Nonce([redacted])"
        );
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"[redacted]\"");
        let read: AuthorizationCode = serde_json::from_str("\"c\"").unwrap();
        assert_eq!(read.expose(), "c");
        assert!(n.matches("nonce-canary"));
    }

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"[redacted]\"");
        assert!(s.matches("hunter2"));
        assert!(!s.matches("hunter3"));
    }

    #[test]
    fn random_tokens_differ() {
        assert_ne!(random_token(32), random_token(32));
        assert_eq!(random_token(32).len(), 43);
    }
}
