@delegation @sign_in
Feature: The consumer signs in and the bot answers
  The consumer opens the link, signs in on the brand's login page and
  consents. The IdP sends the browser back to the platform's callback with
  a code and the link's state. The platform checks the state, exchanges the
  code server to server with the client secret and the PKCE verifier,
  keeps the access token in this conversation only, runs the integration
  that was waiting, and posts the answer in the chat. The browser gets a
  page saying the consumer can return to the chat.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And the organisation "demo" has the Consumer Authentication credential "brand-login"
    And a conversation with the demo bot

  Scenario: From the link to the answer
    Given the consumer has said "my orders" and received a sign-in link
    When the consumer opens the link
    Then the IdP shows its login form
    When the consumer signs in as "alice" with password "alice-password"
    Then the IdP asks the consumer for consent
    When the consumer allows consent
    Then the IdP sends the consumer to the platform's callback "/callback/demo/redirectCode" with a code and the link's state
    When the consumer's browser follows the redirect to the platform
    Then the platform shows a 200 page titled "You are signed in" saying "return to the chat"
    And the bot's last message is "Your orders: 1001 (delivered); 1002 (shipped); 1003 (awaiting_payment)"
    And the conversation holds an access token that expires in 300 seconds
    And the conversation's events include, in this order:
      | challenge_sent     |
      | callback_received  |
      | exchange_done      |
      | id_token_validated |
      | token_stored       |
      | integration_called |
      | answer_posted      |
    And the IdP issued 1 code and 1 access token
    And the IdP saw the code presented 1 time
    And the brand API received 1 request, for alice, with the conversation's token
    And no read of the conversation holds a code or token the IdP issued

  Scenario: A wrong password keeps the consumer on the login form
    Given the consumer has said "my orders" and received a sign-in link
    When the consumer opens the link
    And the consumer signs in as "alice" with password "not-her-password"
    Then the IdP shows its login form
    And the IdP issued 0 codes and 0 access tokens
    And the conversation holds no access token

  @more_redirect_uris
  Scenario Outline: Both callback paths the documents show work (<path>)
    Given the organisation "other" has the Consumer Authentication credential "brand-login" with callback "<path>"
    And a conversation with the demo bot in organisation "other"
    When the consumer signs in through the link of "my orders"
    Then the IdP sends the consumer to the platform's callback "/callback/other/<path>" with a code and the link's state
    When the consumer's browser follows the redirect to the platform
    Then the platform shows a 200 page titled "You are signed in" saying "return to the chat"
    And the bot's last message starts with "Your orders: 1001"

    Examples:
      | path           |
      | redirectCode   |
      | redirectedCode |

  Scenario: The consumer refuses consent
    Given the consumer has said "my orders" and received a sign-in link
    When the consumer opens the link
    And the consumer signs in as "alice" with password "alice-password"
    And the consumer denies consent
    Then the IdP sends the consumer to the platform's callback "/callback/demo/redirectCode" with the error "access_denied" and the link's state
    When the consumer's browser follows the redirect to the platform
    Then the platform shows a 200 page titled "Sign-in cancelled" saying "did not allow access"
    And the bot's last message says "did not allow access"
    And the bot's last message has no link
    And the conversation holds no access token
    And the IdP issued 0 codes and 0 access tokens
    And the brand API has received no request
    And the conversation's events end with:
      | callback_received                  |
      | authorization_error (access_denied) |
    When the consumer says "my orders"
    Then the bot answers with a sign-in link
