//! The step vocabulary of `standin conform`: every step a check (or a
//! brand's own feature file, `--features DIR`) may use, each with an
//! example that `standin conform --list-steps` prints and a unit test
//! matches against its pattern.
//!
//! Steps are registered explicitly (no link-time collection), from one
//! table: [`VOCABULARY`]. A pattern is a cucumber expression, or a regular
//! expression when it starts with `^`.

use anyhow::{Context as _, anyhow, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cucumber::step::{Collection, Context};
use futures::future::LocalBoxFuture;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use url::Url;

use super::report::{Exchange, redact_form, redact_header, redact_json};
use super::world::{ConformWorld, DirectCode, TokenAnswer};
use crate::conformance::Landing;
use crate::conformance::profile::TokenEndpointAuth;
use crate::secret::random_token;
use crate::wire::basic_credentials;

/// Given, When or Then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Given,
    When,
    Then,
}

/// One step of the vocabulary.
pub struct StepDef {
    pub kind: Kind,
    /// A cucumber expression, or a regex starting with `^`.
    pub pattern: &'static str,
    /// A step text it matches, for `--list-steps`.
    pub example: &'static str,
    pub run: cucumber::Step<ConformWorld>,
}

type Args = Vec<String>;

/// Wrap `async fn(&mut ConformWorld, Args) -> anyhow::Result<()>` as a
/// cucumber step: an error fails the step with its message.
macro_rules! step {
    ($f:ident) => {{
        fn run<'a>(w: &'a mut ConformWorld, ctx: Context) -> LocalBoxFuture<'a, ()> {
            Box::pin(async move {
                let args: Args = ctx
                    .matches
                    .iter()
                    .skip(1)
                    .map(|(_, m)| unquote(m))
                    .collect();
                if let Err(e) = $f(w, args).await {
                    // Reports (Cucumber JSON included) never carry a
                    // secret, code or token.
                    let profile = &w.ctx.profile;
                    let mut secrets = vec![
                        profile.client_secret.expose(),
                        profile.user.password.expose(),
                    ];
                    if let Some(other) = &profile.other_client {
                        secrets.push(other.client_secret.expose());
                    }
                    panic!("{}", super::report::scrub_text(&format!("{e:#}"), &secrets));
                }
            })
        }
        run as cucumber::Step<ConformWorld>
    }};
}

fn unquote(m: &str) -> String {
    let t = m.trim();
    if t.len() >= 2
        && ((t.starts_with('"') && t.ends_with('"')) || (t.starts_with('\'') && t.ends_with('\'')))
    {
        t[1..t.len() - 1].to_string()
    } else {
        t.to_string()
    }
}

