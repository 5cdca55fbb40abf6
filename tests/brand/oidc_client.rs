//! The mock IdP seen by an ordinary OpenID Connect relying party: the
//! `openidconnect` crate, used exactly as its documentation shows, against a
//! `MockIdp` on a free port.
//!
//! The crate's default reqwest (0.12) is off (DEPENDENCIES.md trap 1), so
//! [`Http`] adapts reqwest 0.13 to its `AsyncHttpClient`, with redirects off.
//! The login and consent steps are driven as a browser would drive them:
//! cookies on, redirects off, forms read from the HTML.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreIdToken, CoreIdTokenClaims,
    CoreIdTokenVerifier, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreTokenResponse,
    CoreTokenType, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, SignatureVerificationError, StandardErrorResponse, SubjectIdentifier,
    TokenResponse as _,
};
use standin::idp::{ClientConfig, Fixtures, IdTokenDefect, MockIdp};
// The relying party's HTTP client: the reference platform's adapter for
// `openidconnect` over reqwest 0.13, redirects off.
use standin::platform::oauth::Http;
use url::Url;

use standin::conformance::Page;

use crate::common::{ALICE, ALICE_PASSWORD, ALICE_SUB, only, query_pairs};

/// The token endpoint's error body as the crate reads it.
type CoreErrorResponse = StandardErrorResponse<CoreErrorResponseType>;

const DEMO_CALLBACK: &str = "http://127.0.0.1:8400/demo/callback";

/// `CoreClient` after `from_provider_metadata` with a redirect URI.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A browser: cookies kept, redirects not followed (the redirect URI does
/// not need to exist; the test reads the `Location`).
struct Browser {
    http: reqwest::Client,
    issuer: String,
}

impl Browser {
    fn new(issuer: &str) -> Self {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("reqwest client"),
            issuer: issuer.to_string(),
        }
    }

    /// Follow an authorization URL through login and consent (allowing) to
    /// the redirect back to the client; returns that `Location`.
    async fn authorize(&self, url: &Url, username: &str, password: &str) -> Url {
        let mut response = self
            .http
            .get(url.clone())
            .send()
            .await
            .expect("GET authorize");
        for _ in 0..4 {
            let status = response.status();
            if status == reqwest::StatusCode::SEE_OTHER {
                let location = response.headers()[reqwest::header::LOCATION]
                    .to_str()
                    .expect("ASCII Location");
                return Url::parse(location).expect("absolute Location");
            }
            assert_eq!(
                status,
                reqwest::StatusCode::OK,
                "expected a form page, got {status}"
            );
            let page = Page::from_response(response).await.expect("page body");
            let html = &page.html;
            let form = page
                .forms()
                .expect("forms")
                .into_iter()
                .next()
                .unwrap_or_else(|| panic!("no form in page:\n{html}"));
            assert_eq!(form.method, reqwest::Method::POST, "{html}");
            let hidden = |name: &str| {
                (
                    name.to_string(),
                    form.value(name).unwrap_or_default().to_string(),
                )
            };
            let mut fields = vec![hidden("txn"), hidden("csrf")];
            match form.action.path() {
                "/login" => {
                    let field = form.fields.iter().find(|f| f.name == "password");
                    assert_eq!(field.map(|f| f.kind.as_str()), Some("password"));
                    assert!(form.has_field("username"));
                    fields.push(("username".into(), username.into()));
                    fields.push(("password".into(), password.into()));
                }
                "/consent" => {
                    let allow = form.button("allow").expect("an allow button");
                    assert_eq!(allow.name.as_deref(), Some("decision"));
                    fields.push(("decision".into(), "allow".into()));
                }
                other => panic!("unexpected form action {other}:\n{html}"),
            }
            response = self
                .http
                .post(format!("{}{}", self.issuer, form.action.path()))
                .form(&fields)
                .send()
                .await
                .expect("POST form");
        }
        panic!("no redirect back to the client after login and consent");
    }
}

/// A fresh mock IdP (default brand), the relying party's HTTP client and a
/// browser for the consumer.
async fn start() -> (MockIdp, Http, Browser) {
    let idp = MockIdp::start(Fixtures::default_brand())
        .await
        .expect("IdP starts");
    let browser = Browser::new(idp.issuer());
    (idp, Http::new(std::time::Duration::from_secs(10)), browser)
}

async fn discover(idp: &MockIdp, http: &Http) -> CoreProviderMetadata {
    CoreProviderMetadata::discover_async(
        IssuerUrl::new(idp.issuer().to_string()).expect("issuer URL"),
        http,
    )
    .await
    .expect("discovery (and its JWKS fetch) succeeds")
}

