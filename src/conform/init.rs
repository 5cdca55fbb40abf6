//! The profile `standin conform --init` writes: every key, commented, to
//! fill in.

/// A commented profile with placeholders.
pub const TEMPLATE: &str = r#"# A standin conform profile: the brand IdP under test and its test client.
# Fill in the values marked <...>; the optional sections show their defaults.
# Check it with: standin conform --profile <this file>

# The issuer identifier, exactly as the IdP names itself in discovery
# (a trailing slash is part of it).
issuer = "<https://login.brand.example>"

# A test client registered at the IdP for the platform: confidential,
# the authorization code grant, PKCE S256.
client_id = "<client id>"
# The secret, here or (better, in CI) in an environment variable:
# client_secret = "<secret>"
client_secret_env = "BRAND_CLIENT_SECRET"

# The redirect URI registered for the client, exactly as registered. It
# ends in /callback/<account>/redirectCode, the platform's callback; the
# gate receives the redirect itself, so it need not be reachable.
redirect_uri = "<http://127.0.0.1:8402/callback/demo/redirectCode>"

# The scope of the sign-in link (openid is needed for an ID token).
scope = "openid profile"

# client_secret_basic or client_secret_post.
token_endpoint_auth = "client_secret_basic"

# Optional: the access-token lifetime to expect, in seconds.
# access_token_lifetime = 3600

# A test user the gate signs in as.
[user]
username = "<test user>"
# password = "<password>"
password_env = "BRAND_TEST_PASSWORD"

# How the gate finds its way through the login and consent pages.
[form]
username_field = "username"
password_field = "password"
allow_button = "allow"
deny_button = "deny"
# More fields the login page asks for, filled in wherever they appear:
# [form.extra]
# tenant = "<tenant>"

# Which flows to check.
[flows]
consumer_authentication = true
# The consumer signed in on the brand's side; the platform refreshes the
# token (the IdP must issue a refresh token to the client).
pre_authentication = false
client_credentials = false

# The brand API call made with the consumer's token. Without a url, the
# IdP's userinfo endpoint.
[api]
# url = "<https://api.brand.example/v1/me>"
method = "GET"
expected_status = 200

# Another client registered at the IdP, to check that a code is bound to
# the client it was issued to (optional):
# [other_client]
# client_id = "<another client>"
# client_secret_env = "OTHER_CLIENT_SECRET"

# Time limits, in seconds: each request, and the whole run.
[timeouts]
request_secs = 10
run_secs = 300
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::Profile;

    /// Filled in, the template is a valid profile; as written it names
    /// what is left to fill.
    #[test]
    fn the_template_filled_in_is_a_valid_profile() {
        let filled = TEMPLATE
            .replace(
                "<https://login.brand.example>",
                "https://login.brand.example",
            )
            .replace("<client id>", "bot")
            .replace(
                "<http://127.0.0.1:8402/callback/demo/redirectCode>",
                "http://127.0.0.1:8402/callback/demo/redirectCode",
            )
            .replace("<test user>", "tester");
        let env = |_: &str| Some("from-env".to_string());
        let profile = Profile::parse_with(&filled, &env).unwrap();
        assert_eq!(profile.client_secret.expose(), "from-env");
        let raw = Profile::parse_with(TEMPLATE, &|_| None).unwrap_err();
        assert!(raw.iter().any(|p| p.field == "issuer"), "{raw:?}");
    }
}
