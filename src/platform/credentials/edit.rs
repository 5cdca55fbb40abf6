//! Saving, replacing and deleting a credential: the rules the JSON API
//! ([`super::http`]) and the console (`crate::platform::console`) share,
//! so a form and a JSON body are validated by the same code and refused
//! for the same reasons.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Credential, FieldError, Kind, SaveContext, SaveError, err};
use crate::clock::Instant;
use crate::platform::PlatformState;
use crate::platform::org::Org;

fn take_string(map: &mut Map<String, Value>, key: &'static str) -> Result<String, FieldError> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(err(key, "not_a_string", format!("{key} must be a string"))),
    }
}

/// Validate and build a credential from a body object (`type`, `name`,
/// the kind's fields).
fn build(
    state: &PlatformState,
    org: &Org,
    mut map: Map<String, Value>,
    created_at: Option<Instant>,
) -> Result<Credential, Vec<FieldError>> {
    let kind = take_string(&mut map, "type").map_err(|e| vec![e])?;
    let name = take_string(&mut map, "name").map_err(|e| vec![e])?;
    for derived in ["created_at", "updated_at"] {
        map.remove(derived);
    }
    let now = state.clock.now();
    let ctx = SaveContext {
        org,
        platform_url: state.url(),
        now,
    };
    let kind = super::validate(&kind, &name, Value::Object(map), &ctx)?;
    Ok(Credential {
        name,
        kind,
        created_at: created_at.unwrap_or(now),
        updated_at: now,
    })
}

/// Validate and save a new credential. Blocking: opening a key store may
/// take a second of key derivation, and the vault write waits for the
/// disk.
pub fn create(
    state: &PlatformState,
    org: &Org,
    map: Map<String, Value>,
) -> Result<Credential, SaveError> {
    let credential = build(state, org, map, None).map_err(SaveError::Invalid)?;
    state.vault.insert(&org.id, credential.clone())?;
    tracing::info!(org = %org.id, credential = %credential.name, kind = credential.kind.type_name(), "credential saved");
    Ok(credential)
}

/// Replace credential `name`: its saved fields overlaid with `patch`'s
/// (fields left out keep their saved values, so secrets need not be sent
/// again), validated as a whole. Blocking, like [`create`].
pub fn replace(
    state: &PlatformState,
    org: &Org,
    name: &str,
    patch: Map<String, Value>,
) -> Result<Credential, SaveError> {
    let old = state.vault.get(&org.id, name).ok_or(SaveError::NotFound)?;
    if let Some(other) = patch
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| *n != name)
    {
        return Err(SaveError::Invalid(vec![err(
            "name",
            "renamed",
            format!(
                "the body names {other:?} but the path {name:?}; a credential cannot be renamed"
            ),
        )]));
    }
    if patch
        .get("type")
        .is_some_and(|t| t.as_str() != Some(old.kind.type_name()))
    {
        return Err(SaveError::TypeChanged {
            from: old.kind.type_name(),
        });
    }
    let Value::Object(mut map) = old.sealed() else {
        return Err(SaveError::Unreadable);
    };
    // Fields the platform derives are recomputed, not carried over.
    for derived in derived_fields(&old.kind) {
        map.remove(*derived);
    }
    map.extend(patch);
    let credential = build(state, org, map, Some(old.created_at)).map_err(SaveError::Invalid)?;
    state.vault.replace(&org.id, credential)?;
    tracing::info!(org = %org.id, credential = %name, "credential replaced");
    state.vault.get(&org.id, name).ok_or(SaveError::NotFound)
}

/// Why a save of credential `name` was refused, as field errors (what
/// the JSON API answers in `{"errors":[...]}` and the console shows
/// beside its fields); the error itself when it is not about the
/// credential's fields (not found, the vault could not be written or
/// read).
pub fn explain(e: SaveError, name: &str) -> Result<Vec<FieldError>, SaveError> {
    Ok(match e {
        SaveError::Invalid(errors) => errors,
        SaveError::Exists => vec![err(
            "name",
            "exists",
            format!("a credential named {name:?} exists in this organisation"),
        )],
        SaveError::OnlyOne { existing } => vec![err(
            "type",
            "one_per_organisation",
            format!("an organisation has at most one credential of this type; {existing:?} is it"),
        )],
        SaveError::TypeChanged { from } => vec![err(
            "type",
            "type_changed",
            format!(
                "{name:?} is a {from} credential; delete it and create a new one to change its type"
            ),
        )],
        other => return Err(other),
    })
}

/// Fields of a saved kind that validation computes from the others.
fn derived_fields(kind: &Kind) -> &'static [&'static str] {
    match kind {
        Kind::ConsumerAuthentication(_) => &["redirect_uri"],
        Kind::OAuth2AuthorizationCode(_) => &["redirect_uri"],
        Kind::ThirdPartyNlu(_) => super::third_party_nlu::DERIVED_FIELDS,
        Kind::MutualAuthentication(_) => super::mutual_authentication::DERIVED_FIELDS,
        _ => &[],
    }
}

/// An integration that names a credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Use {
    pub bot: String,
    pub dialog: String,
    pub integration: String,
}

/// What uses a credential: integrations of the platform's bots, and the
/// organisation's NLU domains.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Users {
    pub integrations: Vec<Use>,
    pub domains: Vec<String>,
}

impl Users {
    pub fn is_empty(&self) -> bool {
        self.integrations.is_empty() && self.domains.is_empty()
    }

    /// "the integrations orders (bot b, dialog d) and the domains x, y".
    pub fn describe(&self) -> String {
        let mut users = Vec::new();
        if !self.integrations.is_empty() {
            let list = self
                .integrations
                .iter()
                .map(|u| format!("{} (bot {}, dialog {})", u.integration, u.bot, u.dialog))
                .collect::<Vec<_>>()
                .join(", ");
            users.push(format!("the integrations {list}"));
        }
        if !self.domains.is_empty() {
            users.push(format!("the domains {}", self.domains.join(", ")));
        }
        users.join(" and ")
    }
}

/// Every integration that names credential `name` (a bot serves
/// conversations of any organisation, and names credentials by name) and
/// every domain of `org` that does.
pub fn users(state: &PlatformState, org: &Org, name: &str) -> Users {
    let integrations = state
        .bots
        .values()
        .flat_map(|bot| {
            bot.dialogs
                .iter()
                .filter(|d| d.integration.credential.as_deref() == Some(name))
                .map(|d| Use {
                    bot: bot.id.clone(),
                    dialog: d.name.clone(),
                    integration: d.integration.name.clone(),
                })
        })
        .collect();
    Users {
        integrations,
        domains: state.domains_using(&org.id, name),
    }
}

/// Delete credential `name` of `org`, whoever uses it.
pub fn remove(state: &PlatformState, org: &Org, name: &str) -> Result<(), SaveError> {
    state.vault.remove(&org.id, name)?;
    tracing::info!(org = %org.id, credential = %name, "credential deleted");
    Ok(())
}