/// A client built from discovery, as the crate's documentation shows.
async fn client(
    idp: &MockIdp,
    http: &Http,
    id: &str,
    secret: Option<&str>,
    redirect: &str,
) -> Client {
    CoreClient::from_provider_metadata(
        discover(idp, http).await,
        ClientId::new(id.to_string()),
        secret.map(|s| ClientSecret::new(s.to_string())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.to_string()).expect("redirect URL"))
}

/// The default brand's confidential bot client.
async fn demo_bot(idp: &MockIdp, http: &Http) -> Client {
    client(
        idp,
        http,
        "demo-bot",
        Some("demo-bot-secret"),
        DEMO_CALLBACK,
    )
    .await
}

/// An authorization URL with PKCE S256, a fresh state and nonce, and
/// `scopes` besides `openid`.
fn authorization_url(
    client: &Client,
    scopes: &[&str],
) -> (Url, CsrfToken, Nonce, PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in scopes {
        request = request.add_scope(Scope::new(scope.to_string()));
    }
    let (url, state, nonce) = request.url();
    (url, state, nonce, verifier)
}

/// The token endpoint refused with this RFC 6749 5.2 error code; `what`
/// says what was asked, for the failure message.
fn assert_token_error<RE: std::error::Error + 'static>(
    result: Result<CoreTokenResponse, RequestTokenError<RE, CoreErrorResponse>>,
    expected: CoreErrorResponseType,
    what: &str,
) {
    match result {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(e.error(), &expected, "{what}: {e:?}")
        }
        other => panic!("{what}: {other:?}"),
    }
}

/// UserInfo through the crate with this access token, bound to `subject`.
async fn userinfo(
    client: &Client,
    http: &Http,
    access_token: &AccessToken,
    subject: &SubjectIdentifier,
    what: &str,
) -> CoreUserInfoClaims {
    client
        .user_info(access_token.clone(), Some(subject.clone()))
        .expect("userinfo endpoint discovered")
        .request_async(http)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e:?}"))
}

/// The refresh grant through the crate.
async fn refresh_with(
    client: &Client,
    http: &Http,
    refresh: &RefreshToken,
) -> Result<CoreTokenResponse, RequestTokenError<std::io::Error, CoreErrorResponse>> {
    client
        .exchange_refresh_token(refresh)
        .expect("token endpoint discovered")
        .request_async(http)
        .await
}

/// What one authorization code flow produced.
struct Flow {
    nonce: Nonce,
    tokens: CoreTokenResponse,
}

impl Flow {
    fn id_token(&self) -> &CoreIdToken {
        self.tokens.id_token().expect("an ID token (scope openid)")
    }

    /// The ID token's claims, verified by [`verify_id_token`].
    fn verified_claims(&self, verifier: &CoreIdTokenVerifier<'_>) -> CoreIdTokenClaims {
        verify_id_token(verifier, self.id_token(), &self.nonce, &self.tokens)
    }
}

/// Authorize (PKCE S256, state, nonce) through the browser, check the
/// authorization response, exchange the code with the crate.
async fn code_flow(
    idp: &MockIdp,
    browser: &Browser,
    client: &Client,
    http: &Http,
    scopes: &[&str],
) -> Flow {
    let (url, state, nonce, verifier) = authorization_url(client, scopes);
    let location = browser.authorize(&url, ALICE, ALICE_PASSWORD).await;
    let redirect = client
        .redirect_uri()
        .expect("redirect URI set")
        .url()
        .as_str();
    let query_start = location.as_str().strip_prefix(redirect).unwrap_or_else(|| {
        panic!("redirected to {location}, which is not the registered {redirect}")
    });
    assert!(
        query_start.starts_with('?') || query_start.starts_with('&'),
        "{location}"
    );
    let params = query_pairs(&location);
    assert_eq!(
        only(&params, "error"),
        None,
        "authorization error: {location}"
    );
    assert_eq!(
        only(&params, "state").as_deref(),
        Some(state.secret().as_str()),
        "state echoed (RFC 6749 4.1.2)"
    );
    assert_eq!(
        only(&params, "iss").as_deref(),
        Some(idp.issuer()),
        "iss (RFC 9207)"
    );
    let code = only(&params, "code").expect("a code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint discovered")
        .set_pkce_verifier(verifier)
        .request_async(http)
        .await
        .expect("the crate exchanges the code");
    Flow { nonce, tokens }
}

/// Verify an ID token with the crate (signature, iss, aud, exp, nonce) and
/// its `at_hash` against the access token.
fn verify_id_token(
    verifier: &CoreIdTokenVerifier<'_>,
    id_token: &CoreIdToken,
    nonce: &Nonce,
    tokens: &CoreTokenResponse,
) -> CoreIdTokenClaims {
    let claims = id_token
        .claims(verifier, nonce)
        .expect("the crate accepts the ID token")
        .clone();
    let expected = claims.access_token_hash().expect("at_hash present");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().expect("signing alg"),
        id_token.signing_key(verifier).expect("signing key"),
    )
    .expect("at_hash computable");
    assert_eq!(&actual, expected, "at_hash matches the access token");
    claims
}

