//! What the brand API serves: per consumer (keyed by the access token's
//! `sub`), a profile and some orders, from TOML; and the callers that
//! authenticate without an access token (Basic users, static tokens, client
//! certificate subjects), each mapped to a consumer.
//!
//! `fixtures/brand-api.toml` is the documented default, compiled in. A bad
//! file is refused with the file, and the line or the consumer at fault.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

pub use super::basic::BasicUser;
pub use super::mtls::{CertificateSubject, PinnedClient};
pub use super::static_token::StaticToken;

const DEFAULT_BRAND_API: &str = include_str!("../../fixtures/brand-api.toml");

/// A money amount as a decimal string with at most two decimals
/// (`"12.50"`, `"7"`, `"0.5"`), kept in hundredths so that `"12.5"` and
/// `"12.50"` are the same amount. Shown with two decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(u64);

impl Amount {
    /// The largest amount accepted: 999,999,999.99.
    pub const MAX_CENTS: u64 = 99_999_999_999;

    pub fn from_cents(cents: u64) -> Self {
        Self(cents)
    }

    pub fn cents(self) -> u64 {
        self.0
    }

    /// Parse a decimal string: digits, optionally a point and one or two
    /// digits. No sign, exponent, spaces or thousands separators.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not an amount like \"12.50\"");
        let (whole, frac) = match text.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (text, None),
        };
        if whole.is_empty() || whole.len() > 9 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let frac_cents = match frac {
            None => 0,
            Some(f) if (1..=2).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
                let n: u64 = f.parse().map_err(|_| bad())?;
                if f.len() == 1 { n * 10 } else { n }
            }
            Some(_) => return Err(bad()),
        };
        let whole: u64 = whole.parse().map_err(|_| bad())?;
        Ok(Self(whole * 100 + frac_cents))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl std::str::FromStr for Amount {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Amount::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    /// Unit price.
    pub price: Amount,
}

/// One order, as `GET /api/orders/{id}` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub id: String,
    /// Free text: `delivered`, `shipped`, `awaiting_payment`, ...
    pub status: String,
    pub currency: String,
    pub total: Amount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_at: Option<String>,
    #[serde(default)]
    pub items: Vec<Item>,
}

/// Everything the API holds about one consumer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerData {
    /// The `sub` of the consumer's access tokens.
    pub sub: String,
    /// Returned by `GET /api/me`, with `sub` added.
    #[serde(default)]
    pub profile: Map<String, Value>,
    #[serde(default)]
    pub orders: Vec<Order>,
}

/// The brand API's data: every consumer it knows, and the callers that
/// authenticate without an access token.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandApiFixtures {
    #[serde(default)]
    pub consumers: Vec<ConsumerData>,
    /// Who may call `/basic/orders` with HTTP Basic ([`super::basic`]).
    #[serde(default)]
    pub basic_users: Vec<BasicUser>,
    /// The tokens `/static/orders` accepts ([`super::static_token`]).
    #[serde(default)]
    pub static_tokens: Vec<StaticToken>,
    /// The client certificates `/mtls/orders` knows ([`super::mtls`]).
    #[serde(default)]
    pub client_certificates: Vec<CertificateSubject>,
    /// Client certificates the TLS listener trusts by themselves, whoever
    /// issued them ([`super::mtls`]).
    #[serde(default)]
    pub pinned_client_certificates: Vec<PinnedClient>,
}

/// Why a fixtures file was refused.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct FixturesError {
    pub source_name: String,
    pub message: String,
}

impl BrandApiFixtures {
    /// The documented default (`fixtures/brand-api.toml`): alice and bob,
    /// the IdP's fixture users, with a profile and a few orders each.
    pub fn default_brand() -> Self {
        Self::from_toml(DEFAULT_BRAND_API, "fixtures/brand-api.toml")
            .expect("the built-in brand API fixtures are valid")
    }

    /// Parse and check fixtures; `source_name` names them in errors.
    pub fn from_toml(text: &str, source_name: &str) -> Result<Self, FixturesError> {
        let err = |message: String| FixturesError {
            source_name: source_name.to_string(),
            message,
        };
        let fixtures: Self = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        fixtures.validate().map_err(err)?;
        Ok(fixtures)
    }

