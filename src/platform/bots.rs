//! Bots and their dialogs: a consumer message matches a dialog's trigger,
//! the dialog's integration runs, and its answer is rendered from the
//! response.
//!
//! A trigger is a pattern of words and `{name}` placeholders, matched
//! against the whole message, case-insensitively, with runs of spaces
//! folded: `"pay order {order_id} amount {amount}"` matches
//! `"Pay order 42 amount 19.90"` with `order_id = "42"`, `amount = "19.90"`.
//! A placeholder takes one word. (Regular expressions are not a dependency
//! of this crate; this covers what dialogs need.)

use std::collections::BTreeMap;

use serde::Deserialize;

use serde_json::Value;

/// HTTP methods an integration may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// An integration as declared in a dialog.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationConfig {
    pub name: String,
    #[serde(default = "get")]
    pub method: Method,
    /// URL template; placeholder values are percent-encoded.
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON body template (see [`crate::platform::integrations::template::expand_json`]).
    #[serde(default)]
    pub body: Option<Value>,
    /// Name of a credential of the conversation's organisation.
    #[serde(default)]
    pub credential: Option<String>,
}

fn get() -> Method {
    Method::Get
}

/// A bot: an id, and dialogs tried in order.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bot {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Said when no dialog matches.
    #[serde(default = "default_fallback")]
    pub fallback: String,
    #[serde(default)]
    pub dialogs: Vec<Dialog>,
}

fn default_fallback() -> String {
    "Sorry, I did not understand that.".into()
}

/// One dialog: trigger patterns, the integration it calls, and the answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dialog {
    pub name: String,
    /// Patterns; the first that matches wins.
    pub triggers: Vec<String>,
    pub integration: IntegrationConfig,
    pub answer: AnswerTemplate,
}

/// How the answer is rendered from the API's JSON response.
///
/// `text` may contain `{/json/pointer}` (RFC 6901) into the response,
/// `{name}` for a trigger capture, and `{list}`: the array at `list`
/// rendered item by item with `item` (pointers relative to the item),
/// joined with `separator`, or `empty` when the array is empty.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerTemplate {
    pub text: String,
    #[serde(default)]
    pub list: Option<String>,
    #[serde(default)]
    pub item: Option<String>,
    #[serde(default = "default_separator")]
    pub separator: String,
    #[serde(default = "default_empty")]
    pub empty: String,
}

fn default_separator() -> String {
    "; ".into()
}

fn default_empty() -> String {
    "none".into()
}

/// Match `message` against `pattern`; the captures when it matches.
pub fn match_trigger(pattern: &str, message: &str) -> Option<BTreeMap<String, String>> {
    let pat: Vec<&str> = pattern.split_whitespace().collect();
    let msg: Vec<&str> = message.split_whitespace().collect();
    if pat.len() != msg.len() || pat.is_empty() {
        return None;
    }
    let mut captures = BTreeMap::new();
    for (p, m) in pat.iter().zip(msg.iter()) {
        if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            captures.insert(name.to_string(), (*m).to_string());
        } else if !p.eq_ignore_ascii_case(m) {
            return None;
        }
    }
    Some(captures)
}

impl Bot {
    /// The first dialog whose trigger matches, with the captures.
    pub fn dialog_for(&self, message: &str) -> Option<(&Dialog, BTreeMap<String, String>)> {
        self.dialogs.iter().find_map(|d| {
            d.triggers
                .iter()
                .find_map(|t| match_trigger(t, message))
                .map(|c| (d, c))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_match_whole_messages_with_captures() {
        assert_eq!(
            match_trigger("my orders", "  My   ORDERS "),
            Some(BTreeMap::new())
        );
        assert_eq!(match_trigger("my orders", "my orders please"), None);
        let c = match_trigger(
            "pay order {order_id} amount {amount}",
            "pay order 42 amount 9.5",
        )
        .unwrap();
        assert_eq!(c["order_id"], "42");
        assert_eq!(c["amount"], "9.5");
        assert_eq!(match_trigger("", ""), None);
    }
}
