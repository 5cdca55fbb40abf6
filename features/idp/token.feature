@idp @token
Feature: The token endpoint
  The bot exchanges the code server to server, authenticating as its
  client. A code works once, for its client, redirect URI and PKCE
  verifier, and only for a minute or so. Refresh tokens rotate, and a
  rotated one presented again revokes its whole family (RFC 9700 4.14.2).
  Every answer carries Cache-Control: no-store (RFC 6749 5.1).

  Background:
    Given the registered bot client

  Scenario: The code is exchanged for tokens
    When the consumer opens the authorization link with a PKCE S256 challenge
    And the consumer completes sign-in and consent as the test user
    And the bot exchanges the code
    Then the token response has an access token and an ID token
    And the token response must not be cached
    And the ID token is signed with a published key and names the issuer, the client and the nonce

  @fixtures
  Scenario: The default bot gets an access token, an ID token and a refresh token
    When the consumer opens the authorization link with scope "openid profile offline_access" and a PKCE S256 challenge
    And the consumer signs in as "alice" with password "alice-password"
    And the consumer allows consent
    Then the IdP redirects back with a code and the same state and iss equal to the issuer
    When the bot exchanges the code
    Then the token response has an access token, an ID token and a refresh token
    And the access token lasts at most 300 seconds
    And the token response must not be cached
    And the ID token is signed with a published key and names the issuer, the client and the nonce

  Scenario: Client authentication in the request body
    Given the client authenticates with the client secret in the request body
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code
    Then the token response has an access token and an ID token

  Scenario: A code works only once
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code
    Then the token response has an access token and an ID token
    When the bot exchanges the same code again
    Then the token endpoint refuses with "invalid_grant"
    And the token response must not be cached

  @control
  Scenario: Replaying a code revokes the tokens it produced
    Given the authorization link asks for scope "openid profile offline_access"
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code
    Then the IdP lists the first access token as active
    When the bot exchanges the same code again
    Then the token endpoint refuses with "invalid_grant"
    And the IdP lists the code as used
    And the IdP lists the first access token as revoked
    And the IdP lists the first refresh token as revoked

  @control
  Scenario: A code expires
    When the consumer completes sign-in and consent as the test user
    And the IdP's clock moves forward 120 seconds
    And the bot exchanges the code
    Then the token endpoint refuses with "invalid_grant"
    And the IdP lists the code as expired

  Scenario: A wrong PKCE verifier is refused
    Given the authorization link carries a PKCE S256 challenge
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code with a wrong code verifier
    Then the token endpoint refuses with "invalid_grant"

  Scenario: A missing PKCE verifier is refused
    Given the authorization link carries a PKCE S256 challenge
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code without a code verifier
    Then the token endpoint refuses with "invalid_grant"

  Scenario: A malformed PKCE verifier is refused
    Given the authorization link carries a PKCE S256 challenge
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code with the code verifier "too-short"
    Then the token endpoint refuses with "invalid_grant" or "invalid_request"

  Scenario: A wrong client secret in a Basic header gets 401 and a challenge
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code with the client secret "not-the-secret" in a Basic header
    Then the token endpoint refuses the client with 401 and a Basic challenge
    And the token response must not be cached

  @fixtures
  Scenario: A code is bound to the client it was issued to
    When the consumer completes sign-in and consent as the test user
    And the public client "demo-spa" exchanges the code
    Then the token endpoint refuses with "invalid_grant"

  @fixtures
  Scenario: A code is bound to its redirect URI
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code giving the redirect URI "http://127.0.0.1:8402/callback/demo/redirectCode"
    Then the token endpoint refuses with "invalid_grant"

  Rule: Refresh tokens rotate

    @fixtures
    Scenario: A refresh gives a new refresh token
      Given the authorization link asks for scope "openid profile offline_access"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot refreshes the tokens
      Then the token response has an access token, an ID token and a refresh token
      And the new refresh token differs from the previous one
      And the token response must not be cached

    @fixtures
    Scenario: A refresh token is bound to the client it was issued to
      Given the authorization link asks for scope "openid profile offline_access"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the public client "demo-spa" refreshes with the bot's refresh token
      Then the token endpoint refuses with "invalid_grant"
      When the bot refreshes the tokens
      Then the token response has an access token, an ID token and a refresh token

    @fixtures @control
    Scenario: Reusing a rotated refresh token revokes the family
      Given the authorization link asks for scope "openid profile offline_access"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot refreshes the tokens
      Then the IdP lists the first refresh token as rotated
      And the IdP lists the latest access token as issued by the refresh token grant
      When the bot refreshes the tokens with the first refresh token
      Then the token endpoint refuses with "invalid_grant"
      And the IdP lists every refresh token of the family as revoked
      When the bot refreshes the tokens with the latest refresh token
      Then the token endpoint refuses with "invalid_grant"

  Rule: Malformed token requests are refused

    Scenario: An unsupported grant type
      When the bot asks for a token with the grant type "password"
      Then the token endpoint refuses with "unsupported_grant_type"
      And the token response must not be cached

    Scenario: A token request without a grant type
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code without saying which grant type it uses
      Then the token endpoint refuses with "invalid_request"

    # RFC 6749 3.2: no request parameter more than once, whichever it is.
    Scenario Outline: A parameter sent twice: <parameter>
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code sending the "<parameter>" parameter twice
      Then the token endpoint refuses with "invalid_request"

      Examples:
        | parameter     |
        | code          |
        | grant_type    |
        | redirect_uri  |
        | code_verifier |

    Scenario: A client may not authenticate two ways at once
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code authenticating with both a Basic header and the client secret in the body
      Then the token endpoint refuses with "invalid_request"

    @control
    Scenario: Basic credentials are form-encoded before base64 (RFC 6749 2.3.1)
      Given a registered client "odd-bot" with secret "p:ss%w+rd 1" and redirect URI "http://127.0.0.1:8400/demo/callback"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code with its secret in a Basic header without form-encoding it
      Then the token endpoint refuses the client with 401 and a Basic challenge
      When the bot exchanges the code
      Then the token response has an access token and an ID token

  Rule: Client credentials never grant more than the client may have

    @fixtures
    Scenario: A subset of the client's scopes is granted
      When the client "demo-service" with secret "demo-service-secret" asks for a token with client credentials and scope "orders:read"
      Then the token response has an access token and no refresh token
      And the token response grants scope "orders:read"
      And the token response must not be cached

    @fixtures @control
    Scenario: The client credentials token is recorded as such
      When the client "demo-service" with secret "demo-service-secret" asks for a token with client credentials and scope "orders:read payments:write"
      Then the token response grants scope "orders:read payments:write"
      And the IdP lists the latest access token as issued by the client credentials grant

    @fixtures
    Scenario: A scope wider than the client's is refused
      When the client "demo-service" with secret "demo-service-secret" asks for a token with client credentials and scope "orders:read admin:everything"
      Then the token endpoint refuses with "invalid_scope"
      And the token response must not be cached

    @fixtures
    Scenario: Without a scope the client gets all of its scopes
      When the client "demo-service" with secret "demo-service-secret" asks for a token with client credentials and no scope
      Then the token response has an access token and no refresh token
      And the token response grants scope "orders:read payments:write delegated.token.read.external"

    @fixtures
    Scenario: A public client may not use client credentials
      When the public client "demo-spa" asks for a token with client credentials
      Then the token endpoint refuses with "unauthorized_client"
