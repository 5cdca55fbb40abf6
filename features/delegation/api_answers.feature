@delegation @api_answers
Feature: What each answer of the brand API means for the conversation
  A 401 (`invalid_token`, or a bare Bearer challenge, RFC 6750 3.1) means
  the token is no good: it is dropped and the consumer gets a new link. A 403
  `insufficient_scope` is reported once: signing in again would not help, so
  the bot does not loop and keeps the token. A 5xx is an outage: reported,
  the token kept for the next question.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And the organisation "demo" has the Consumer Authentication credential "brand-login"
    And a conversation with the demo bot
    And the consumer has signed in through the bot's link

  Scenario: A 401 from the brand API leads to a new sign-in
    Given the brand API answers the next orders request with status 401 and the body '{"error":"invalid_token"}'
    When the consumer says "my orders"
    Then the bot answers with a sign-in link
    And the bot's last message says "no longer accepts your sign-in"
    And the conversation holds no access token
    And the conversation's events end with:
      | consumer_message            |
      | dialog_matched              |
      | integration_called          |
      | api_error                   |
      | rechallenge (invalid_token) |
      | challenge_sent              |
    When the consumer signs in through the bot's last link
    And the consumer's browser follows the redirect to the platform
    Then the bot's last message starts with "Your orders: 1001"
    And the brand API received 3 requests
    And the last brand API request carried a different token than the first
    And no refresh token was ever presented to the IdP

  Scenario: A 403 insufficient_scope is reported once, and the token is kept
    When the consumer says "pay order 1003 amount 12.50"
    Then the bot answers without a link
    And the bot's last message says "needs the scope payments:write"
    And the brand API answered 1 payments request with 403 "insufficient_scope"
    And the conversation holds an access token
    And the conversation's events include "challenge_sent" 1 time
    And the conversation's events end with:
      | consumer_message   |
      | dialog_matched     |
      | integration_called |
      | api_error          |
    When the consumer says "my orders"
    Then the bot answers without a link
    And the brand API received 3 requests, all with the same token

  Scenario Outline: A <status> from the brand API is reported and the token is kept
    Given the brand API answers the next orders request with status <status> and the body ""
    When the consumer says "my orders"
    Then the bot answers without a link
    And the bot's last message says "not available right now (HTTP <status>)"
    And the conversation holds an access token
    When the consumer says "my orders"
    Then the bot answers without a link
    And the bot's last message starts with "Your orders: 1001"
    And the brand API received 3 requests, all with the same token
    And the conversation's events include "challenge_sent" 1 time

    Examples:
      | status |
      | 500    |
      | 502    |
      | 503    |
