//! One type's form: rendering it (values kept, errors beside their
//! fields) and reading it back (multipart, so key stores and certificates
//! can be uploaded) into the JSON fields the vault validates.
//!
//! What was entered in a secret field or a file goes to the vault and
//! never back to the page: after a refused save the form asks for them
//! again, and an edit form leaves them blank ("leave blank to keep").

use std::collections::BTreeMap;

use axum::extract::Multipart;
use base64::Engine;
use serde_json::{Map, Value};

use super::layout::{attr, text};
use super::types::{Field, Shows, Submit, Type, Widget};
use crate::platform::credentials::FieldError;

/// What the form was filled with, as text, by field (non-secret fields
/// only are ever rendered). Checkbox groups keep each checked value.
#[derive(Debug, Default)]
pub struct Entered {
    pub values: BTreeMap<String, Vec<String>>,
}

impl Entered {
    pub fn one(&self, name: &str) -> &str {
        self.values
            .get(name)
            .and_then(|v| v.first())
            .map_or("", String::as_str)
    }
}

/// Whether the form adds a credential or edits a saved one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Add,
    Edit,
}

/// What the page needs beyond the type.
pub struct Context<'a> {
    pub mode: Mode,
    pub action: &'a str,
    /// Shown for [`Shows::OAuthRedirectUri`] / [`Shows::ConsumerCallback`].
    pub shown_uri: &'a str,
    /// A secret or file was entered and the save was refused.
    pub secrets_dropped: bool,
}

fn field_id(name: &str) -> String {
    format!("f-{name}")
}

/// The form's HTML. Above it, every error, linked to its field; beside
/// each field, its own errors again.
pub fn render(t: &Type, entered: &Entered, errors: &[FieldError], cx: &Context<'_>) -> String {
    let mut out = String::new();
    if !errors.is_empty() {
        out.push_str("<div class=\"problem\" role=\"alert\"><p>Nothing was saved:</p><ul>");
        // Each error, linked to its field (the field shows it again).
        for e in errors {
            let target = t.fields.iter().find(|f| f.name == e.field);
            let line = match (target, e.field) {
                (Some(f), _) => Some((f.label, f.name, f.widget)),
                (None, "name") => Some(("Name", "name", Widget::Text)),
                _ => None,
            };
            match line {
                Some((label, name, widget)) => {
                    let anchor = match widget {
                        Widget::Checkboxes(_) => format!("{}-0", field_id(name)),
                        _ => field_id(name),
                    };
                    out.push_str(&format!(
                        "<li><a href=\"#{}\">{}: {}</a></li>",
                        attr(&anchor),
                        text(label),
                        text(&e.message)
                    ));
                }
                None => out.push_str(&format!("<li class=\"error\">{}</li>", text(&e.message))),
            }
        }
        out.push_str("</ul>");
        if cx.secrets_dropped {
            out.push_str(
                "<p>Passwords, secrets and files are never sent back to the page: enter them again.</p>",
            );
        }
        out.push_str("</div>");
    }
    out.push_str(&format!("<p class=\"muted\">{}</p>", text(t.about)));
    match t.shows {
        Shows::Nothing => {}
        Shows::OAuthRedirectUri => out.push_str(&copyable(
            "Redirect URI",
            cx.shown_uri,
            "Register this redirect URI at the brand's authorization server, then fill in the client it gave you.",
        )),
        Shows::ConsumerCallback => out.push_str(&copyable(
            "Redirect URI",
            cx.shown_uri,
            "Register this redirect URI at the brand, and give it as redirect_uri in the authentication URL.",
        )),
    }
    out.push_str(&format!(
        "<form method=\"post\" action=\"{}\" enctype=\"multipart/form-data\" novalidate>\
         <input type=\"hidden\" name=\"type\" value=\"{}\">",
        attr(cx.action),
        attr(t.name)
    ));
    let name_field = Field {
        name: "name",
        label: "Name",
        widget: Widget::Text,
        required: true,
        help: "A descriptive name; integrations refer to the credential by it.",
    };
    if cx.mode == Mode::Add {
        out.push_str(&input(&name_field, entered, errors, cx.mode));
    }
    for f in t.fields {
        out.push_str(&input(f, entered, errors, cx.mode));
    }
    let save = match cx.mode {
        Mode::Add => "Save",
        Mode::Edit => "Save changes",
    };
    match t.submit {
        Submit::Save => out.push_str(&format!(
            "<p><button name=\"then\" value=\"save\">{save}</button></p>"
        )),
        Submit::AuthorizeInBrowser | Submit::AuthorizeNow => out.push_str(&format!(
            "<p><button name=\"then\" value=\"authorize\">Authorize</button> \
             <button name=\"then\" value=\"save\" class=\"secondary\">{save} without authorizing</button></p>"
        )),
    }
    out.push_str("</form>");
    out
}

