@delegation @link
Feature: The bot sends the consumer a sign-in link
  A dialog calls an API integration whose credential is Consumer
  Authentication. When the conversation holds no access token, the bot does
  not call the brand API: it sends the consumer the credential's
  authentication URL with a fresh `state` bound to this conversation, a PKCE
  S256 challenge (RFC 7636) and a nonce (OpenID Connect Core 3.1.2.1).

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And the organisation "demo" has the Consumer Authentication credential "brand-login"
    And a conversation with the demo bot

  Scenario: A question that needs the consumer's account gets a sign-in link
    When the consumer says "my orders"
    Then the bot answers with a sign-in link
    And the link is the credential's authentication URL with state, code_challenge, code_challenge_method and nonce added
    And the link's "code_challenge_method" is "S256"
    And the link's "code_challenge" is 43 characters long
    And the link's "state" is at least 43 characters long
    And the link's "nonce" is at least 22 characters long
    And the brand API has received no request
    And the conversation holds no access token
    And the conversation's events are:
      | conversation_opened |
      | consumer_message    |
      | dialog_matched      |
      | challenge_sent      |

  Scenario: Every link carries its own state, challenge and nonce
    Given a second conversation "B" with the demo bot
    When the consumer says "my orders"
    And the consumer says "my orders" again
    And the consumer says "my orders" in conversation "B"
    Then the three links have different "state" values
    And the three links have different "code_challenge" values
    And the three links have different "nonce" values

  Scenario: A message no dialog knows gets the fallback, not a link
    When the consumer says "what is the weather"
    Then the bot answers without a link
    And the conversation's events end with:
      | consumer_message |
      | no_dialog        |
