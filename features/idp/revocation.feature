@idp @revocation
Feature: Token revocation
  When a consumer disconnects the bot, the bot tells the IdP it no longer
  needs its tokens (RFC 7009). A revoked access token stops working at
  once; revoking a refresh token ends the whole grant, access tokens
  included. The IdP answers 200 even for a token it does not know, so the
  answer reveals nothing (RFC 7009 2.2).

  Background:
    Given the registered bot client
    And the authorization link asks for scope "openid profile offline_access"

  Scenario: A revoked access token no longer reads the consumer's claims
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code
    And the bot revokes the access token
    Then the IdP confirms the revocation
    When the bot calls userinfo with the access token
    Then userinfo refuses the token with 401 invalid_token
    When the bot introspects the access token
    Then introspection says the token is inactive

  @refresh_tokens
  Scenario: A revoked refresh token can no longer be used
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code
    And the bot revokes the refresh token
    Then the IdP confirms the revocation
    When the bot refreshes the tokens
    Then the token endpoint refuses with "invalid_grant"

  @control
  Scenario: Revoking a refresh token revokes the access tokens of its grant
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code
    And the bot refreshes the tokens
    And the bot revokes the latest refresh token
    Then the IdP confirms the revocation
    And the IdP lists the latest refresh token as revoked
    And the IdP lists the first access token as revoked
    And the IdP lists the latest access token as revoked
    When the bot calls userinfo with the latest access token
    Then userinfo refuses the token with 401 invalid_token

  Scenario: Revoking a token the IdP does not know is confirmed all the same
    When the bot revokes the token "a-token-this-idp-never-issued"
    Then the IdP confirms the revocation

  Scenario: A revocation request must name a token
    When the bot sends a revocation request without a token
    Then the IdP refuses the revocation with "invalid_request"

  Scenario: Only an authenticated client may revoke
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code
    And the bot revokes the access token without authenticating
    Then the client is refused as unauthenticated
    When the bot calls userinfo with the access token
    Then userinfo answers with the subject of the ID token

  Scenario: A wrong client secret in a Basic header gets 401 and a challenge
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code
    And the bot revokes the access token with the client secret "not-the-secret" in a Basic header
    Then the client is refused with 401 and a Basic challenge