/// A read-only value with a Copy button (shown by the script).
fn copyable(label: &str, value: &str, help: &str) -> String {
    format!(
        "<div class=\"field\"><label for=\"shown-uri\">{}</label>\
         <div class=\"copyable\"><input id=\"shown-uri\" type=\"text\" readonly value=\"{}\" aria-describedby=\"shown-uri-help\">\
         <button type=\"button\" class=\"secondary\" data-copy=\"shown-uri\" hidden>Copy</button></div>\
         <p class=\"help\" id=\"shown-uri-help\">{}</p></div>",
        text(label),
        attr(value),
        text(help)
    )
}

fn input(f: &Field, entered: &Entered, errors: &[FieldError], mode: Mode) -> String {
    let id = field_id(f.name);
    let mine: Vec<&FieldError> = errors.iter().filter(|e| e.field == f.name).collect();
    let mut described = Vec::new();
    let mut help = f.help.to_string();
    if mode == Mode::Edit && f.widget.secret() {
        help = format!("{help} Leave blank to keep the saved one.")
            .trim()
            .to_string();
    }
    if !help.is_empty() {
        described.push(format!("{id}-help"));
    }
    if !mine.is_empty() {
        described.push(format!("{id}-error"));
    }
    let mut aria = String::new();
    if !described.is_empty() {
        aria.push_str(&format!(" aria-describedby=\"{}\"", described.join(" ")));
    }
    if !mine.is_empty() {
        aria.push_str(" aria-invalid=\"true\"");
    }
    let required = if f.required && !(mode == Mode::Edit && f.widget.secret()) {
        " required"
    } else {
        ""
    };
    let name = attr(f.name);
    let value = attr(entered.one(f.name));
    let label = text(f.label);
    let control = match f.widget {
        Widget::Text => format!(
            "<label for=\"{id}\">{label}</label><input type=\"text\" id=\"{id}\" name=\"{name}\" value=\"{value}\"{required}{aria}>"
        ),
        Widget::Url => format!(
            "<label for=\"{id}\">{label}</label><input type=\"url\" id=\"{id}\" name=\"{name}\" value=\"{value}\"{required}{aria}>"
        ),
        Widget::Secret => format!(
            "<label for=\"{id}\">{label}</label><input type=\"password\" id=\"{id}\" name=\"{name}\" autocomplete=\"off\"{required}{aria}>"
        ),
        Widget::SecretText => format!(
            "<label for=\"{id}\">{label}</label><textarea id=\"{id}\" name=\"{name}\" autocomplete=\"off\" spellcheck=\"false\"{required}{aria}></textarea>"
        ),
        Widget::File { accept } => format!(
            "<label for=\"{id}\">{label}</label><input type=\"file\" id=\"{id}\" name=\"{name}\" accept=\"{}\"{required}{aria}>",
            attr(accept)
        ),
        Widget::Select(options) => {
            let chosen = entered.one(f.name);
            let opts: String = options
                .iter()
                .map(|(v, l)| {
                    format!(
                        "<option value=\"{}\"{}>{}</option>",
                        attr(v),
                        if *v == chosen { " selected" } else { "" },
                        text(l)
                    )
                })
                .collect();
            format!(
                "<label for=\"{id}\">{label}</label><select id=\"{id}\" name=\"{name}\"{required}{aria}>{opts}</select>"
            )
        }
        Widget::Checkboxes(options) => {
            let checked = entered.values.get(f.name).cloned().unwrap_or_default();
            let boxes: String = options
                .iter()
                .enumerate()
                .map(|(i, (v, l))| {
                    format!(
                        "<label><input type=\"checkbox\" id=\"{id}-{i}\" name=\"{name}\" value=\"{}\"{}> {}</label>",
                        attr(v),
                        if checked.iter().any(|c| c == v) {
                            " checked"
                        } else {
                            ""
                        },
                        text(l)
                    )
                })
                .collect();
            format!("<fieldset id=\"{id}\"{aria}><legend>{label}</legend>{boxes}</fieldset>")
        }
    };
    let mut out = format!("<div class=\"field\">{control}");
    if !help.is_empty() {
        out.push_str(&format!(
            "<p class=\"help\" id=\"{id}-help\">{}</p>",
            text(&help)
        ));
    }
    if !mine.is_empty() {
        out.push_str(&format!("<div class=\"error\" id=\"{id}-error\">"));
        for e in mine {
            out.push_str(&format!("<p>{}</p>", text(&e.message)));
        }
        out.push_str("</div>");
    }
    out.push_str("</div>");
    out
}