#[tokio::test]
async fn discovery_matches_the_issuer_and_advertises_working_endpoints() {
    let (idp, http, _) = start().await;
    let meta = discover(&idp, &http).await;
    let issuer = idp.issuer();
    assert_eq!(meta.issuer().as_str(), issuer);
    assert_eq!(
        meta.authorization_endpoint().as_str(),
        format!("{issuer}/authorize")
    );
    assert_eq!(
        meta.token_endpoint().map(|u| u.as_str().to_string()),
        Some(format!("{issuer}/token"))
    );
    assert_eq!(
        meta.userinfo_endpoint().map(|u| u.as_str().to_string()),
        Some(format!("{issuer}/userinfo"))
    );
    assert_eq!(meta.jwks_uri().as_str(), format!("{issuer}/jwks"));
    // The JWKS was fetched during discovery: one key per signing algorithm.
    let algs = meta.id_token_signing_alg_values_supported();
    assert!(
        algs.contains(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256),
        "{algs:?}"
    );
    assert!(
        algs.contains(&CoreJwsSigningAlgorithm::EcdsaP256Sha256),
        "{algs:?}"
    );
    assert!(meta.jwks().keys().len() >= 2, "JWKS fetched with the keys");
}

#[tokio::test]
async fn code_flow_with_pkce_id_token_userinfo_and_refresh() {
    let (idp, http, browser) = start().await;
    let client = demo_bot(&idp, &http).await;

    let flow = code_flow(&idp, &browser, &client, &http, &["profile", "email"]).await;
    let tokens = &flow.tokens;
    assert_eq!(tokens.token_type(), &CoreTokenType::Bearer);
    let verifier = client.id_token_verifier();
    assert_eq!(
        flow.id_token().signing_alg().unwrap(),
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256
    );
    let claims = flow.verified_claims(&verifier);
    assert_eq!(claims.issuer().as_str(), idp.issuer());
    assert_eq!(claims.subject().as_str(), ALICE_SUB);
    assert_eq!(
        claims.audiences(),
        &[openidconnect::Audience::new("demo-bot".into())]
    );
    assert_eq!(
        claims.nonce().map(|n| n.secret()),
        Some(flow.nonce.secret())
    );
    assert!(claims.auth_time().is_some(), "auth_time present");
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );

    // UserInfo through the crate, bound to the ID token's subject.
    let info = userinfo(
        &client,
        &http,
        tokens.access_token(),
        claims.subject(),
        "the crate reads userinfo",
    )
    .await;
    assert_eq!(info.subject().as_str(), ALICE_SUB);
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
    let name = info
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_string());
    assert_eq!(name.as_deref(), Some("Alice Example"));

    // Refresh through the crate: a new access token, a rotated refresh
    // token, and an ID token for the same user and authentication.
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = refresh_with(&client, &http, &refresh)
        .await
        .expect("the crate refreshes");
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    let rotated = refreshed
        .refresh_token()
        .expect("rotation issues a new refresh token");
    assert_ne!(rotated.secret(), refresh.secret());
    let new_id = refreshed
        .id_token()
        .expect("refresh with openid returns an ID token");
    // OIDC Core 12.2: no nonce is expected; iss, sub, aud and auth_time as before.
    let new_claims = new_id
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .expect("the crate accepts the refreshed ID token");
    assert_eq!(new_claims.issuer(), claims.issuer());
    assert_eq!(new_claims.subject(), claims.subject());
    assert_eq!(new_claims.audiences(), claims.audiences());
    assert_eq!(new_claims.auth_time(), claims.auth_time());
    let again = userinfo(
        &client,
        &http,
        refreshed.access_token(),
        claims.subject(),
        "the refreshed access token works at userinfo",
    )
    .await;
    assert_eq!(again.subject().as_str(), ALICE_SUB);

    // The rotated-out refresh token is refused as the crate understands it.
    assert_token_error(
        refresh_with(&client, &http, &refresh).await,
        CoreErrorResponseType::InvalidGrant,
        "reuse of a rotated refresh token",
    );
}