    /// Load a fixtures file.
    pub fn from_file(path: &Path) -> Result<Self, FixturesError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| FixturesError {
            source_name: name.clone(),
            message: e.to_string(),
        })?;
        Self::from_toml(&text, &name)
    }

    /// Subs and order ids unique (order ids across consumers, so another
    /// consumer's order is simply not found), nothing empty; Basic users,
    /// static tokens and certificate subjects well formed and unique.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_callers()?;
        let mut subs = HashSet::new();
        let mut ids = HashSet::new();
        for (i, c) in self.consumers.iter().enumerate() {
            c.validate().map_err(|e| format!("consumers[{i}]: {e}"))?;
            if !subs.insert(c.sub.as_str()) {
                return Err(format!("consumers[{i}]: sub {:?} is listed twice", c.sub));
            }
            for o in &c.orders {
                if !ids.insert(o.id.as_str()) {
                    return Err(format!(
                        "consumers[{i}] ({}): order id {:?} is used twice",
                        c.sub, o.id
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_callers(&self) -> Result<(), String> {
        let mut names = HashSet::new();
        for (i, u) in self.basic_users.iter().enumerate() {
            u.validate().map_err(|e| format!("basic_users[{i}]: {e}"))?;
            if !names.insert(u.username.as_str()) {
                return Err(format!(
                    "basic_users[{i}]: username {:?} is listed twice",
                    u.username
                ));
            }
        }
        for (i, t) in self.static_tokens.iter().enumerate() {
            t.validate()
                .map_err(|e| format!("static_tokens[{i}]: {e}"))?;
            if self.static_tokens[..i].iter().any(|o| o.token == t.token) {
                return Err(format!("static_tokens[{i}]: this token is listed twice"));
            }
        }
        let mut cns = HashSet::new();
        for (i, c) in self.client_certificates.iter().enumerate() {
            c.validate()
                .map_err(|e| format!("client_certificates[{i}]: {e}"))?;
            if !cns.insert(c.common_name.as_str()) {
                return Err(format!(
                    "client_certificates[{i}]: common_name {:?} is listed twice",
                    c.common_name
                ));
            }
        }
        for (i, p) in self.pinned_client_certificates.iter().enumerate() {
            p.validate()
                .map_err(|e| format!("pinned_client_certificates[{i}]: {e}"))?;
        }
        Ok(())
    }

    /// The consumer whose `sub` this is.
    pub fn consumer(&self, sub: &str) -> Option<&ConsumerData> {
        self.consumers.iter().find(|c| c.sub == sub)
    }
}

impl ConsumerData {
    /// Check one consumer on its own.
    pub fn validate(&self) -> Result<(), String> {
        if self.sub.trim().is_empty() {
            return Err("sub: must not be empty".into());
        }
        if self.profile.contains_key("sub") {
            return Err("profile: must not set sub (it is the consumer's key)".into());
        }
        let mut ids = HashSet::new();
        for (j, o) in self.orders.iter().enumerate() {
            if o.id.trim().is_empty() {
                return Err(format!("orders[{j}].id: must not be empty"));
            }
            if !ids.insert(o.id.as_str()) {
                return Err(format!("orders[{j}].id: {:?} is used twice", o.id));
            }
        }
        Ok(())
    }

    /// This consumer's order `id`.
    pub fn order(&self, id: &str) -> Option<&Order> {
        self.orders.iter().find(|o| o.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_brand_has_alice_and_bob() {
        let f = BrandApiFixtures::default_brand();
        let alice = f.consumer("c0ffee00-a11c-4e00-8000-000000000001").unwrap();
        assert!(alice.orders.len() >= 2);
        assert!(f.consumer("c0ffee00-b0b0-4e00-8000-000000000002").is_some());
    }

    #[test]
    fn the_default_brand_knows_a_basic_user_a_static_token_and_a_certificate() {
        let f = BrandApiFixtures::default_brand();
        assert_eq!(f.basic_users[0].username, "brand-partner");
        assert_eq!(f.static_tokens[0].token_type, "Token");
        assert_eq!(f.client_certificates[0].common_name, "standin-client");
        assert!(!format!("{f:?}").contains("brand-partner-password"));
        assert!(!format!("{f:?}").contains("brand-static-token"));
    }

    #[test]
    fn bad_callers_are_refused_with_their_entry() {
        let text = "[[basic_users]]\nusername = \"a:b\"\npassword = \"p\"\nsub = \"s\"\n";
        let e = BrandApiFixtures::from_toml(text, "t.toml").unwrap_err();
        assert!(e.to_string().contains("basic_users[0]: username"), "{e}");
        let text = "[[static_tokens]]\ntype = \"My Token\"\ntoken = \"t\"\nsub = \"s\"\n";
        let e = BrandApiFixtures::from_toml(text, "t.toml").unwrap_err();
        assert!(e.to_string().contains("static_tokens[0]: type"), "{e}");
        let text = "[[static_tokens]]\ntoken = \"t\"\nsub = \"s\"\n[[static_tokens]]\ntoken = \"t\"\nsub = \"x\"\n";
        let e = BrandApiFixtures::from_toml(text, "t.toml").unwrap_err();
        assert!(e.to_string().contains("listed twice"), "{e}");
    }

    #[test]
    fn amounts_parse_strictly_and_print_with_two_decimals() {
        assert_eq!(
            Amount::parse("12.5").unwrap(),
            Amount::parse("12.50").unwrap()
        );
        assert_eq!(Amount::parse("7").unwrap().to_string(), "7.00");
        assert_eq!(Amount::parse("0.05").unwrap().cents(), 5);
        for bad in [
            "",
            ".5",
            "1.",
            "1.234",
            "-1",
            "+1",
            "1e3",
            " 1",
            "1,00",
            "１",
            "1234567890",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn duplicate_order_ids_across_consumers_are_refused() {
        let text = r#"
            [[consumers]]
            sub = "a"
            [[consumers.orders]]
            id = "1"
            status = "x"
            currency = "GBP"
            total = "1.00"
            [[consumers]]
            sub = "b"
            [[consumers.orders]]
            id = "1"
            status = "x"
            currency = "GBP"
            total = "1.00"
        "#;
        let e = BrandApiFixtures::from_toml(text, "t.toml").unwrap_err();
        assert!(e.to_string().contains("order id \"1\""), "{e}");
    }

    #[test]
    fn bad_fields_name_the_line() {
        let e = BrandApiFixtures::from_toml("[[consumers]]\nsub = \"a\"\ncolour = 1\n", "t.toml")
            .unwrap_err();
        assert!(e.to_string().contains("t.toml"), "{e}");
        assert!(e.to_string().contains("line 3"), "{e}");
    }
}
