@discovery
Feature: The IdP describes itself
  The platform finds the brand's IdP from its issuer alone, as OpenID
  Connect Discovery 1.0 says: the metadata document, then the keys.

  Scenario: Discovery names the issuer exactly
    Rests on: OIDC Discovery 1.0 sections 3 and 4.3
    Fix: serve /.well-known/openid-configuration with "issuer" exactly as the profile spells it (a trailing slash included or not), and authorization_endpoint, token_endpoint and jwks_uri
    When the platform reads the IdP's discovery document
    Then its issuer is exactly the profile's issuer
    And it names an authorization endpoint, a token endpoint and a JWKS
    And it supports the response type "code"

  Scenario: The JWKS holds a key that verifies ID tokens
    Rests on: OIDC Core 1.0 section 10.1, RFC 7517 section 5
    Fix: publish the ID token signing keys (public only) at jwks_uri, each with a kid when there are several
    When the platform reads the IdP's JWKS
    Then it holds at least one public signing key
    And it holds no private key material
