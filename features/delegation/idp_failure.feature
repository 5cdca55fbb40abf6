@delegation @idp_failure @mock_idp
Feature: The IdP fails during the code exchange
  If the brand's token endpoint fails, answers nonsense or does not answer
  in time, the consumer's browser says so, the bot posts a new link in the
  chat, and the integration that was waiting runs once the consumer signs in
  through it.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And the organisation "demo" has the Consumer Authentication credential "brand-login"
    And a conversation with the demo bot
    And the consumer has said "my orders" and received a sign-in link

  Scenario Outline: The token endpoint <failure>, and signing in again works
    Given the IdP's token endpoint <failure> once
    When the consumer signs in through the bot's last link
    And the consumer's browser follows the redirect to the platform
    Then the platform shows a 502 page titled "Sign-in failed" saying "a new link is waiting"
    And the bot's last message says "failed at the brand's side"
    And the bot's last message has a new sign-in link
    And the conversation holds no access token
    And the brand API has received no request
    And the conversation's events end with:
      | callback_received              |
      | exchange_failed                |
      | rechallenge (exchange_failed)  |
      | challenge_sent                 |
    When the consumer signs in through the bot's last link
    And the consumer's browser follows the redirect to the platform
    Then the platform shows a 200 page titled "You are signed in" saying "return to the chat"
    And the bot's last message starts with "Your orders: 1001"
    And the brand API received 1 request

    Examples:
      | failure                        |
      | answers status 503             |
      | answers a body that is not JSON |
      | answers too late               |
