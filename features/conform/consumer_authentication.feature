@consumer_authentication
Feature: The consumer signs in mid-conversation
  The embedded reference platform is the brand IdP's client, with the
  profile's client and redirect URI. The consumer asks the bot for
  something that needs their brand account, gets a sign-in link, signs in
  at the IdP as the profile's test user, and comes back to the platform,
  which exchanges the code, checks the ID token and calls the brand API
  (source document 001).

  Background:
    Given a conversation with the bot

  Scenario: The sign-in link opens the IdP's login page
    Rests on: RFC 6749 section 4.1.1, RFC 7636 section 4.3, OIDC Core 1.0 section 3.1.2.1
    Fix: accept authorization requests with state, nonce and a PKCE S256 challenge from this client and this redirect URI, and show the login page
    When the consumer asks for something that needs their account
    Then the bot sends a sign-in link with state, nonce and a PKCE S256 challenge
    When the consumer opens the link
    Then the IdP shows a login page

  Scenario: Signing in returns a code and the link's state
    Rests on: RFC 6749 section 4.1.2, RFC 9207 section 2, RFC 9700 section 2.1.2
    Fix: redirect to the registered redirect URI with the code and the state exactly as received, no token in the URL, and iss when authorization_response_iss_parameter_supported is advertised
    When the consumer signs in at the IdP through the bot's link
    Then the IdP redirects to the redirect URI with a code
    And the redirect carries the link's state byte for byte
    And the redirect carries no token
    And the redirect's iss is the issuer, as RFC 9207 requires

  Scenario: The code is exchanged for a sound token response
    Rests on: RFC 6749 sections 2.3.1, 4.1.3 and 5.1, OIDC Core 1.0 section 3.1.3.3
    Fix: answer the code exchange with HTTP 200, a JSON body with access_token, token_type Bearer, expires_in and an id_token, and Cache-Control no-store
    When the consumer signs in at the IdP through the bot's link
    And the browser returns to the platform
    Then the platform exchanged the code once, authenticating as the profile says
    And the token response gave an access token, its lifetime and an ID token

  Scenario: The ID token is valid
    Rests on: OIDC Core 1.0 sections 3.1.3.7 and 2
    Fix: sign the ID token with a key of the JWKS, with iss the issuer exactly, aud the client id, the nonce of the request, and exp and iat on a correct clock
    When the consumer signs in at the IdP through the bot's link
    And the browser returns to the platform
    Then the platform validated the ID token
    And the platform says the consumer is signed in

  Scenario: The brand API answers with the consumer's token
    Rests on: RFC 6750 section 2.1, source document 001
    Fix: accept the access token issued to this client at the brand API (by default the IdP's userinfo endpoint) as a Bearer token
    When the consumer signs in at the IdP through the bot's link
    And the browser returns to the platform
    Then the platform called the brand API with the token and got the expected status

  Scenario: At expiry the consumer signs in again, and no refresh token is used
    Rests on: source document 001 (unauthenticated conversations), RFC 6749 section 5.1 (expires_in)
    Fix: give expires_in in the token response so the platform knows when the token ends
    When the consumer signs in at the IdP through the bot's link
    And the browser returns to the platform
    And the platform's clock moves past the token's expiry
    And the consumer asks for something that needs their account
    Then the bot sends a new sign-in link
    And the platform never used a refresh token
