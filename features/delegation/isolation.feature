@delegation @isolation
Feature: A token belongs to one conversation
  Access tokens live in the context of the conversation they were obtained
  in, and are never shared with another conversation, not even one of the
  same consumer (source documents 001 and 003).

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And the organisation "demo" has the Consumer Authentication credential "brand-login"
    And a conversation "A" with the demo bot for consumer "alice-web"
    And a conversation "B" with the demo bot for consumer "alice-web"

  Scenario: The second conversation of the same consumer gets its own link
    Given the consumer has signed in through the bot's link in conversation "A"
    When the consumer says "my orders" in conversation "B"
    Then the bot answers with a sign-in link
    And the link's "state" differs from every link of conversation "A"
    And conversation "B" holds no access token
    And conversation "A" holds an access token
    And the brand API received 1 request

  Scenario: Each conversation's token is used only for that conversation
    Given the consumer has signed in through the bot's link in conversation "A"
    And the consumer has signed in through the bot's link in conversation "B"
    When the consumer says "my orders" in conversation "A"
    And the consumer says "my orders" in conversation "B"
    Then the brand API received 4 requests
    And the brand API saw one token per conversation, never the same token in two conversations
    And the IdP issued 2 codes and 2 access tokens

  Scenario: Closing one conversation leaves the other's token alone
    Given the consumer has signed in through the bot's link in conversation "A"
    And the consumer has signed in through the bot's link in conversation "B"
    When conversation "A" is closed
    And the consumer says "my orders" in conversation "B"
    Then the bot answers without a link
    And conversation "A" holds no access token
    And conversation "B" holds an access token
    And the brand API saw one token per conversation, never the same token in two conversations