#[tokio::test]
async fn es256_public_client_passes_the_crates_verification() {
    let (idp, http, browser) = start().await;
    // demo-spa: public (no secret), PKCE required, ID tokens signed ES256.
    let client = client(&idp, &http, "demo-spa", None, DEMO_CALLBACK).await;
    let flow = code_flow(&idp, &browser, &client, &http, &["email"]).await;
    let id_token = flow.id_token();
    assert_eq!(
        id_token.signing_alg().unwrap(),
        &CoreJwsSigningAlgorithm::EcdsaP256Sha256
    );

    // The verifier built from discovery allows the advertised algorithms;
    // pinned to the client's registered ES256 it still accepts, pinned to
    // RS256 (the OIDC default) it refuses: the token really is ES256.
    flow.verified_claims(&client.id_token_verifier());
    let rs256_only = client
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    match id_token.claims(&rs256_only, &flow.nonce) {
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::DisallowedAlg(_),
        )) => {}
        other => panic!("an RS256-only verifier must refuse ES256: {other:?}"),
    }
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = flow.verified_claims(&verifier);
    assert_eq!(claims.subject().as_str(), ALICE_SUB);
    assert_eq!(
        claims.audiences(),
        &[openidconnect::Audience::new("demo-spa".into())]
    );

    let info = userinfo(
        &client,
        &http,
        flow.tokens.access_token(),
        claims.subject(),
        "userinfo with the ES256-signed access token",
    )
    .await;
    assert_eq!(info.subject().as_str(), ALICE_SUB);
}

#[tokio::test]
async fn a_runtime_client_with_a_query_in_its_redirect_uri_and_client_secret_post() {
    let (idp, http, browser) = start().await;
    let redirect = "https://rp.example/cb?tenant=acme";
    let config: ClientConfig = serde_json::from_value(serde_json::json!({
        "id": "rp-post",
        "secret": "rp-post-secret",
        "redirect_uris": [redirect],
        "auth_methods": ["client_secret_post"],
        "scopes": ["openid", "profile", "email"],
    }))
    .expect("client config");
    idp.control().add_client(config).expect("client added");

    let client = client(&idp, &http, "rp-post", Some("rp-post-secret"), redirect)
        .await
        .set_auth_type(AuthType::RequestBody);
    let flow = code_flow(&idp, &browser, &client, &http, &["profile"]).await;
    let claims = flow.verified_claims(&client.id_token_verifier());
    assert_eq!(claims.subject().as_str(), ALICE_SUB);
    // Profile, not email, was asked for.
    assert!(claims.email().is_none());

    // The same client over Basic is not registered for it: invalid_client.
    let (url, _, _, verifier) = authorization_url(&client, &[]);
    let location = browser.authorize(&url, ALICE, ALICE_PASSWORD).await;
    let code = only(&query_pairs(&location), "code").expect("code");
    let basic = client.clone().set_auth_type(AuthType::BasicAuth);
    let result = basic
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint discovered")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await;
    assert_token_error(
        result,
        CoreErrorResponseType::InvalidClient,
        "Basic for a client_secret_post client",
    );
}

#[tokio::test]
async fn every_injected_id_token_defect_is_rejected_by_the_crate() {
    let (idp, http, browser) = start().await;
    let client = demo_bot(&idp, &http).await;
    let verifier = client.id_token_verifier();

    // Control: without a defect the same flow verifies.
    let flow = code_flow(&idp, &browser, &client, &http, &[]).await;
    flow.verified_claims(&verifier);

    for defect in [
        IdTokenDefect::WrongIss,
        IdTokenDefect::WrongAud,
        IdTokenDefect::WrongNonce,
        IdTokenDefect::Expired,
        IdTokenDefect::BadSignature,
    ] {
        idp.control().push_id_token_defect(defect, 1).unwrap();
        let flow = code_flow(&idp, &browser, &client, &http, &[]).await;
        let id_token = flow.id_token();
        let result = id_token.claims(&verifier, &flow.nonce);
        // The crate names the defect that was injected, not some other failure.
        let named = matches!(
            (&defect, &result),
            (
                IdTokenDefect::WrongIss,
                Err(ClaimsVerificationError::InvalidIssuer(_))
            ) | (
                IdTokenDefect::WrongAud,
                Err(ClaimsVerificationError::InvalidAudience(_))
            ) | (
                IdTokenDefect::WrongNonce,
                Err(ClaimsVerificationError::InvalidNonce(_))
            ) | (
                IdTokenDefect::Expired,
                Err(ClaimsVerificationError::Expired(_))
            ) | (
                IdTokenDefect::BadSignature,
                Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::CryptoError(_),
                )),
            )
        );
        assert!(named, "{defect:?}: the crate answered {result:?}");
        if defect == IdTokenDefect::BadSignature {
            // Only the signature is broken: unchecked, the claims are fine.
            let unchecked = client
                .id_token_verifier()
                .insecure_disable_signature_check();
            id_token
                .claims(&unchecked, &flow.nonce)
                .expect("a bad-signature ID token is otherwise sound");
        }
    }

    // The queue is spent: the next ID token is sound again.
    let flow = code_flow(&idp, &browser, &client, &http, &[]).await;
    flow.verified_claims(&verifier);
}
