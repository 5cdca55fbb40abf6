//! The OAuth 2.0 wire pieces both sides need, kept once and neutral (the
//! brand side and the platform import this, never each other): the
//! RFC 6749 5.2 `error_description` character set, `client_secret_basic`
//! credentials (RFC 6749 2.3.1), and the public id of a code or token.

use base64::Engine as _;
use sha2::Digest as _;
use url::form_urlencoded::byte_serialize;

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

/// The public id of a code or token: the first 22 characters (132 bits) of
/// the base64url SHA-256 of its value. Inspection and logs show this,
/// never values.
pub fn token_id(value: &str) -> String {
    let digest = sha2::Sha256::digest(value.as_bytes());
    let mut id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    id.truncate(22);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

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
