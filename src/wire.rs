//! The OAuth 2.0 wire pieces both sides need, kept once and neutral (the
//! brand side and the platform import this, never each other): the
//! RFC 6749 5.2 `error_description` character set, `client_secret_basic`
//! credentials (RFC 6749 2.3.1), a client's id ([`ClientId`]), and the
//! public id of a code or token.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use url::form_urlencoded::byte_serialize;

/// The common face of an id that is text, a tuple struct around a
/// `String`: `as_str`; `Display` and `Debug` as the text (messages that
/// quote an id read as they would with a string); `AsRef<str>`; and
/// `Borrow<str>`, so a map keyed by the id is looked up by the text a
/// request presents.
macro_rules! text_id {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&self.0, f)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}
#[cfg_attr(not(feature = "platform"), allow(unused_imports))]
pub(crate) use text_id;

/// An OAuth 2.0 client's id (RFC 6749 2.2): the string an authorization
/// server registered the client under, at the mock IdP and in the
/// platform's provider and credential settings. Any string is taken as
/// given (whether it names a client is the registry's question), and it
/// serialises as that string.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

text_id!(ClientId);

impl ClientId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
}

impl From<String> for ClientId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl From<&str> for ClientId {
    fn from(id: &str) -> Self {
        Self(id.to_string())
    }
}

impl PartialEq<str> for ClientId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ClientId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for ClientId {
    fn eq(&self, other: &String) -> bool {
        self.0 == *other
    }
}

/// `error_description` may only hold %x20-21 / %x23-5B / %x5D-7E
/// (RFC 6749 5.2): no CR/LF, no quote, no backslash, nothing outside ASCII.
pub fn sanitize_description(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\x20'..='\x7e' if c != '"' && c != '\\' => c,
            _ => ' ',
        })
        .collect()
}

/// The value of `Authorization: Basic` for a client: its id and secret,
/// each form-encoded first, then base64 (RFC 6749 2.3.1).
pub fn basic_credentials(client_id: &str, secret: &str) -> String {
    let id: String = byte_serialize(client_id.as_bytes()).collect();
    let secret: String = byte_serialize(secret.as_bytes()).collect();
    let pair = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    format!("Basic {pair}")
}

/// The public id of a code or token, as text ([`TokenId`]). Inspection
/// and logs show this, never values.
pub fn token_id(value: &str) -> String {
    TokenId::of(value).to_string()
}

/// The public id of a code or token: the first 128 bits of the SHA-256 of
/// its value, shown as 22 base64url characters. Sixteen bytes where the
/// text would take a 24-byte `String` and its allocation: the mock IdP
/// keys every record it keeps by one. Its `Debug` is the id, which is
/// public (inspection shows it); the value cannot be had back from it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId([u8; 16]);

impl TokenId {
    /// The id of `value`.
    pub fn of(value: &str) -> Self {
        let digest = sha2::Sha256::digest(value.as_bytes());
        let mut id = [0; 16];
        id.copy_from_slice(&digest[..16]);
        TokenId(id)
    }

    /// An id from its text (22 base64url characters), as [`token_id`]
    /// writes it.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let id: [u8; 16] = bytes.try_into().ok()?;
        // The last character carries 2 bits and 4 zero bits: only one
        // spelling of each id parses.
        (TokenId(id).to_string() == text).then_some(TokenId(id))
    }
}

impl std::fmt::Display for TokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = [0u8; 22];
        let written = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode_slice(self.0, &mut text)
            .map_err(|_| std::fmt::Error)?;
        f.write_str(std::str::from_utf8(&text[..written]).map_err(|_| std::fmt::Error)?)
    }
}

impl std::fmt::Debug for TokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenId({self})")
    }
}

impl serde::Serialize for TokenId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ids_are_stable_short_and_parse_back() {
        let id = TokenId::of("abc");
        assert_eq!(id, TokenId::of("abc"));
        assert_ne!(id, TokenId::of("abd"));
        assert_eq!(token_id("abc").len(), 22);
        assert_eq!(TokenId::parse(&token_id("abc")), Some(id));
        assert_eq!(format!("{id:?}"), format!("TokenId({})", token_id("abc")));
        assert_eq!(TokenId::parse("too-short"), None);
        assert_eq!(TokenId::parse(&format!("{}x", token_id("abc"))), None);
    }

    #[test]
    fn descriptions_keep_only_the_allowed_characters() {
        assert_eq!(sanitize_description("a\r\nb \"c\" \\ é"), "a  b  c     ");
        assert_eq!(
            basic_credentials("a b", "s&t"),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("a+b:s%26t")
            )
        );
    }
}
