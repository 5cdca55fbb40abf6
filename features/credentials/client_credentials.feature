Feature: OAuth 2.0 credentials with the Client Credentials grant
  An admin saves the brand's client ID and secret, an optional scope and
  the token URL. The platform obtains the token itself (on first use, or
  when the admin clicks Authorize), keeps it until shortly before it
  expires (30 seconds, or a quarter of its lifetime when shorter), then
  obtains a new one: one token request however many conversations need
  it at once. A 401 from the brand API drops the kept token.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock

  Scenario: A credential is saved and hides its secret
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_client_credentials", "name": "svc",
       "client_id": "svc-client", "client_secret": "canary-svc-secret",
       "scope": "orders:read", "token_url": "{idp}/token"}
      """
    Then the credential is saved
    And the answer shows "type" as "oauth2_client_credentials"
    And the answer shows "client_id" as "svc-client"
    And the answer shows "client_secret" as "[redacted]"
    And no credential read of "demo" shows "canary-svc-secret"
    And the credential "svc" holds no token

  Scenario: Every fault of the credential has its own error
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_client_credentials", "name": "svc"}
      """
    Then the save is refused with exactly these errors:
      | field         | code    |
      | client_id     | missing |
      | client_secret | missing |
      | token_url     | missing |
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_client_credentials", "name": "svc", "client_id": "svc-client",
       "client_secret": "s\n", "scope": "orders\\read", "token_url": "http://login.brand.example/token#x"}
      """
    Then the save is refused with exactly these errors:
      | field         | code            |
      | client_secret | invalid         |
      | scope         | invalid         |
      | token_url     | insecure_scheme |
      | token_url     | fragment        |
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_client_credentials", "name": "svc", "client_id": "svc-client",
       "client_secret": "s", "token_url": "/token", "auth_url": "{idp}/authorize"}
      """
    Then the save is refused: "invalid_field" on "body"

  Scenario: Authorize obtains a token and reports it
    Given the credential "svc" of "demo" is saved for the service client "svc-client"
    When the admin of "demo" authorizes the credential "svc"
    Then the credential API answers 200
    And the answer shows "authorized" as "true"
    And the answer shows "scope" as "orders:read"
    And the answer shows "refresh_token_present" as "false"
    And the IdP issued 1 access token to "svc-client" by the client_credentials grant
    And the credential "svc" holds a token without a refresh token

  Scenario: Authorize reports the token endpoint's error, without the secret
    Given the brand registered the service client "svc-client"
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_client_credentials", "name": "svc",
       "client_id": "svc-client", "client_secret": "canary-wrong-secret",
       "token_url": "{idp}/token"}
      """
    And the admin of "demo" authorizes the credential "svc"
    Then the credential API answers 502
    And the answer shows "error" as "invalid_client"
    And the answer shows "authorized" as "false"
    And no credential read of "demo" shows "canary-wrong-secret"
    And the credential "svc" holds no token

  Scenario: The token is obtained on first use, kept, and obtained again near its expiry
    Given the credential "svc" of "demo" is saved for the service client "svc-client"
    And a conversation with the demo bot
    When the consumer says "service orders"
    Then the bot's last message is "Service orders: none"
    And the last brand API request carried a token the IdP issued to "svc-client" by the client_credentials grant
    And the IdP issued 1 access token to "svc-client" by the client_credentials grant
    When the shared clock moves forward 260 seconds
    And the consumer says "service orders"
    Then the IdP issued 1 access token to "svc-client" by the client_credentials grant
    And the last 2 brand API requests carried one token
    When the shared clock moves forward 10 seconds
    And the consumer says "service orders"
    Then the bot's last message is "Service orders: none"
    And the IdP issued 2 access tokens to "svc-client" by the client_credentials grant
    And the last brand API request carried a different token than the first

  Scenario: Many conversations at expiry cause exactly one token request
    Given the credential "svc" of "demo" is saved for the service client "svc-client"
    And a conversation with the demo bot
    And 10 conversations with the demo bot
    When the consumer says "service orders"
    And the IdP's token endpoint is slow once
    And the shared clock moves forward 300 seconds
    And the consumer says "service orders" in all of them at the same moment
    Then every one of them was answered "Service orders: none"
    And the IdP issued 2 access tokens to "svc-client" by the client_credentials grant
    And the last 10 brand API requests carried one token

  Scenario: A 401 from the brand API drops the kept token
    Given the credential "svc" of "demo" is saved for the service client "svc-client"
    And a conversation with the demo bot
    And the brand API answers the next orders request with status 401 and the body "{}"
    When the consumer says "service orders"
    Then the bot's last message says "refused the credential"
    And the credential "svc" holds no token
    When the consumer says "service orders"
    Then the bot's last message is "Service orders: none"
    And the IdP issued 2 access tokens to "svc-client" by the client_credentials grant

  Scenario: A token the brand refuses to issue is reported in the conversation
    Given the brand registered the service client "svc-client"
    And a conversation with the demo bot
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_client_credentials", "name": "svc",
       "client_id": "svc-client", "client_secret": "canary-wrong-secret",
       "token_url": "{idp}/token"}
      """
    And the consumer says "service orders"
    Then the bot's last message says "could not obtain a token"
    And the bot's last message says "invalid_client"
    And the brand API has received no request

  Scenario: A credential an integration uses is not deleted
    Given the credential "svc" of "demo" is saved for the service client "svc-client"
    When the admin of "demo" deletes the credential "svc"
    Then the deletion is refused naming the integration "service-orders"
