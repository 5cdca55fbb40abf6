Feature: OAuth 2.0 credentials with the Authorization Code grant
  An admin saves the brand's client ID and secret, an optional scope, the
  auth URL and the token URL; registers at the brand the redirect URI the
  platform shows; and authorises the credential once in a browser. The
  platform keeps the token, presents it on every integration call,
  refreshes it when it expires (one refresh however many conversations
  need it), and asks for reauthorization when it cannot.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock

  Scenario: A credential is saved, shows the redirect URI to register, and hides its secret
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_authorization_code", "name": "crm-oauth",
       "client_id": "crm-client", "client_secret": "canary-crm-secret",
       "scope": "openid orders:read",
       "auth_url": "{idp}/authorize", "token_url": "{idp}/token"}
      """
    Then the credential is saved
    And the answer shows "type" as "oauth2_authorization_code"
    And the answer shows "redirect_uri" as "{platform}/oauth2/callback"
    And the answer shows "client_secret" as "[redacted]"
    And the answer shows "scope" as "openid orders:read"
    And no credential read of "demo" shows "canary-crm-secret"
    And the credential "crm-oauth" holds no token

  Scenario: Every fault of the credential has its own error
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_authorization_code", "name": "crm-oauth"}
      """
    Then the save is refused with exactly these errors:
      | field         | code    |
      | client_id     | missing |
      | client_secret | missing |
      | auth_url      | missing |
      | token_url     | missing |
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_authorization_code", "name": "crm-oauth", "client_id": "c", "client_secret": "s",
       "auth_url": "login.brand.example/authorize", "token_url": "http://login.brand.example/token"}
      """
    Then the save is refused with exactly these errors:
      | field     | code            |
      | auth_url  | not_absolute    |
      | token_url | insecure_scheme |
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_authorization_code", "name": "crm-oauth", "client_id": "c", "client_secret": "s",
       "auth_url": "{idp}/authorize#login", "token_url": "{idp}/token#x"}
      """
    Then the save is refused with exactly these errors:
      | field     | code     |
      | auth_url  | fragment |
      | token_url | fragment |
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_authorization_code", "name": "crm-oauth", "client_id": "c", "client_secret": "s",
       "auth_url": "{idp}/authorize?prompt=consent&state=fixed", "token_url": "{idp}/token"}
      """
    Then the save is refused with exactly these errors:
      | field    | code               |
      | auth_url | reserved_parameter |
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_authorization_code", "name": "crm-oauth", "client_id": "c\u0007", "client_secret": "s",
       "scope": "orders\"read", "auth_url": "{idp}/authorize", "token_url": "https://user:pw@login.brand.example/token"}
      """
    Then the save is refused with exactly these errors:
      | field     | code               |
      | client_id | invalid            |
      | scope     | invalid            |
      | token_url | credentials_in_url |

  Scenario: Replacing the credential recomputes its redirect URI and keeps its secret
    Given the credential "crm-oauth" of "demo" is saved for the IdP client "crm-client"
    When the admin of "demo" replaces the credential "crm-oauth" with:
      """
      {"scope": "orders:read"}
      """
    Then the credential API answers 200
    And the answer shows "scope" as "orders:read"
    And the answer shows "redirect_uri" as "{platform}/oauth2/callback"
    And the answer shows "client_secret" as "[redacted]"

  Scenario: The admin authorises the credential through the brand's login and consent pages
    Given the credential "crm-oauth" of "demo" is saved for the IdP client "crm-client"
    And a conversation with the demo bot
    When the admin of "demo" starts authorizing "crm-oauth"
    Then the platform sends the browser to the IdP's authorization endpoint for the credential "crm-oauth"
    And the IdP shows its login form
    When the admin signs in at the IdP as "alice" and allows consent
    Then the IdP sends the browser back to the platform's OAuth 2.0 callback with a code and the state
    When the browser follows the redirect to the platform's OAuth 2.0 callback
    Then the platform shows a 200 page titled "Credential crm-oauth is authorised" saying "Authorization passed"
    And the page does not show "crm-client-secret"
    And the IdP saw the authorization codes of "crm-client" presented 1 time
    And the credential "crm-oauth" holds a token with a refresh token
    When the consumer says "crm orders"
    Then the bot's last message is "CRM orders: 1001; 1002; 1003"
    And the last brand API request carried a token the IdP issued to "crm-client" by the authorization_code grant

  Scenario: A credential never authorised tells the bot to have it authorised
    Given the credential "crm-oauth" of "demo" is saved for the IdP client "crm-client"
    And a conversation with the demo bot
    When the consumer says "crm orders"
    Then the bot's last message says "has not been authorised yet"
    And the bot's last message says "authorize"
    And the brand API has received no request

  Scenario: An expired token is refreshed, and the rotated refresh token is kept
    Given the credential "crm-oauth" of "demo" is authorised for the IdP client "crm-client"
    And a conversation with the demo bot
    When the consumer says "crm orders"
    Then the bot's last message is "CRM orders: 1001; 1002; 1003"
    When the shared clock moves forward 200 seconds
    And the consumer says "crm orders"
    Then the IdP issued 0 access tokens to "crm-client" by the refresh_token grant
    When the shared clock moves forward 100 seconds
    And the consumer says "crm orders"
    Then the bot's last message is "CRM orders: 1001; 1002; 1003"
    And the IdP issued 1 access token to "crm-client" by the refresh_token grant
    And the last brand API request carried a token the IdP issued to "crm-client" by the refresh_token grant
    # The IdP rotates refresh tokens and revokes the family when a used
    # one comes back: a second refresh works only with the rotated token.
    When the shared clock moves forward 300 seconds
    And the consumer says "crm orders"
    Then the bot's last message is "CRM orders: 1001; 1002; 1003"
    And the IdP issued 2 access tokens to "crm-client" by the refresh_token grant
    And the IdP saw 2 refresh token presentations from "crm-client"
    And the credential "crm-oauth" holds a token with a refresh token

  Scenario: Many conversations at expiry cause exactly one refresh
    Given the credential "crm-oauth" of "demo" is authorised for the IdP client "crm-client"
    And 8 conversations with the demo bot
    And the IdP's token endpoint is slow once
    When the shared clock moves forward 300 seconds
    And the consumer says "crm orders" in all of them at the same moment
    Then every one of them was answered "CRM orders: 1001; 1002; 1003"
    And the IdP issued 1 access token to "crm-client" by the refresh_token grant
    And the IdP saw 1 refresh token presentation from "crm-client"
    And the last 8 brand API requests carried one token

  Scenario: Without a refresh token, an expired credential asks to be reauthorized
    Given the credential "crm-oauth" of "demo" is authorised for the IdP client "crm-client" without refresh tokens
    And a conversation with the demo bot
    Then the credential "crm-oauth" holds a token without a refresh token
    When the shared clock moves forward 300 seconds
    And the consumer says "crm orders"
    Then the bot's last message says "reauthorize credential crm-oauth"
    And the brand API has received no request
    When the admin of "demo" authorizes "crm-oauth" again in the browser
    And the consumer says "crm orders"
    Then the bot's last message is "CRM orders: 1001; 1002; 1003"
    And the IdP issued 2 access tokens to "crm-client" by the authorization_code grant

  Scenario: A refresh the brand refuses asks for reauthorization
    Given the credential "crm-oauth" of "demo" is authorised for the IdP client "crm-client" whose refresh tokens last 600 seconds
    And a conversation with the demo bot
    When the shared clock moves forward 700 seconds
    And the consumer says "crm orders"
    Then the bot's last message says "reauthorize credential crm-oauth"
    And the bot's last message says "invalid_grant"
    And the brand API has received no request
    And the credential "crm-oauth" holds an expired token without a refresh token

  Scenario: Reauthorizing replaces the token
    Given the credential "crm-oauth" of "demo" is authorised for the IdP client "crm-client"
    And a conversation with the demo bot
    When the consumer says "crm orders"
    And the admin of "demo" authorizes "crm-oauth" again in the browser
    And the consumer says "crm orders"
    Then the bot's last message is "CRM orders: 1001; 1002; 1003"
    And the last brand API request carried a different token than the first
    And the IdP issued 2 access tokens to "crm-client" by the authorization_code grant

  Scenario: A 401 from the brand API makes the next call refresh the token
    Given the credential "crm-oauth" of "demo" is authorised for the IdP client "crm-client"
    And a conversation with the demo bot
    And the brand API answers the next orders request with status 401 and the body "{}"
    When the consumer says "crm orders"
    Then the bot's last message says "refused the credential"
    When the consumer says "crm orders"
    Then the bot's last message is "CRM orders: 1001; 1002; 1003"
    And the IdP issued 1 access token to "crm-client" by the refresh_token grant

  Scenario: A replayed authorization response changes nothing
    Given the credential "crm-oauth" of "demo" is saved for the IdP client "crm-client"
    When the admin of "demo" starts authorizing "crm-oauth"
    And the admin signs in at the IdP as "alice" and allows consent
    And the browser follows the redirect to the platform's OAuth 2.0 callback
    Then the platform shows a 200 page titled "Credential crm-oauth is authorised" saying "Authorization passed"
    When the browser follows the same redirect to the platform's OAuth 2.0 callback again
    Then the platform shows a 400 page titled "This authorization cannot complete" saying "already used"
    And the IdP saw the authorization codes of "crm-client" presented 1 time
    And the credential "crm-oauth" holds a token with a refresh token

  Scenario: Unknown and expired states are refused with a clear page
    Given the credential "crm-oauth" of "demo" is saved for the IdP client "crm-client"
    When a response with an unknown state reaches the platform's OAuth 2.0 callback
    Then the platform shows a 400 page titled "This authorization cannot complete" saying "unknown"
    When the admin of "demo" starts authorizing "crm-oauth"
    And the admin signs in at the IdP as "alice" and allows consent
    And the shared clock moves forward 301 seconds
    And the browser follows the redirect to the platform's OAuth 2.0 callback
    Then the platform shows a 400 page titled "This authorization cannot complete" saying "expired"
    And the IdP saw the authorization codes of "crm-client" presented 0 times
    And the credential "crm-oauth" holds no token

  Scenario: Access denied at the brand leaves the credential unauthorised
    Given the credential "crm-oauth" of "demo" is saved for the IdP client "crm-client"
    When the admin of "demo" starts authorizing "crm-oauth"
    And the admin signs in at the IdP as "alice" and denies consent
    Then the IdP sends the browser back to the platform's OAuth 2.0 callback with the error "access_denied" and the state
    When the browser follows the redirect to the platform's OAuth 2.0 callback
    Then the platform shows a 200 page titled "Credential crm-oauth is not authorised" saying "access_denied"
    And the credential "crm-oauth" holds no token

  Scenario: A token endpoint error at the exchange is shown without the secret
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_authorization_code", "name": "crm-oauth",
       "client_id": "crm-client", "client_secret": "canary-wrong-secret",
       "scope": "openid orders:read",
       "auth_url": "{idp}/authorize", "token_url": "{idp}/token"}
      """
    And the brand registers the redirect URI of credential "crm-oauth" for the client "crm-client"
    And the admin of "demo" starts authorizing "crm-oauth"
    And the admin signs in at the IdP as "alice" and allows consent
    And the browser follows the redirect to the platform's OAuth 2.0 callback
    Then the platform shows a 502 page titled "Credential crm-oauth is not authorised" saying "invalid_client"
    And the page does not show "canary-wrong-secret"
    And the credential "crm-oauth" holds no token

  Scenario: A credential an integration uses is not deleted
    Given the credential "crm-oauth" of "demo" is authorised for the IdP client "crm-client"
    When the admin of "demo" deletes the credential "crm-oauth"
    Then the deletion is refused naming the integration "crm-orders"
    And the credential "crm-oauth" holds a token with a refresh token