/// Every step, in the order `--list-steps` prints them.
pub const VOCABULARY: &[StepDef] = &[
    // --- discovery and keys
    StepDef {
        kind: Kind::When,
        pattern: "the platform reads the IdP's discovery document",
        example: "When the platform reads the IdP's discovery document",
        run: step!(read_discovery),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "its issuer is exactly the profile's issuer",
        example: "Then its issuer is exactly the profile's issuer",
        run: step!(issuer_exact),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "it names an authorization endpoint, a token endpoint and a JWKS",
        example: "Then it names an authorization endpoint, a token endpoint and a JWKS",
        run: step!(names_endpoints),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "it supports the response type {string}",
        example: "Then it supports the response type \"code\"",
        run: step!(supports_response_type),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the platform reads the IdP's JWKS",
        example: "When the platform reads the IdP's JWKS",
        run: step!(read_jwks),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "it holds at least one public signing key",
        example: "Then it holds at least one public signing key",
        run: step!(has_signing_key),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "it holds no private key material",
        example: "Then it holds no private key material",
        run: step!(no_private_keys),
    },
    // --- the consumer's sign-in through the platform
    StepDef {
        kind: Kind::Given,
        pattern: "a conversation with the bot",
        example: "Given a conversation with the bot",
        run: step!(conversation),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the consumer asks for something that needs their account",
        example: "When the consumer asks for something that needs their account",
        run: step!(ask),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the bot sends a sign-in link with state, nonce and a PKCE S256 challenge",
        example: "Then the bot sends a sign-in link with state, nonce and a PKCE S256 challenge",
        run: step!(link_has_parameters),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the consumer opens the link",
        example: "When the consumer opens the link",
        run: step!(open_link),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the IdP shows a login page",
        example: "Then the IdP shows a login page",
        run: step!(login_page),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the consumer signs in at the IdP through the bot's link",
        example: "When the consumer signs in at the IdP through the bot's link",
        run: step!(sign_in),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the IdP redirects to the redirect URI with a code",
        example: "Then the IdP redirects to the redirect URI with a code",
        run: step!(redirect_with_code),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the redirect carries the link's state byte for byte",
        example: "Then the redirect carries the link's state byte for byte",
        run: step!(state_echoed),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the redirect carries no token",
        example: "Then the redirect carries no token",
        run: step!(no_token_in_redirect),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the redirect's iss is the issuer, as RFC 9207 requires",
        example: "Then the redirect's iss is the issuer, as RFC 9207 requires",
        run: step!(iss_parameter),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the browser returns to the platform",
        example: "When the browser returns to the platform",
        run: step!(deliver),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the platform says the consumer is signed in",
        example: "Then the platform says the consumer is signed in",
        run: step!(signed_in_page),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the platform exchanged the code once, authenticating as the profile says",
        example: "Then the platform exchanged the code once, authenticating as the profile says",
        run: step!(exchanged_once),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the token response gave an access token, its lifetime and an ID token",
        example: "Then the token response gave an access token, its lifetime and an ID token",
        run: step!(token_response_sound),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the platform validated the ID token",
        example: "Then the platform validated the ID token",
        run: step!(id_token_validated),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the platform called the brand API with the token and got the expected status",
        example: "Then the platform called the brand API with the token and got the expected status",
        run: step!(api_called),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the platform's clock moves past the token's expiry",
        example: "When the platform's clock moves past the token's expiry",
        run: step!(past_expiry),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the bot sends a new sign-in link",
        example: "Then the bot sends a new sign-in link",
        run: step!(new_link),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the platform never used a refresh token",
        example: "Then the platform never used a refresh token",
        run: step!(no_refresh),
    },
    // --- the gate as the client itself
    StepDef {
        kind: Kind::Given,
        pattern: "the gate holds a fresh code",
        example: "Given the gate holds a fresh code",
        run: step!(fresh_code),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the gate exchanges the code",
        example: "When the gate exchanges the code",
        run: step!(exchange),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the gate exchanges the same code again",
        example: "When the gate exchanges the same code again",
        run: step!(exchange),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the gate exchanges the code with another PKCE verifier",
        example: "When the gate exchanges the code with another PKCE verifier",
        run: step!(exchange_wrong_verifier),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the gate exchanges the code without a PKCE verifier",
        example: "When the gate exchanges the code without a PKCE verifier",
        run: step!(exchange_no_verifier),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the gate exchanges the code with another redirect URI",
        example: "When the gate exchanges the code with another redirect URI",
        run: step!(exchange_other_redirect),
    },
    StepDef {
        kind: Kind::When,
        pattern: "another client of the IdP exchanges the code",
        example: "When another client of the IdP exchanges the code",
        run: step!(exchange_as_other_client),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the gate exchanges the code with a wrong client secret",
        example: "When the gate exchanges the code with a wrong client secret",
        run: step!(exchange_wrong_secret),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the token endpoint issues tokens",
        example: "Then the token endpoint issues tokens",
        run: step!(tokens_issued),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the token endpoint refuses it with {string} or {string}",
        example: "Then the token endpoint refuses it with \"invalid_grant\" or \"invalid_request\"",
        run: step!(refused_with),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the token endpoint refuses it with {string}",
        example: "Then the token endpoint refuses it with \"invalid_grant\"",
        run: step!(refused_with),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the token endpoint refuses the client with {string}",
        example: "Then the token endpoint refuses the client with \"invalid_client\"",
        run: step!(client_refused),
    },
    StepDef {
        kind: Kind::Given,
        pattern: "the consumer has signed in on the brand's side and the platform holds the session",
        example: "Given the consumer has signed in on the brand's side and the platform holds the session",
        run: step!(pre_authenticated),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the consumer asks in the authenticated conversation",
        example: "When the consumer asks in the authenticated conversation",
        run: step!(ask_authenticated),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the platform's clock moves past the session's access token expiry",
        example: "When the platform's clock moves past the session's access token expiry",
        run: step!(past_session_expiry),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the platform refreshed the access token once",
        example: "Then the platform refreshed the access token once",
        run: step!(refreshed_once),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the platform called the brand API with the session's token and got the expected status",
        example: "Then the platform called the brand API with the session's token and got the expected status",
        run: step!(session_api_called),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the gate revokes the access token",
        example: "When the gate revokes the access token",
        run: step!(revoke_access_token),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the revocation endpoint confirms it",
        example: "Then the revocation endpoint confirms it",
        run: step!(revocation_confirmed),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "userinfo no longer accepts the access token",
        example: "Then userinfo no longer accepts the access token",
        run: step!(userinfo_refuses),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "introspection says the access token is active for the profile's client",
        example: "Then introspection says the access token is active for the profile's client",
        run: step!(introspection_active),
    },
    StepDef {
        kind: Kind::When,
        pattern: "the gate asks for a token with the client credentials grant",
        example: "When the gate asks for a token with the client credentials grant",
        run: step!(client_credentials),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the token response carries no refresh token",
        example: "Then the token response carries no refresh token",
        run: step!(no_refresh_token_returned),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "userinfo names the same subject as the ID token",
        example: "Then userinfo names the same subject as the ID token",
        run: step!(userinfo_same_sub),
    },
    StepDef {
        kind: Kind::When,
        pattern: "^the gate asks for a code with the registered redirect URI (with a path appended|on another port|with a query added)$",
        example: "When the gate asks for a code with the registered redirect URI on another port",
        run: step!(ask_with_variant),
    },
    StepDef {
        kind: Kind::Then,
        pattern: "the IdP does not redirect there with a code",
        example: "Then the IdP does not redirect there with a code",
        run: step!(no_code_for_variant),
    },
];

/// The regex of a step pattern.
pub fn regex(pattern: &str) -> Result<regex::Regex, String> {
    if pattern.starts_with('^') {
        regex::Regex::new(pattern).map_err(|e| e.to_string())
    } else {
        cucumber_expressions::Expression::regex(pattern).map_err(|e| e.to_string())
    }
}

/// The vocabulary as cucumber's step collection.
pub fn collection() -> Collection<ConformWorld> {
    VOCABULARY.iter().fold(Collection::new(), |c, s| {
        let re = regex(s.pattern).expect("the vocabulary's patterns are tested");
        match s.kind {
            Kind::Given => c.given(None, re, s.run),
            Kind::When => c.when(None, re, s.run),
            Kind::Then => c.then(None, re, s.run),
        }
    })
}

// --- discovery and keys ---------------------------------------------------

async fn read_discovery(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    w.document = Some(w.ctx.discovery.clone());
    Ok(())
}

fn document(w: &ConformWorld) -> anyhow::Result<&Value> {
    w.document
        .as_ref()
        .ok_or_else(|| anyhow!("no document was read yet"))
}