/// A form as read: the fields for the vault, what may be shown again, and
/// what the button asked for.
#[derive(Debug, Default)]
pub struct Posted {
    pub type_name: String,
    pub then_authorize: bool,
    pub fields: Map<String, Value>,
    pub entered: Entered,
    /// A secret or file was entered.
    pub secrets_given: bool,
}

/// Read a posted form of type `t` (found by its `type` field through
/// `find`). Blank optional fields are `null`; on edit, a blank secret or
/// file is left out (the saved one stays).
pub async fn read(
    mut multipart: Multipart,
    find: impl Fn(&str) -> Option<&'static Type>,
    mode: Mode,
) -> Result<(Posted, &'static Type), String> {
    let mut raw: Vec<(String, Option<String>, Vec<u8>)> = Vec::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let file_name = field.file_name().map(str::to_string);
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| format!("the form could not be read: {e}"))?;
                raw.push((name, file_name, bytes.to_vec()));
            }
            Ok(None) => break,
            Err(e) => return Err(format!("the form could not be read: {e}")),
        }
    }
    let utf8 = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let type_name = raw
        .iter()
        .find(|(n, _, _)| n == "type")
        .map(|(_, _, b)| utf8(b))
        .unwrap_or_default();
    let Some(t) = find(&type_name) else {
        return Err("the form names no credential type; start again from Add credential".into());
    };
    let mut posted = Posted {
        type_name: type_name.clone(),
        then_authorize: raw
            .iter()
            .any(|(n, _, b)| n == "then" && b.as_slice() == b"authorize"),
        ..Posted::default()
    };
    let mut names = vec!["name"];
    names.extend(t.fields.iter().map(|f| f.name));
    for name in names {
        let parts: Vec<&(String, Option<String>, Vec<u8>)> =
            raw.iter().filter(|(n, _, _)| n == name).collect();
        let field = t.fields.iter().find(|f| f.name == name);
        let widget = field.map_or(Widget::Text, |f| f.widget);
        let required = field.is_none_or(|f| f.required);
        match widget {
            Widget::Checkboxes(options) => {
                let values: Vec<String> = parts
                    .iter()
                    .map(|(_, _, b)| utf8(b))
                    .filter(|v| options.iter().any(|(o, _)| o == v))
                    .collect();
                posted.entered.values.insert(name.into(), values.clone());
                posted.fields.insert(
                    name.into(),
                    Value::Array(values.into_iter().map(Value::String).collect()),
                );
            }
            Widget::File { .. } => {
                let Some((_, file_name, bytes)) = parts.first() else {
                    continue;
                };
                if bytes.is_empty() {
                    // None chosen: on add the vault says what is missing,
                    // on edit the saved file stays.
                    continue;
                }
                posted.secrets_given = true;
                let file_name = file_name.clone().unwrap_or_default();
                let content = match std::str::from_utf8(bytes) {
                    // PEM stays text; anything binary goes as base64.
                    Ok(s) if s.contains("-----BEGIN") => s.to_string(),
                    _ => base64::engine::general_purpose::STANDARD.encode(bytes),
                };
                posted.fields.insert(name.into(), Value::String(content));
                posted
                    .fields
                    .insert(format!("{name}_file_name"), Value::String(file_name));
            }
            Widget::Secret | Widget::SecretText => {
                let value = parts.first().map(|(_, _, b)| utf8(b)).unwrap_or_default();
                if value.is_empty() {
                    if mode == Mode::Add {
                        posted.fields.insert(name.into(), Value::Null);
                    }
                    continue;
                }
                posted.secrets_given = true;
                posted.fields.insert(name.into(), Value::String(value));
            }
            Widget::Text | Widget::Url | Widget::Select(_) => {
                let value = parts.first().map(|(_, _, b)| utf8(b)).unwrap_or_default();
                posted
                    .entered
                    .values
                    .insert(name.into(), vec![value.clone()]);
                let blank = value.trim().is_empty();
                posted.fields.insert(
                    name.into(),
                    if blank && !required {
                        Value::Null
                    } else {
                        Value::String(value)
                    },
                );
            }
        }
    }
    if mode == Mode::Edit {
        posted.fields.remove("name");
    }
    Ok((posted, t))
}

