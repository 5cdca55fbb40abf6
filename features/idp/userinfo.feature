@idp @userinfo
Feature: The userinfo endpoint
  The access token from a code exchange reads the consumer's claims at
  userinfo, for the same subject as the ID token (OIDC Core 5.3). A token
  the IdP did not issue is refused with a Bearer challenge (RFC 6750 3).

  Background:
    Given the registered bot client

  Scenario: The access token reads the claims of the ID token's subject
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code
    And the bot calls userinfo with the access token
    Then userinfo answers with the subject of the ID token

  Scenario: A token the IdP did not issue is refused
    When the bot calls userinfo with the access token "not-a-token-this-idp-issued"
    Then userinfo refuses the token with 401 invalid_token