async fn issuer_exact(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let named = document(w)?["issuer"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let expected = &w.profile().issuer;
    ensure!(
        &named == expected,
        "discovery names the issuer {named:?}, the profile {expected:?}: they must be equal character for character"
    );
    Ok(())
}

async fn names_endpoints(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let doc = document(w)?;
    let missing: Vec<&str> = ["authorization_endpoint", "token_endpoint", "jwks_uri"]
        .into_iter()
        .filter(|m| doc[*m].as_str().and_then(|u| Url::parse(u).ok()).is_none())
        .collect();
    ensure!(
        missing.is_empty(),
        "discovery has no usable {}",
        missing.join(", ")
    );
    Ok(())
}

async fn supports_response_type(w: &mut ConformWorld, args: Args) -> anyhow::Result<()> {
    let wanted = args.first().cloned().unwrap_or_default();
    let doc = document(w)?;
    let types = doc["response_types_supported"].as_array().ok_or_else(|| {
        anyhow!("discovery has no response_types_supported (OIDC Discovery 3: REQUIRED)")
    })?;
    ensure!(
        types.iter().any(|t| t == wanted.as_str()),
        "response_types_supported is {types:?}, without {wanted:?}"
    );
    Ok(())
}

async fn read_jwks(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let uri = w
        .ctx
        .endpoint("jwks_uri")
        .ok_or_else(|| anyhow!("discovery names no jwks_uri"))?
        .to_string();
    let response = w
        .ctx
        .http
        .get(&uri)
        .send()
        .await
        .map_err(|e| w.ctx.request_failed("GET", &uri, e))?;
    let status = response.status();
    ensure!(status.is_success(), "GET {uri} answered {status}");
    let doc: Value = response
        .json()
        .await
        .with_context(|| format!("GET {uri}: not JSON"))?;
    w.document = Some(doc);
    Ok(())
}

async fn has_signing_key(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let keys = document(w)?["keys"]
        .as_array()
        .ok_or_else(|| anyhow!("the JWKS has no keys array (RFC 7517 5)"))?;
    let signing: Vec<&Value> = keys
        .iter()
        .filter(|k| k["use"].as_str().is_none_or(|u| u == "sig"))
        .filter(|k| matches!(k["kty"].as_str(), Some("RSA" | "EC" | "OKP")))
        .collect();
    ensure!(
        !signing.is_empty(),
        "the JWKS holds no RSA, EC or OKP signing key ({} keys in all)",
        keys.len()
    );
    if signing.len() > 1 && signing.iter().any(|k| k["kid"].as_str().is_none()) {
        w.warn(
            "OIDC Core 1.0 section 10.1",
            "several signing keys, not all with a kid: a client cannot tell which one signed an ID token",
            "give every key a kid",
        );
    }
    Ok(())
}

async fn no_private_keys(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let keys = document(w)?["keys"].as_array().cloned().unwrap_or_default();
    let private: Vec<String> = keys
        .iter()
        .filter(|k| {
            ["d", "p", "q", "dp", "dq", "qi", "k"]
                .iter()
                .any(|m| k.get(m).is_some())
        })
        .map(|k| k["kid"].as_str().unwrap_or("(no kid)").to_string())
        .collect();
    ensure!(
        private.is_empty(),
        "the JWKS publishes private or symmetric key material (keys {private:?}): anyone can sign as the IdP"
    );
    Ok(())
}

// --- the consumer's sign-in through the platform --------------------------

async fn conversation(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    w.open_conversation().await
}

async fn ask(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    w.say("my account").await.map(drop)
}

fn last_link(w: &ConformWorld) -> anyhow::Result<&Url> {
    w.links
        .last()
        .ok_or_else(|| anyhow!("the bot sent no sign-in link"))
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn link_has_parameters(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let link = last_link(w)?;
    for name in ["state", "nonce", "code_challenge"] {
        ensure!(param(link, name).is_some(), "the link has no {name}");
    }
    ensure!(
        param(link, "code_challenge_method").as_deref() == Some("S256"),
        "the link's code_challenge_method is not S256"
    );
    Ok(())
}

async fn open_link(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let link = last_link(w)?.clone();
    let landing = w.open(&link).await?;
    w.callback = landing.callback().cloned();
    w.landing = Some(landing);
    Ok(())
}

async fn login_page(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let hints = w.agent.hints().clone();
    match &w.landing {
        Some(Landing::Page(page)) if page.status.is_success() => {
            // A one-page login, or the first page of a two-step one.
            let asks = page
                .forms()?
                .iter()
                .any(|f| f.has_field(&hints.username_field) || f.password_field(&hints).is_some());
            if asks {
                return Ok(());
            }
            let hint = if page.has_scripts() {
                "it runs scripts; a login page built by JavaScript needs --browser chromium"
            } else {
                "check the profile's [form] username_field and password_field"
            };
            bail!(
                "{}the IdP shows {} with no login form the gate recognises: {hint}",
                super::world::CANNOT_DRIVE,
                page.summary()
            )
        }
        Some(Landing::Page(page)) => bail!("the IdP refused the link: {}", page.describe()),
        Some(Landing::Redirected(cb)) => bail!(
            "the IdP redirected at once to {} without a login page (an error, or a session the agent should not have)",
            cb.url_without_query()
        ),
        None => bail!("the link was not opened"),
    }
}

async fn sign_in(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    w.sign_in_through_bot().await
}

fn callback(w: &ConformWorld) -> anyhow::Result<&crate::conformance::Callback> {
    w.callback
        .as_ref()
        .ok_or_else(|| anyhow!("the IdP did not redirect to the redirect URI"))
}

async fn redirect_with_code(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let cb = callback(w)?;
    if let Some(error) = cb.get("error") {
        bail!(
            "the IdP redirected with error {error:?}{}",
            cb.get("error_description")
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        );
    }
    ensure!(
        cb.get("code").is_some_and(|c| !c.is_empty()),
        "the redirect carries no code"
    );
    ensure!(cb.count("code") == 1, "the redirect repeats code");
    Ok(())
}

async fn state_echoed(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let sent = param(last_link(w)?, "state");
    let cb = callback(w)?;
    ensure!(
        cb.count("state") == 1,
        "the redirect carries state {} times",
        cb.count("state")
    );
    ensure!(
        cb.get("state").map(str::to_string) == sent,
        "the redirect's state is not the link's, byte for byte: the platform cannot tie the sign-in to its conversation"
    );
    Ok(())
}

async fn no_token_in_redirect(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let cb = callback(w)?;
    let fragment = cb.url.fragment().unwrap_or_default();
    for name in ["access_token", "id_token", "refresh_token"] {
        ensure!(
            cb.get(name).is_none() && !fragment.contains(&format!("{name}=")),
            "the redirect URL carries {name}: tokens in URLs leak through logs and Referer (RFC 9700 2.1.2)"
        );
    }
    Ok(())
}

async fn iss_parameter(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let advertised = w.ctx.discovery["authorization_response_iss_parameter_supported"] == true;
    let issuer = w.profile().issuer.clone();
    let iss = callback(w)?.get("iss").map(str::to_string);
    match (advertised, iss) {
        (_, Some(iss)) if iss != issuer => {
            bail!("the redirect's iss is {iss:?}, not the issuer {issuer:?} (RFC 9207 2.4: mix-up)")
        }
        (true, None) => bail!(
            "discovery advertises authorization_response_iss_parameter_supported, but the redirect has no iss (RFC 9207 2)"
        ),
        (false, None) => w.warn(
            "RFC 9207 section 2",
            "the redirect has no iss and discovery does not advertise it: a client talking to several IdPs cannot detect mix-up attacks",
            "send iss in authorization responses and advertise authorization_response_iss_parameter_supported",
        ),
        _ => {}
    }
    Ok(())
}

async fn deliver(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    w.deliver_callback().await.map(drop)
}

/// What a step that needs a signed-in consumer says when the sign-in did
/// not complete: the check is not made (SKIP), and the reason names the
/// sign-in's own failure, which its own check reports.
pub const NOT_CHECKED: &str = "not checked: ";

async fn require_signed_in(w: &mut ConformWorld) -> anyhow::Result<()> {
    match w.page.clone() {
        Some((200, title)) if title == "You are signed in" => Ok(()),
        Some((status, title)) => {
            let failure = last_exchange_failure(w).await?;
            bail!(
                "{NOT_CHECKED}the consumer's sign-in did not complete (the platform showed a {status} page {title:?}{})",
                failure.map(|f| format!(": {f}")).unwrap_or_default()
            )
        }
        None => bail!("{NOT_CHECKED}the browser has not returned to the platform"),
    }
}

async fn signed_in_page(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let (status, title) = w
        .page
        .clone()
        .ok_or_else(|| anyhow!("the browser has not returned to the platform"))?;
    if status == 200 && title == "You are signed in" {
        return Ok(());
    }
    let failure = last_exchange_failure(w).await?;
    bail!(
        "the platform showed a {status} page {title:?}{}",
        failure.map(|f| format!(": {f}")).unwrap_or_default()
    )
}

/// Why the platform's last code exchange failed, from its event log.
async fn last_exchange_failure(w: &mut ConformWorld) -> anyhow::Result<Option<String>> {
    let events = w.events().await?;
    Ok(events.iter().rev().find_map(|e| match e["kind"].as_str() {
        Some("exchange_failed") => e["reason"].as_str().map(str::to_string),
        Some("id_token_rejected") => e["reason"]
            .as_str()
            .map(|r| format!("the ID token was refused: {r}")),
        Some("state_rejected") => Some(format!(
            "the platform refused the state ({})",
            e["reason"].as_str().unwrap_or_default()
        )),
        _ => None,
    }))
}

/// What a step about the code exchange says when the platform made none
/// (it refused the IdP's redirect first): not checked, naming why.
async fn require_exchange(w: &mut ConformWorld) -> anyhow::Result<()> {
    let tried = w
        .token_requests()
        .await?
        .iter()
        .any(|r| r["grant_type"] == "authorization_code");
    if tried {
        return Ok(());
    }
    let (status, title) = w.page.clone().unwrap_or_default();
    let failure = last_exchange_failure(w).await?;
    bail!(
        "{NOT_CHECKED}the platform made no code exchange (it showed a {status} page {title:?}{})",
        failure.map(|f| format!(": {f}")).unwrap_or_default()
    )
}

async fn exchanged_once(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    require_exchange(w).await?;
    let method = w.profile().token_endpoint_auth.name();
    let exchanges: Vec<Value> = w
        .token_requests()
        .await?
        .into_iter()
        .filter(|r| r["grant_type"] == "authorization_code")
        .collect();
    ensure!(
        exchanges.len() == 1,
        "the platform sent {} code exchanges, expected one",
        exchanges.len()
    );
    let e = &exchanges[0];
    ensure!(
        e["client_auth"] == method,
        "the platform authenticated with {}, the profile says {method}",
        e["client_auth"]
    );
    ensure!(
        e["outcome"] == "ok",
        "the code exchange ended with {} (HTTP {})",
        e["outcome"],
        e["status"]
    );
    Ok(())
}

/// RFC of a tolerated departure, by the code the lenient reader gives it.
fn departure_rule(code: &str) -> &'static str {
    match code {
        "expires_in_string" | "expires_in_invalid" => {
            "RFC 6749 section 5.1 (expires_in is a number)"
        }
        "no_expires_in" => "RFC 6749 section 5.1 (expires_in RECOMMENDED)",
        "token_type_case" => "RFC 6749 section 5.1 (token_type)",
        "scope_array" => "RFC 6749 section 3.3 (scope is a space-separated string)",
        "form_encoded" | "content_type" => "RFC 6749 section 5.1 (application/json)",
        _ => "RFC 6749 section 5.1",
    }
}

async fn token_response_sound(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    require_exchange(w).await?;
    let exchange = w
        .token_requests()
        .await?
        .into_iter()
        .find(|r| r["grant_type"] == "authorization_code" && r["outcome"] == "ok")
        .ok_or_else(|| anyhow!("the platform has no successful code exchange"))?;
    let returned: Vec<&str> = exchange["returned"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    ensure!(
        returned.contains(&"id_token"),
        "the token response has no id_token although openid was asked for (OIDC Core 3.1.3.3)"
    );
    for d in exchange["departures"].as_array().into_iter().flatten() {
        let code = d.as_str().unwrap_or_default();
        w.warn(
            departure_rule(code),
            format!("the token response departs from the standard ({code}); the platform tolerates it, stricter clients may not"),
            "send the token response exactly as RFC 6749 5.1 describes it",
        );
    }
    if let (Some(expected), Some(given)) = (
        w.profile().access_token_lifetime,
        exchange["expires_in"].as_u64(),
    ) {
        ensure!(
            given == expected,
            "the access token lives {given} s (expires_in), the profile expects {expected} s (access_token_lifetime)"
        );
    }
    if exchange["expires_in"].is_null() {
        w.warn(
            "RFC 6749 section 5.1",
            "the token response gives no expires_in: a client cannot know when the token ends and learns it from a 401",
            "send expires_in",
        );
    }
    Ok(())
}

async fn id_token_validated(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    require_exchange(w).await?;
    let events = w.events().await?;
    if events.iter().any(|e| e["kind"] == "id_token_validated") {
        return Ok(());
    }
    let failure = last_exchange_failure(w).await?;
    bail!(
        "the platform did not validate an ID token{}",
        failure.map(|f| format!(": {f}")).unwrap_or_default()
    )
}

async fn api_called(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    require_signed_in(w).await?;
    brand_api_answered(w, "the consumer's token").await
}

/// The conversation's last brand API call got the profile's expected
/// status with `whose` token.
async fn brand_api_answered(w: &mut ConformWorld, whose: &str) -> anyhow::Result<()> {
    let expected = w.profile().api.expected_status;
    let api = w.ctx.api_url().unwrap_or_default();
    let events = w.events().await?;
    let status = events.iter().rev().find_map(|e| match e["kind"].as_str() {
        Some("integration_called") | Some("api_error") => Some(e["status"].as_u64()),
        _ => None,
    });
    let unavailable = events.iter().rev().find_map(|e| {
        (e["kind"] == "credential_unavailable")
            .then(|| e["reason"].as_str().unwrap_or_default().to_string())
    });
    match (status, unavailable) {
        (Some(Some(s)), _) if s == u64::from(expected) => Ok(()),
        (Some(Some(s)), _) => {
            bail!("the brand API ({api}) answered {s} to {whose}, expected {expected}")
        }
        (Some(None), _) => bail!("the brand API ({api}) could not be reached"),
        (None, Some(reason)) => bail!("the platform had no token for the consumer: {reason}"),
        (None, None) => bail!("the platform did not call the brand API"),
    }
}

async fn past_expiry(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    require_signed_in(w).await?;
    let id = w
        .conversation
        .clone()
        .ok_or_else(|| anyhow!("no conversation"))?;
    let context = w
        .platform_json(&format!("/api/conversations/{id}/context"))
        .await?;
    let Some(expires_at) = context["access_token_expires_at"].as_i64() else {
        bail!("the conversation's token has no expiry: the token response gave no expires_in")
    };
    let expires_at = crate::clock::Instant::from_unix_secs(expires_at);
    let clock = &w.platform().await?.clock;
    let past = expires_at + std::time::Duration::from_secs(1);
    clock.advance(past.duration_since(clock.now()));
    Ok(())
}

async fn new_link(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    ensure!(
        w.links.len() >= 2,
        "the bot sent no new sign-in link after the token expired"
    );
    let (a, b) = (&w.links[w.links.len() - 2], &w.links[w.links.len() - 1]);
    ensure!(
        param(a, "state") != param(b, "state"),
        "the new link reuses the old state"
    );
    Ok(())
}

async fn no_refresh(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let refreshes = w
        .token_requests()
        .await?
        .into_iter()
        .filter(|r| r["grant_type"] == "refresh_token")
        .count();
    ensure!(
        refreshes == 0,
        "the platform sent {refreshes} refresh requests in an unauthenticated conversation (source document 001)"
    );
    Ok(())
}

// --- the gate as the client itself ----------------------------------------

/// Ask for a code with `redirect_uri`, with PKCE S256; where the
/// browser ended.
async fn authorize(
    w: &mut ConformWorld,
    redirect_uri: &str,
) -> anyhow::Result<(Landing, String, String)> {
    let verifier = random_token(32);
    let nonce = random_token(16);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let endpoint = w
        .ctx
        .endpoint("authorization_endpoint")
        .ok_or_else(|| anyhow!("discovery names no authorization_endpoint"))?;
    let mut url = Url::parse(endpoint).context("the authorization endpoint is not a URL")?;
    let profile = w.profile().clone();
    url.query_pairs_mut()
        .append_pair("client_id", &profile.client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &profile.scope)
        .append_pair("state", &random_token(16))
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    w.stop_at(redirect_uri);
    let landing = w.open(&url).await?;
    w.stop_at(redirect_uri);
    let landing = w.through_idp(landing).await?;
    Ok((landing, verifier, nonce))
}

async fn fresh_code(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let redirect_uri = w.profile().redirect_uri.to_string();
    let (landing, verifier, nonce) = authorize(w, &redirect_uri).await?;
    let cb = landing
        .callback()
        .ok_or_else(|| anyhow!("the gate got no code: {}", landing.describe()))?;
    let code = cb
        .get("code")
        .ok_or_else(|| anyhow!("the IdP redirected without a code: {:?}", cb.get("error")))?
        .to_string();
    w.direct = Some(DirectCode {
        code,
        verifier,
        redirect_uri,
        nonce,
    });
    Ok(())
}

async fn pre_authenticated(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    fresh_code(w, Vec::new()).await?;
    w.pre_authenticate().await
}

async fn ask_authenticated(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    w.say("my signed-in account").await.map(drop)
}

async fn past_session_expiry(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let stored = w
        .token_requests()
        .await?
        .into_iter()
        .find(|r| r["grant_type"] == "authorization_code" && r["outcome"] == "ok")
        .ok_or_else(|| anyhow!("the platform has no successful code exchange"))?;
    let Some(lifetime) = stored["expires_in"].as_i64() else {
        bail!(
            "{NOT_CHECKED}the token response gave no expires_in, so the platform cannot know when to refresh"
        )
    };
    let returned = stored["returned"].to_string();
    if !returned.contains("refresh_token") {
        bail!(
            "the IdP issued no refresh token with the code: the platform cannot keep a pre-authenticated consumer signed in (ask for offline_access if the IdP needs it)"
        );
    }
    let clock = &w.platform().await?.clock;
    clock.advance(std::time::Duration::from_secs(lifetime.max(0) as u64 + 1));
    Ok(())
}

async fn refreshed_once(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let refreshes: Vec<Value> = w
        .token_requests()
        .await?
        .into_iter()
        .filter(|r| r["grant_type"] == "refresh_token")
        .collect();
    ensure!(
        refreshes.len() == 1,
        "the platform sent {} refresh requests, expected one",
        refreshes.len()
    );
    let r = &refreshes[0];
    ensure!(
        r["outcome"] == "ok",
        "the IdP refused the refresh: {} (HTTP {}) (RFC 6749 6)",
        r["outcome"],
        r["status"]
    );
    Ok(())
}

async fn session_api_called(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    brand_api_answered(w, "the session's token").await
}

/// The access token of the gate's last token answer.
fn issued_access_token(w: &ConformWorld) -> anyhow::Result<String> {
    answer(w)?.body["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{NOT_CHECKED}the token endpoint issued no access token"))
}

/// POST `form` to the discovered `endpoint` (RFC 7009, RFC 7662) with
/// the profile's client authentication; status and JSON body.
/// A POST to `url` as the client `client_id` with `secret`, authenticated
/// as the profile says (RFC 6749 2.3.1); `form` gains the credentials for
/// `client_secret_post`. Also the exchange as the report shows it (the
/// response still to be filled in).
fn authenticated_post(
    w: &ConformWorld,
    url: &str,
    form: &mut Vec<(&'static str, String)>,
    client_id: &str,
    secret: &str,
) -> (reqwest::RequestBuilder, Exchange) {
    let mut request = w.ctx.http.post(url);
    let mut request_headers = Vec::new();
    match w.profile().token_endpoint_auth {
        TokenEndpointAuth::ClientSecretBasic => {
            let value = basic_credentials(client_id, secret);
            request_headers.push(redact_header("Authorization", &value));
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        TokenEndpointAuth::ClientSecretPost => {
            form.push(("client_id", client_id.to_string()));
            form.push(("client_secret", secret.to_string()));
        }
    }
    let shown: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let exchange = Exchange {
        who: "gate".into(),
        method: "POST".into(),
        url: url.to_string(),
        request_headers,
        request_body: redact_form(&shown),
        ..Exchange::default()
    };
    (request.form(&*form), exchange)
}

async fn client_post(
    w: &mut ConformWorld,
    endpoint: &str,
    mut form: Vec<(&'static str, String)>,
) -> anyhow::Result<(u16, Value)> {
    let url = w
        .ctx
        .endpoint(endpoint)
        .ok_or_else(|| anyhow!("{NOT_CHECKED}discovery names no {endpoint}"))?
        .to_string();
    let profile = w.profile().clone();
    let (request, mut exchange) = authenticated_post(
        w,
        &url,
        &mut form,
        &profile.client_id,
        profile.client_secret.expose(),
    );
    let response = request
        .send()
        .await
        .map_err(|e| w.ctx.request_failed("POST", &url, e))?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    exchange.status = Some(status);
    exchange.response_body = serde_json::to_string_pretty(&redact_json(&json)).unwrap_or_default();
    w.exchanges.push(exchange);
    Ok((status, json))
}

async fn revoke_access_token(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let token = issued_access_token(w)?;
    let (status, body) = client_post(
        w,
        "revocation_endpoint",
        vec![("token", token), ("token_type_hint", "access_token".into())],
    )
    .await?;
    w.revocation = Some((status, body));
    Ok(())
}

async fn revocation_confirmed(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let (status, body) = w
        .revocation
        .as_ref()
        .ok_or_else(|| anyhow!("the gate revoked nothing yet"))?;
    ensure!(
        *status == 200,
        "the revocation endpoint answered {status} {body}: a valid revocation request gets HTTP 200 (RFC 7009 2.2)"
    );
    Ok(())
}

async fn userinfo_refuses(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let token = issued_access_token(w)?;
    let Some(endpoint) = w.ctx.endpoint("userinfo_endpoint").map(str::to_string) else {
        bail!("{NOT_CHECKED}discovery names no userinfo_endpoint to try the revoked token at");
    };
    let status = w
        .ctx
        .http
        .get(&endpoint)
        .bearer_auth(&token)
        .send()
        .await
        .map_err(|e| w.ctx.request_failed("GET", &endpoint, e))?
        .status();
    if status.is_success() {
        w.warn(
            "RFC 7009 section 2 (access tokens: SHOULD)",
            format!("userinfo still answers {status} to the revoked access token"),
            "stop accepting an access token once it is revoked",
        );
    }
    Ok(())
}

async fn introspection_active(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let token = issued_access_token(w)?;
    let client_id = w.profile().client_id.clone();
    let (status, body) = client_post(
        w,
        "introspection_endpoint",
        vec![("token", token), ("token_type_hint", "access_token".into())],
    )
    .await?;
    ensure!(
        status == 200,
        "introspection answered {status} to the client's own token (RFC 7662 2.2)"
    );
    ensure!(
        body["active"] == true,
        "introspection says a token issued a moment ago is not active: {body}"
    );
    if let Some(named) = body["client_id"].as_str() {
        ensure!(
            named == client_id,
            "introspection names the client {named:?}, the token was issued to {client_id:?}"
        );
    }
    Ok(())
}

async fn client_credentials(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    w.direct = Some(DirectCode {
        code: String::new(),
        verifier: String::new(),
        redirect_uri: String::new(),
        nonce: String::new(),
    });
    token_request(
        w,
        Tamper {
            grant: Some("client_credentials"),
            ..Tamper::default()
        },
    )
    .await
}

async fn no_refresh_token_returned(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    if answer(w)?.body.get("refresh_token").is_some() {
        w.warn(
            "RFC 6749 section 4.4.3",
            "the client credentials grant returned a refresh token: it SHOULD NOT (the client can ask again)",
            "issue no refresh token to the client credentials grant",
        );
    }
    Ok(())
}

/// How a gate's token request differs from the right one.
#[derive(Default)]
struct Tamper {
    /// Another grant than the code's.
    grant: Option<&'static str>,
    /// Another client (id, secret) than the profile's.
    client: Option<(String, String)>,
    verifier: Option<Option<String>>,
    redirect_uri: Option<String>,
    secret: Option<String>,
}

async fn token_request(w: &mut ConformWorld, tamper: Tamper) -> anyhow::Result<()> {
    let direct = w
        .direct
        .as_ref()
        .ok_or_else(|| anyhow!("the gate holds no code"))?;
    let profile = w.profile().clone();
    let endpoint = w
        .ctx
        .endpoint("token_endpoint")
        .ok_or_else(|| anyhow!("discovery names no token_endpoint"))?
        .to_string();
    let verifier = tamper
        .verifier
        .unwrap_or_else(|| Some(direct.verifier.clone()));
    let redirect_uri = tamper
        .redirect_uri
        .unwrap_or_else(|| direct.redirect_uri.clone());
    let (client_id, secret) = match tamper.client {
        Some((id, secret)) => (id, secret),
        None => (
            profile.client_id.clone(),
            tamper
                .secret
                .unwrap_or_else(|| profile.client_secret.expose().to_string()),
        ),
    };
    let mut form = match tamper.grant {
        Some(grant) => vec![("grant_type", grant.to_string())],
        None => vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", direct.code.clone()),
            ("redirect_uri", redirect_uri),
        ],
    };
    if let (None, Some(v)) = (tamper.grant, verifier) {
        form.push(("code_verifier", v));
    }
    let (request, mut exchange) = authenticated_post(w, &endpoint, &mut form, &client_id, &secret);
    let sent = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => {
            w.exchanges.push(exchange);
            return Err(w.ctx.request_failed("POST", &endpoint, e));
        }
    };
    exchange.status = Some(response.status().as_u16());
    exchange.response_headers = response
        .headers()
        .iter()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "content-type" | "cache-control" | "pragma" | "www-authenticate"
            )
        })
        .map(|(k, v)| redact_header(k.as_str(), v.to_str().unwrap_or("(not text)")))
        .collect();
    let status = response.status().as_u16();
    let www_authenticate = response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let cache_control = response
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let form_encoded = exchange
        .response_headers
        .iter()
        .any(|(k, v)| k == "content-type" && v.starts_with("application/x-www-form-urlencoded"));
    let text = response.text().await.unwrap_or_default();
    let mut body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if body.is_null() && form_encoded {
        body = Value::Object(
            url::form_urlencoded::parse(text.trim().as_bytes())
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        );
        w.warn(
            "RFC 6749 section 5.1",
            "the token endpoint answered form-encoded, not application/json; the platform tolerates it, most client libraries do not",
            "answer token requests with application/json",
        );
    }
    exchange.response_body = if body.is_null() {
        format!("(not JSON, {} bytes)", text.len())
    } else {
        serde_json::to_string_pretty(&redact_json(&body)).unwrap_or_default()
    };
    w.exchanges.push(exchange);
    w.token_answer = Some(TokenAnswer {
        status,
        www_authenticate,
        cache_control,
        body,
    });
    Ok(())
}

