@delegation @token_use
Feature: The stored token serves the next questions
  While the access token in the conversation's context is valid, every
  integration call uses it: no new link, no new code, no new token.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And the organisation "demo" has the Consumer Authentication credential "brand-login"
    And a conversation with the demo bot

  Scenario: A second question uses the stored token without a new link
    Given the consumer has signed in through the bot's link
    When the consumer says "my orders"
    Then the bot answers without a link
    And the bot's last message is "Your orders: 1001 (delivered); 1002 (shipped); 1003 (awaiting_payment)"
    And the brand API received 2 requests, all with the same token
    And the IdP issued 1 code and 1 access token
    And the conversation's events include "challenge_sent" 1 time

  Scenario: The token is still used one second before it expires
    Given the consumer has signed in through the bot's link
    When the shared clock moves to 1 second before the conversation's token expires
    And the consumer says "my orders"
    Then the bot answers without a link
    And the brand API received 2 requests, all with the same token
