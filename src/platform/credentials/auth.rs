//! What a credential yields for one outbound call: the `Authorization`
//! header value, and the HTTP client when the credential brings its own (a
//! client certificate). Integrations ([`crate::platform::integrations`])
//! apply it; the credential kinds produce it, and import nothing of the
//! integrations for it.

use super::mutual_authentication::TlsVersion;
use crate::secret::Secret;

/// How a call is authorised: the `Authorization` header value, and the
/// HTTP client when the credential brings its own (a client certificate).
#[derive(Clone, Debug, Default)]
pub struct Auth {
    pub authorization: Option<Secret>,
    pub client: Option<reqwest::Client>,
    /// The client certificate `client` presents, to explain a failed
    /// handshake.
    pub identity: Option<TlsIdentity>,
}

/// What a mutual TLS client presents and allows.
#[derive(Clone, Debug)]
pub struct TlsIdentity {
    /// The key certificate's subject.
    pub subject: String,
    pub versions: Vec<TlsVersion>,
}

impl Auth {
    /// No credential.
    pub fn none() -> Self {
        Self::default()
    }

    /// `Authorization: Bearer <token>` (RFC 6750 2.1).
    pub fn bearer(token: &Secret) -> Self {
        Self::header(Secret::new(format!("Bearer {}", token.expose())))
    }

    /// A complete `Authorization` header value.
    pub fn header(value: Secret) -> Self {
        Self {
            authorization: Some(value),
            client: None,
            identity: None,
        }
    }
}