async fn exchange(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    token_request(w, Tamper::default()).await
}

async fn exchange_wrong_verifier(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let other = random_token(32);
    token_request(
        w,
        Tamper {
            verifier: Some(Some(other)),
            ..Tamper::default()
        },
    )
    .await
}

async fn exchange_no_verifier(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    token_request(
        w,
        Tamper {
            verifier: Some(None),
            ..Tamper::default()
        },
    )
    .await
}

async fn exchange_other_redirect(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let mut other = w.profile().redirect_uri.clone();
    other.set_path(&format!("{}/other", other.path().trim_end_matches('/')));
    token_request(
        w,
        Tamper {
            redirect_uri: Some(other.to_string()),
            ..Tamper::default()
        },
    )
    .await
}

async fn exchange_as_other_client(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let other = w
        .profile()
        .other_client
        .clone()
        .ok_or_else(|| anyhow!("{NOT_CHECKED}the profile names no [other_client]"))?;
    token_request(
        w,
        Tamper {
            client: Some((other.client_id, other.client_secret.expose().to_string())),
            ..Tamper::default()
        },
    )
    .await
}

async fn exchange_wrong_secret(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    token_request(
        w,
        Tamper {
            secret: Some(format!("{}-wrong", random_token(8))),
            ..Tamper::default()
        },
    )
    .await
}

