@delegation @state
Feature: The state parameter protects the callback
  A `state` is unguessable, single use, short lived (five minutes on the
  shared clock) and bound to one conversation and one account. A callback
  whose state is missing, unknown, for another account, reused, expired or
  spliced in from another conversation is refused with a clear page, and
  nothing the consumer needs is lost.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And the organisation "demo" has the Consumer Authentication credential "brand-login"
    And a conversation with the demo bot
    And the consumer has said "my orders" and received a sign-in link
    And the consumer has signed in at the IdP through the link

  Scenario Outline: A callback <tampering> is refused and the real one still works
    When a callback <tampering> reaches the platform
    Then the platform shows a 400 page titled "This sign-in link cannot be used" saying "<reason>"
    And the conversation's last event is "<last event>"
    And the IdP saw the code presented 0 times
    And the conversation holds no access token
    And the brand API has received no request
    When the consumer's browser follows the redirect to the platform
    Then the platform shows a 200 page titled "You are signed in" saying "return to the chat"
    And the bot's last message starts with "Your orders: 1001"
    And the IdP saw the code presented 1 time

    Examples:
      | tampering                               | reason                                                                                    | last event                       |
      | without a state                         | carries no state parameter                                                                | challenge_sent                   |
      | with an unknown state                   | was not issued here                                                                       | challenge_sent                   |
      | with an empty state                     | carries no state parameter                                                                | challenge_sent                   |
      | with the state repeated                 | appears more than once                                                                    | challenge_sent                   |
      | on the callback path of "other"         | belongs to another account                                                                | state_rejected (wrong_account)   |
      | naming another issuer                   | came from an unexpected identity provider                                                 | state_rejected (issuer_mismatch) |
      | naming the issuer with a trailing slash | came from an unexpected identity provider                                                 | state_rejected (issuer_mismatch) |
      | without its iss                         | does not name the identity provider it came from, although that provider always does (RFC 9207) | state_rejected (issuer_missing)  |

  Scenario: A state used once cannot be used again
    When the consumer's browser follows the redirect to the platform
    And the consumer's browser follows the same redirect again
    Then the platform shows a 400 page titled "This sign-in link cannot be used" saying "already been used"
    And the IdP saw the code presented 1 time
    And the bot posted 1 answer with the orders
    And the conversation holds an access token
    And the conversation's events end with:
      | callback_received         |
      | state_rejected (reused)   |

  Scenario: A state older than its lifetime is refused, and asking again works
    Given the shared clock moves forward 301 seconds
    When the consumer's browser follows the redirect to the platform
    Then the platform shows a 400 page titled "This sign-in link cannot be used" saying "has expired"
    And the IdP saw the code presented 0 times
    And the conversation holds no access token
    And the conversation's events end with:
      | callback_received         |
      | state_rejected (expired)  |
    When the consumer signs in through the link of "my orders"
    And the consumer's browser follows the redirect to the platform
    Then the platform shows a 200 page titled "You are signed in" saying "return to the chat"
    And the bot's last message starts with "Your orders: 1001"

  Scenario: A code delivered with another conversation's state gets that conversation nothing
    Given a second conversation "B" with the demo bot
    And the consumer has said "my orders" in conversation "B" and received a sign-in link
    When the callback reaches the platform with the state of conversation "B"'s link
    Then the platform shows a 502 page titled "Sign-in failed" saying "new link"
    And conversation "B" holds no access token
    And the conversation holds no access token
    And the events of conversation "B" include "exchange_failed" 1 time
    And the bot's last message in conversation "B" has a new sign-in link
    And the brand API has received no request
    When the consumer's browser follows the redirect to the platform
    Then the platform shows a 200 page titled "You are signed in" saying "return to the chat"
    And the bot's last message starts with "Your orders: 1001"
    And conversation "B" holds no access token
    And the brand API received 1 request