/// The entered values of a saved credential's read view (secrets are
/// `"[redacted]"` there, and never shown).
pub fn entered_from_view(t: &Type, view: &Value) -> Entered {
    let mut entered = Entered::default();
    for f in t.fields {
        if f.widget.secret() {
            continue;
        }
        match &view[f.name] {
            Value::String(s) => {
                entered.values.insert(f.name.into(), vec![s.clone()]);
            }
            Value::Array(items) => {
                entered.values.insert(
                    f.name.into(),
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                );
            }
            _ => {}
        }
    }
    entered
}

#[cfg(test)]
mod tests {
    use super::super::types::find;
    use super::*;
    use crate::platform::credentials::err;

    #[test]
    fn errors_sit_beside_their_fields_and_secrets_are_never_rendered() {
        let t = find("basic_authentication").unwrap();
        let mut entered = Entered::default();
        entered
            .values
            .insert("username".into(), vec!["<alice>".into()]);
        let html = render(
            t,
            &entered,
            &[
                err("password", "missing", "the password is required"),
                err("vault", "storage", "the vault is down"),
            ],
            &Context {
                mode: Mode::Add,
                action: "/console/orgs/acme/new",
                shown_uri: "",
                secrets_dropped: true,
            },
        );
        let password = html.find("id=\"f-password\"").unwrap();
        let error = html.find("id=\"f-password-error\"").unwrap();
        assert!(error > password && html[password..error].contains("aria-invalid"));
        assert!(html.contains("value=\"&lt;alice&gt;\""), "{html}");
        assert!(html.contains("the vault is down"));
        assert!(html.contains("enter them again"));
        assert!(!html.contains("type=\"password\" id=\"f-password\" name=\"password\" value"));
    }

    proptest::proptest! {
        /// Whatever was entered and whatever an error says, the page
        /// shows it as text: no markup of it survives, and no secret is
        /// rendered.
        #[test]
        fn entered_text_and_errors_are_escaped(
            value in "[ -~]{0,40}",
            message in "[ -~]{0,40}",
            type_index in 0..super::super::types::TYPES.len(),
        ) {
            let t = &super::super::types::TYPES[type_index];
            let mut entered = Entered::default();
            for f in t.fields {
                entered.values.insert(f.name.into(), vec![format!("<i>{value}")]);
            }
            let errors: Vec<FieldError> = t
                .fields
                .iter()
                .map(|f| err(f.name, "bad", format!("<b>{message}")))
                .collect();
            let html = render(t, &entered, &errors, &Context {
                mode: Mode::Edit,
                action: "/x",
                shown_uri: "http://127.0.0.1/\"<u>",
                secrets_dropped: false,
            });
            proptest::prop_assert!(!html.contains("<i>") && !html.contains("<b>") && !html.contains("<u>"));
            for f in t.fields.iter().filter(|f| f.widget.secret()) {
                let id = format!("id=\"f-{}\"", f.name);
                let at = html.find(&id).unwrap();
                let tag_end = at + html[at..].find('>').unwrap();
                proptest::prop_assert!(!html[at..tag_end].contains("value="));
            }
        }
    }
}