fn answer(w: &ConformWorld) -> anyhow::Result<&TokenAnswer> {
    w.token_answer
        .as_ref()
        .ok_or_else(|| anyhow!("the gate has made no token request"))
}

async fn tokens_issued(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let a = answer(w)?;
    ensure!(
        a.status == 200 && a.body["access_token"].is_string(),
        "the token endpoint answered {} {} to a correct code exchange",
        a.status,
        a.body.get("error").unwrap_or(&Value::Null)
    );
    let no_store = a
        .cache_control
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().contains("no-store"));
    if !no_store {
        w.warn(
            "RFC 6749 section 5.1",
            format!(
                "the token response's Cache-Control is {:?}, not no-store: a cache on the way may keep the tokens",
                a.cache_control.as_deref().unwrap_or("absent")
            ),
            "send Cache-Control: no-store with every token response",
        );
    }
    Ok(())
}

/// The claims of a JWT, unverified (what it says, to compare).
fn claims_of(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?).ok()
}

async fn userinfo_same_sub(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let (access, id_sub) = {
        let a = answer(w)?;
        let access = a.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let id_token = a.body["id_token"]
            .as_str()
            .ok_or_else(|| anyhow!("the token response has no id_token (OIDC Core 3.1.3.3)"))?;
        let sub = claims_of(id_token)
            .and_then(|c| c["sub"].as_str().map(str::to_string))
            .ok_or_else(|| anyhow!("the ID token has no readable sub"))?;
        (access, sub)
    };
    let endpoint = w
        .ctx
        .endpoint("userinfo_endpoint")
        .ok_or_else(|| anyhow!("{NOT_CHECKED}discovery names no userinfo_endpoint"))?
        .to_string();
    let response = w
        .ctx
        .http
        .get(&endpoint)
        .bearer_auth(&access)
        .send()
        .await
        .map_err(|e| w.ctx.request_failed("GET", &endpoint, e))?;
    let status = response.status();
    let is_jwt = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/jwt"));
    let text = response.text().await.unwrap_or_default();
    ensure!(
        status.is_success(),
        "userinfo answered {status} to the access token it issued with the ID token"
    );
    let body = if is_jwt {
        claims_of(text.trim()).ok_or_else(|| anyhow!("userinfo's signed answer cannot be read"))?
    } else {
        serde_json::from_str(&text).context("userinfo's answer is not JSON")?
    };
    let sub = body["sub"].as_str().unwrap_or_default();
    ensure!(
        sub == id_sub,
        "userinfo names the subject {sub:?}, the ID token {id_sub:?}: the client cannot trust either"
    );
    Ok(())
}

