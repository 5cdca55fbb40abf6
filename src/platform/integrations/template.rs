//! Template expansion for integrations (URL, headers, body) and answers.
//!
//! Placeholders are `{name}`, filled from the trigger's captures and a few
//! built-ins (`idempotency_key`, `conversation_id`, `consumer_id`). In a URL
//! a value is percent-encoded; in a JSON body a string that is exactly
//! `"{name}"` becomes the value as a string and `"{name:number}"` as a JSON
//! number, so a message can never inject JSON. In answers, `{/pointer}`
//! reads the API response (RFC 6901).

use std::collections::BTreeMap;

use serde_json::Value;

/// Values the placeholders are filled from.
pub type Vars = BTreeMap<String, String>;

/// A placeholder with no value, or a value of the wrong kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("no value for {{{0}}}")]
    Missing(String),
    #[error("{{{0}}} must be a number, got {1:?}")]
    NotANumber(String, String),
    #[error("unclosed {{ in template")]
    Unclosed,
}

/// Replace `{name}` by `encode(value)`; `{/...}` and `{{` are left alone
/// for the caller (answers) to handle.
fn expand_with(
    template: &str,
    mut replace: impl FnMut(&str) -> Result<String, TemplateError>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('}').ok_or(TemplateError::Unclosed)?;
        out.push_str(&replace(&after[..end])?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup<'v>(vars: &'v Vars, name: &str) -> Result<&'v str, TemplateError> {
    vars.get(name)
        .map(String::as_str)
        .ok_or_else(|| TemplateError::Missing(name.to_string()))
}

/// Percent-encode everything but RFC 3986 unreserved characters.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A URL template: values percent-encoded.
pub fn expand_url(template: &str, vars: &Vars) -> Result<String, TemplateError> {
    expand_with(template, |name| lookup(vars, name).map(encode_component))
}

/// A header or plain-text template: values as they are.
pub fn expand_text(template: &str, vars: &Vars) -> Result<String, TemplateError> {
    expand_with(template, |name| lookup(vars, name).map(str::to_string))
}

/// A JSON body template: see the module documentation.
pub fn expand_json(template: &Value, vars: &Vars) -> Result<Value, TemplateError> {
    Ok(match template {
        Value::String(s) => {
            let whole = s
                .strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
                .filter(|inner| !inner.contains(['{', '}']));
            match whole {
                Some(inner) => match inner.strip_suffix(":number") {
                    Some(name) => {
                        let raw = lookup(vars, name)?;
                        let n: serde_json::Number = raw.parse().map_err(|_| {
                            TemplateError::NotANumber(name.to_string(), raw.to_string())
                        })?;
                        Value::Number(n)
                    }
                    None => Value::String(lookup(vars, inner)?.to_string()),
                },
                None => Value::String(expand_text(s, vars)?),
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| expand_json(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), expand_json(v, vars)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

/// A JSON value as answer text: strings bare, arrays of scalars joined.
fn show(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "?".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.iter().all(|v| !v.is_object() && !v.is_array()) => items
            .iter()
            .map(|v| show(Some(v)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v.get("name").or_else(|| v.get("id")) {
                Some(n) => show(Some(n)),
                None => v.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// Render answer text: `{/pointer}` into `json`, `{name}` from `vars`,
/// `{list}` from `list` when given. Unknown names render as `?`.
pub fn render_answer(template: &str, json: &Value, vars: &Vars, list: Option<&str>) -> String {
    let rendered = expand_with(template, |name| {
        Ok(if name.starts_with('/') {
            show(json.pointer(name))
        } else if name == "." {
            show(Some(json))
        } else if name == "list" && list.is_some() {
            list.unwrap_or_default().to_string()
        } else {
            vars.get(name).cloned().unwrap_or_else(|| "?".into())
        })
    });
    rendered.unwrap_or_else(|_| template.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        [("id", "a b/c"), ("amount", "12.5")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into()
    }

    #[test]
    fn urls_encode_values() {
        assert_eq!(
            expand_url("http://x/api/orders/{id}", &vars()).unwrap(),
            "http://x/api/orders/a%20b%2Fc"
        );
        assert_eq!(
            expand_url("{nope}", &vars()),
            Err(TemplateError::Missing("nope".into()))
        );
    }

    #[test]
    fn json_bodies_cannot_be_injected() {
        let mut v = vars();
        v.insert("id".into(), "\", \"admin\": true".into());
        let body = expand_json(
            &json!({"order_id": "{id}", "amount": "{amount:number}", "note": "for {id}"}),
            &v,
        )
        .unwrap();
        assert_eq!(body["order_id"], json!("\", \"admin\": true"));
        assert_eq!(body["amount"], json!(12.5));
        assert!(body.get("admin").is_none());
        v.insert("amount".into(), "lots".into());
        assert!(matches!(
            expand_json(&json!({"a": "{amount:number}"}), &v),
            Err(TemplateError::NotANumber(..))
        ));
    }

    #[test]
    fn answers_read_json_pointers() {
        let body = json!({"payment_id": "p1", "items": ["tea", "cake"], "n": 3});
        assert_eq!(
            render_answer(
                "{/payment_id}: {/items} x{/n} {/missing} {id}",
                &body,
                &vars(),
                None
            ),
            "p1: tea, cake x3 ? a b/c"
        );
    }
}
