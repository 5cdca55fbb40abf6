//! Which client the bot plays and which consumer signs in.
//!
//! Against the embedded mock the defaults are the default brand's `demo-bot`
//! and `alice`; against a profile, the profile's client and test user. Steps
//! naming a client or user explicitly need the default brand's fixtures, so
//! their scenarios carry `@fixtures`.

use base64::Engine as _;
use cucumber::given;
use standin::conformance::Profile;
use standin::conformance::profile::TokenEndpointAuth;
use standin::secret::Secret;

use super::IdpWorld;

/// The demo callback page every default-brand client has registered.
pub const DEMO_CALLBACK: &str = "http://127.0.0.1:8400/demo/callback";

/// The client the bot authenticates as.
#[derive(Clone, Debug)]
pub struct ClientUnderTest {
    pub id: String,
    /// `None` for a public client.
    pub secret: Option<Secret>,
    /// Exactly as registered.
    pub redirect_uri: String,
    /// What the authorization link asks for unless a step says otherwise.
    pub scope: String,
    pub auth: TokenEndpointAuth,
}

impl ClientUnderTest {
    /// The default brand's conversational bot.
    pub fn default_bot() -> Self {
        Self::confidential("demo-bot", "demo-bot-secret")
    }

    pub fn confidential(id: &str, secret: &str) -> Self {
        Self {
            id: id.into(),
            secret: Some(Secret::new(secret)),
            redirect_uri: DEMO_CALLBACK.into(),
            scope: "openid profile".into(),
            auth: TokenEndpointAuth::ClientSecretBasic,
        }
    }

    pub fn public(id: &str) -> Self {
        Self {
            id: id.into(),
            secret: None,
            redirect_uri: DEMO_CALLBACK.into(),
            scope: "openid profile".into(),
            auth: TokenEndpointAuth::ClientSecretBasic,
        }
    }

    pub fn from_profile(profile: &Profile) -> Self {
        Self {
            id: profile.client_id.clone(),
            secret: Some(profile.client_secret.clone()),
            redirect_uri: profile.redirect_uri.to_string(),
            scope: profile.scope.clone(),
            auth: profile.token_endpoint_auth,
        }
    }

    /// Add this client's authentication to a token, introspection or
    /// revocation request: Basic with the form-urlencoded id and secret
    /// (RFC 6749 2.3.1), the body, or just `client_id` for a public client.
    pub fn authenticate(
        &self,
        request: reqwest::RequestBuilder,
        form: &mut Vec<(String, String)>,
        style: TokenEndpointAuth,
    ) -> reqwest::RequestBuilder {
        match (&self.secret, style) {
            (None, _) => {
                form.push(("client_id".into(), self.id.clone()));
                request
            }
            (Some(secret), TokenEndpointAuth::ClientSecretBasic) => {
                request.header(reqwest::header::AUTHORIZATION, basic(&self.id, secret))
            }
            (Some(secret), TokenEndpointAuth::ClientSecretPost) => {
                form.push(("client_id".into(), self.id.clone()));
                form.push(("client_secret".into(), secret.expose().to_string()));
                request
            }
        }
    }
}

/// `Authorization: Basic` as RFC 6749 2.3.1 spells it: each part
/// form-urlencoded before base64.
pub fn basic(id: &str, secret: &Secret) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", enc(id), enc(secret.expose()));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A consumer account.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub username: String,
    pub password: Secret,
}

impl TestUser {
    pub fn default_consumer() -> Self {
        Self {
            username: "alice".into(),
            password: Secret::new("alice-password"),
        }
    }
}

impl IdpWorld {
    /// Play another client from now on.
    pub fn use_client(&mut self, client: ClientUnderTest) {
        self.agent.stop_at(client.redirect_uri.clone());
        self.client = client;
        self.pending = None;
    }
}

#[given("the registered bot client")]
fn registered_bot_client(world: &mut IdpWorld) {
    // The World starts with it; the step says so in the scenario.
    let _ = &world.client;
}

#[given(expr = "the client {string} with secret {string}")]
fn confidential_client(world: &mut IdpWorld, id: String, secret: String) {
    world.use_client(ClientUnderTest::confidential(&id, &secret));
}

#[given(expr = "the client {string} with secret {string} and redirect URI {string}")]
fn confidential_client_with_redirect(
    world: &mut IdpWorld,
    id: String,
    secret: String,
    redirect_uri: String,
) {
    let mut client = ClientUnderTest::confidential(&id, &secret);
    client.redirect_uri = redirect_uri;
    world.use_client(client);
}

#[given(expr = "the public client {string}")]
fn public_client(world: &mut IdpWorld, id: String) {
    world.use_client(ClientUnderTest::public(&id));
}

#[given(expr = "the client authenticates with the client secret in the request body")]
fn client_secret_post(world: &mut IdpWorld) {
    world.client.auth = TokenEndpointAuth::ClientSecretPost;
}

#[given(expr = "the client asks for scope {string} by default")]
fn default_scope(world: &mut IdpWorld, scope: String) {
    world.client.scope = scope;
}

#[given(expr = "the test user is {string} with password {string}")]
fn test_user(world: &mut IdpWorld, username: String, password: String) {
    world.user = TestUser {
        username,
        password: Secret::new(password),
    };
}