async fn refused_with(w: &mut ConformWorld, args: Args) -> anyhow::Result<()> {
    let (status, error, issued) = {
        let a = answer(w)?;
        (
            a.status,
            a.body["error"].as_str().map(str::to_string),
            a.body["access_token"].is_string(),
        )
    };
    ensure!(
        !issued,
        "the token endpoint issued tokens (HTTP {status}) where it must refuse"
    );
    ensure!(
        !(200..300).contains(&status),
        "the token endpoint refused with HTTP {status} and error {error:?}: an error response must come with HTTP 400 (401 for invalid_client), or clients take it for a success (RFC 6749 5.2)"
    );
    let error = error.ok_or_else(|| {
        anyhow!("the token endpoint refused with HTTP {status} but no RFC 6749 5.2 error body")
    })?;
    if !args.contains(&error) {
        w.warn(
            "RFC 6749 section 5.2",
            format!(
                "refused, but with {error:?} rather than {}",
                args.join(" or ")
            ),
            "use the error code RFC 6749 5.2 gives this case",
        );
    }
    Ok(())
}

async fn client_refused(w: &mut ConformWorld, args: Args) -> anyhow::Result<()> {
    let basic = w.profile().token_endpoint_auth == TokenEndpointAuth::ClientSecretBasic;
    let (status, error, challenge) = {
        let a = answer(w)?;
        (
            a.status,
            a.body["error"].as_str().map(str::to_string),
            a.www_authenticate.clone(),
        )
    };
    let issued = answer(w)?.body["access_token"].is_string();
    ensure!(
        !issued,
        "the token endpoint issued tokens (HTTP {status}) to a client with a wrong secret: anyone who knows the client id can redeem codes"
    );
    ensure!(
        !(200..300).contains(&status),
        "the token endpoint refused a wrong secret with HTTP {status} and error {error:?}: an error response must come with HTTP 400 or 401 (RFC 6749 5.2)"
    );
    let wanted = args.first().cloned().unwrap_or_default();
    if error.as_deref() != Some(wanted.as_str()) {
        w.warn(
            "RFC 6749 section 5.2",
            format!("a wrong secret was refused with {error:?} (HTTP {status}), not {wanted:?}"),
            "answer a failed client authentication with invalid_client",
        );
    }
    if basic && (status != 401 || challenge.is_none()) {
        w.warn(
            "RFC 6749 section 5.2",
            format!(
                "a client that authenticated with Basic was refused with HTTP {status}{}: it MUST get 401 and a WWW-Authenticate header",
                if challenge.is_none() { " and no WWW-Authenticate" } else { "" }
            ),
            "answer 401 with WWW-Authenticate: Basic when Basic client authentication fails",
        );
    }
    Ok(())
}

