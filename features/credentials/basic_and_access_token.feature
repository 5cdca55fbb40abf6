Feature: Basic Authentication and Access Token credentials call the brand API
  A Basic Authentication credential is sent as `Authorization: Basic`
  (RFC 7617); an Access Token credential as `Authorization: <type> <token>`,
  its type exactly as configured. The brand API's Basic route and
  static-token route check them; a wrong password, token or type is refused
  there, and the bot says so without a sign-in link.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And a conversation with the demo bot

  Scenario: The Basic credential reads the partner's orders
    When the admin of "demo" saves the credential:
      """
      {"type": "basic_authentication", "name": "api-basic", "username": "brand-partner", "password": "brand-partner-password"}
      """
    And the consumer says "basic orders"
    Then the bot's last message is "Basic orders: 1001; 1002; 1003"
    And the bot's last message has no link

  Scenario: A wrong password is refused by the brand API, and the bot says so
    When the admin of "demo" saves the credential:
      """
      {"type": "basic_authentication", "name": "api-basic", "username": "brand-partner", "password": "not-the-password"}
      """
    And the consumer says "basic orders"
    Then the bot's last message says 'refused the credential "api-basic" as unauthorised (HTTP 401)'
    And the bot's last message has no link

  Scenario: A corrected password is used at once
    When the admin of "demo" saves the credential:
      """
      {"type": "basic_authentication", "name": "api-basic", "username": "brand-partner", "password": "not-the-password"}
      """
    And the admin of "demo" replaces the credential "api-basic" with:
      """
      {"password": "brand-partner-password"}
      """
    And the consumer says "basic orders"
    Then the bot's last message is "Basic orders: 1001; 1002; 1003"

  Scenario: The Access Token credential reads orders with its own token type
    When the admin of "demo" saves the credential:
      """
      {"type": "access_token", "name": "api-token", "token": "brand-static-token", "token_type": "Token"}
      """
    And the consumer says "token orders"
    Then the bot's last message is "Token orders: 2001; 2002"

  Scenario: The token type is sent as configured, so a wrong type is refused
    When the admin of "demo" saves the credential:
      """
      {"type": "access_token", "name": "api-token", "token": "brand-static-token", "token_type": "Bearer"}
      """
    And the consumer says "token orders"
    Then the bot's last message says "as unauthorised (HTTP 401)"

  Scenario: A wrong token is refused
    When the admin of "demo" saves the credential:
      """
      {"type": "access_token", "name": "api-token", "token": "another-token", "token_type": "Token"}
      """
    And the consumer says "token orders"
    Then the bot's last message says "as unauthorised (HTTP 401)"

  Scenario: An integration whose credential does not exist says so
    When the consumer says "token orders"
    Then the bot's last message says 'no credential named "api-token"'

  Scenario: An Access Token credential in use is deleted only when forced
    When the admin of "demo" saves the credential:
      """
      {"type": "access_token", "name": "api-token", "token": "brand-static-token", "token_type": "Token"}
      """
    And the admin of "demo" deletes the credential "api-token"
    Then the deletion is refused naming the integration "static-token-orders"
    When the admin of "demo" force-deletes the credential "api-token"
    Then the credential API answers 204
    When the consumer says "token orders"
    Then the bot's last message says 'no credential named "api-token"'
