@delegation @expiry
Feature: An expired token leads to a new sign-in, never to a refresh
  The platform keeps the token's expiry from `expires_in`, on the clock the
  three parties share. Once it has passed, the next integration call sends
  the consumer a new link. In unauthenticated conversations the refresh
  token is never used (source document 001). The clock is moved, nobody
  sleeps.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And the organisation "demo" has the Consumer Authentication credential "brand-login"
    And a conversation with the demo bot

  Scenario: The next question after expiry gets a new link
    Given the consumer has signed in through the bot's link
    When the shared clock moves to 1 second after the conversation's token expires
    And the consumer says "my orders"
    Then the bot answers with a sign-in link
    And the bot's last message says "expired"
    And the link's "state" differs from the first link's
    And the conversation holds no access token
    And the brand API received 1 request
    And the conversation's events end with:
      | consumer_message      |
      | dialog_matched        |
      | token_expired         |
      | rechallenge (expired) |
      | challenge_sent        |
    And no refresh token was ever presented to the IdP
    And the IdP issued no access token by the refresh_token grant

  Scenario: Signing in again brings a new token and the answer
    Given the consumer has signed in through the bot's link
    When the shared clock moves to 1 second after the conversation's token expires
    And the consumer signs in through the link of "my orders"
    And the consumer's browser follows the redirect to the platform
    Then the platform shows a 200 page titled "You are signed in" saying "return to the chat"
    And the bot's last message starts with "Your orders: 1001"
    And the brand API received 2 requests, each with a different token
    And the IdP issued 2 codes and 2 access tokens
    And the IdP issued no access token by the refresh_token grant