async fn ask_with_variant(w: &mut ConformWorld, args: Args) -> anyhow::Result<()> {
    let registered = w.profile().redirect_uri.clone();
    let mut variant = registered.clone();
    match args.first().map(String::as_str) {
        Some("with a path appended") => {
            variant.set_path(&format!(
                "{}/extra",
                registered.path().trim_end_matches('/')
            ));
        }
        Some("on another port") => {
            let port = registered.port_or_known_default().unwrap_or(80);
            let other = if port == 65535 { port - 1 } else { port + 1 };
            variant
                .set_port(Some(other))
                .map_err(|_| anyhow!("the redirect URI cannot take a port"))?;
        }
        Some("with a query added") => {
            variant.query_pairs_mut().append_pair("standin", "1");
        }
        other => bail!("unknown redirect URI variant {other:?}"),
    }
    let (landing, _, _) = authorize(w, variant.as_str()).await?;
    w.landing = Some(landing);
    w.variant = Some(variant.to_string());
    Ok(())
}

async fn no_code_for_variant(w: &mut ConformWorld, _: Args) -> anyhow::Result<()> {
    let variant = w
        .variant
        .clone()
        .ok_or_else(|| anyhow!("the gate asked for no code with a variant redirect URI"))?;
    let Some(landing) = &w.landing else {
        bail!("the gate did not ask for a code")
    };
    let Some(cb) = landing.callback() else {
        return Ok(());
    };
    if !cb.url.as_str().starts_with(&variant) || cb.get("code").is_none() {
        return Ok(());
    }
    let loopback = matches!(
        w.profile().redirect_uri.host_str(),
        Some("127.0.0.1" | "[::1]" | "localhost")
    );
    let port_only = {
        let registered = &w.profile().redirect_uri;
        Url::parse(&variant).is_ok_and(|v| {
            v.port_or_known_default() != registered.port_or_known_default()
                && v.path() == registered.path()
                && v.query() == registered.query()
        })
    };
    if loopback && port_only {
        w.warn(
            "RFC 8252 section 7.3",
            format!("the IdP sent a code to {variant}, another port of the loopback redirect URI: allowed for native apps, not for a web client"),
            "register the platform as a web client, whose redirect URIs match exactly",
        );
        return Ok(());
    }
    bail!(
        "the IdP sent a code to {variant}, which is not the registered redirect URI: a redirect URI must match exactly, or codes leak to whoever controls the variant"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every example matches its own pattern and no other, so
    /// `--list-steps` shows what works, and no step is ambiguous.
    #[test]
    fn each_example_matches_its_pattern_only() {
        let patterns: Vec<regex::Regex> = VOCABULARY
            .iter()
            .map(|s| regex(s.pattern).unwrap_or_else(|e| panic!("{}: {e}", s.pattern)))
            .collect();
        for (i, s) in VOCABULARY.iter().enumerate() {
            let text = s
                .example
                .split_once(' ')
                .map(|(_, rest)| rest)
                .unwrap_or_default();
            let matching: Vec<usize> = patterns
                .iter()
                .enumerate()
                .filter(|(_, re)| re.is_match(text))
                .map(|(j, _)| j)
                .collect();
            assert_eq!(matching, vec![i], "{:?} matches {:?}", s.example, matching);
        }
    }

    #[test]
    fn quotes_come_off_string_arguments() {
        assert_eq!(unquote("\"invalid_grant\""), "invalid_grant");
        assert_eq!(unquote("'x'"), "x");
        assert_eq!(unquote("on another port"), "on another port");
    }
}
