//! Content Security Policy sources for the HTML pages the parties serve.
//!
//! Pages carry their stylesheet inline. Instead of allowing every inline
//! style (`'unsafe-inline'`, which lets injected markup restyle a page, and
//! read attribute values such as a form's CSRF token through selectors),
//! a policy names the hash of the one `<style>` element the page carries
//! (CSP Level 3, "hash-source"): any other inline style is refused.

use std::sync::OnceLock;

use base64::Engine as _;
use sha2::Digest as _;

/// A page's whole policy, built once on first use: `directives` with
/// `{style}` standing for the hash source of `css`. Pages keep one in a
/// `static` beside their stylesheet.
pub struct Policy {
    directives: &'static str,
    css: &'static str,
    value: OnceLock<String>,
}

impl Policy {
    pub const fn new(directives: &'static str, css: &'static str) -> Self {
        Self {
            directives,
            css,
            value: OnceLock::new(),
        }
    }

    /// The header's value.
    pub fn get(&self) -> &str {
        self.value
            .get_or_init(|| self.directives.replace("{style}", &style_hash(self.css)))
    }
}

/// The `style-src` source allowing exactly one inline `<style>` element
/// whose content is `css`, byte for byte.
pub fn style_hash(css: &str) -> String {
    let digest = sha2::Sha256::digest(css.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_names_the_hash_of_its_stylesheet() {
        static POLICY: Policy =
            Policy::new("default-src 'none'; style-src {style}", "body{color:red}");
        assert_eq!(
            POLICY.get(),
            "default-src 'none'; style-src 'sha256-FcQqt3aNlV7AZnGV4zkQRVeCeJOxbMPnQSx258L803E='"
        );
    }

    #[test]
    fn the_hash_source_is_the_base64_sha256_of_the_style_content() {
        // echo -n 'body{color:red}' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            style_hash("body{color:red}"),
            "'sha256-FcQqt3aNlV7AZnGV4zkQRVeCeJOxbMPnQSx258L803E='"
        );
    }
}
