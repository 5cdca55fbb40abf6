//! OpenID Provider metadata (OIDC Discovery 1.0 section 3) and OAuth 2.0
//! Authorization Server Metadata (RFC 8414). Both documents are the same:
//! every endpoint advertised here is served. With a TLS listener, the
//! mutual-TLS metadata of RFC 8705 5 too.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::state::IdpState;

pub fn metadata(state: &IdpState) -> Value {
    let iss = &*state.issuer;
    let algs: Vec<&str> = state
        .keys()
        .algorithms()
        .iter()
        .map(|a| a.as_str())
        .collect();
    let mut scopes: Vec<String> = state
        .store()
        .clients
        .values()
        .flat_map(|c| c.scopes.iter().cloned())
        .collect();
    scopes.sort();
    scopes.dedup();
    let mut document = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "userinfo_endpoint": format!("{iss}/userinfo"),
        "jwks_uri": format!("{iss}/jwks"),
        "introspection_endpoint": format!("{iss}/introspect"),
        "revocation_endpoint": format!("{iss}/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code", "client_credentials", "refresh_token",
            super::jwt_bearer::GRANT_TYPE, super::apikey::GRANT_TYPE
        ],
        "code_challenge_methods_supported": ["S256", "plain"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "id_token_signing_alg_values_supported": algs,
        "subject_types_supported": ["public"],
        "scopes_supported": scopes,
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp",
            "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
            "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at",
            "email", "email_verified", "phone_number", "phone_number_verified", "address"
        ],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    });
    if let Some(mtls) = &state.mtls_url {
        add_mtls(&mut document, mtls);
    }
    document
}

/// RFC 8705 5: the endpoints that take client certificates, certificate
/// bound access tokens, and `tls_client_auth` among the methods.
fn add_mtls(document: &mut Value, mtls: &str) {
    document["mtls_endpoint_aliases"] = json!({
        "token_endpoint": format!("{mtls}/token"),
        "introspection_endpoint": format!("{mtls}/introspect"),
        "revocation_endpoint": format!("{mtls}/revoke"),
        "userinfo_endpoint": format!("{mtls}/userinfo"),
    });
    document["tls_client_certificate_bound_access_tokens"] = json!(true);
    for key in [
        "token_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ] {
        if let Some(methods) = document[key].as_array_mut() {
            methods.push(json!("tls_client_auth"));
        }
    }
}

/// `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
pub async fn handler(State(state): State<IdpState>) -> Json<Value> {
    Json(metadata(&state))
}
