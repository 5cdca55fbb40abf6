@delegation @closing
Feature: Closing a conversation purges its token
  When a conversation closes, its context goes with it: the access token is
  purged, and a sign-in that completes afterwards is refused with a clear
  page. No code is exchanged for a conversation that no longer exists.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And the organisation "demo" has the Consumer Authentication credential "brand-login"
    And a conversation with the demo bot

  Scenario: After closing, the context holds no token
    Given the consumer has signed in through the bot's link
    And the conversation holds an access token
    When the conversation is closed
    Then the conversation holds no access token
    And a new message to the conversation is refused with status 409
    And the conversation's events end with:
      | conversation_closed |

  Scenario: A sign-in that completes after the conversation closed is refused
    Given the consumer has said "my orders" and received a sign-in link
    When the conversation is closed
    And the consumer signs in through the bot's last link
    And the consumer's browser follows the redirect to the platform
    Then the platform shows a 400 page titled "This sign-in link cannot be used" saying "has been closed"
    And the IdP saw the code presented 0 times
    And the IdP issued 0 access tokens
    And the brand API has received no request
    And the conversation holds no access token
    And the conversation's events end with:
      | callback_received                      |
      | state_rejected (conversation_closed)   |
