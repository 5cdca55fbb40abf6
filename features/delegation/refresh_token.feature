@delegation @refresh_token
Feature: Refresh tokens are ignored and never stored
  The brand's IdP may return a refresh token with the access token. In an
  unauthenticated conversation the platform drops it at once: it is not
  stored, not logged, and never presented to the IdP (source document 001).

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And the organisation "demo" has the Consumer Authentication credential "brand-login"
    And a conversation with the demo bot

  Scenario: The refresh token the IdP issued is dropped
    Given the consumer has signed in through the bot's link
    Then the IdP issued 1 refresh token to the platform
    And the conversation's events include "refresh_token_dropped" 1 time
    And the conversation's context shows an access token and no refresh token
    And no refresh token was ever presented to the IdP

  Scenario: After expiry the platform challenges again instead of refreshing
    Given the consumer has signed in through the bot's link
    When the shared clock moves to 300 seconds after the conversation's token expires
    And the consumer says "my orders"
    Then the bot answers with a sign-in link
    And the IdP issued 1 refresh token to the platform
    And no refresh token was ever presented to the IdP
    And the IdP issued no access token by the refresh_token grant
    And the platform never asked the IdP for the "refresh_token" grant
    And the platform's code exchanges authenticated with "client_secret_basic"
