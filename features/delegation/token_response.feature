@delegation @token_response @mock_idp
Feature: The platform checks what the token endpoint returns
  The platform reads a token response leniently where the standards allow
  variation, and strictly where security needs it: an ID token is checked
  completely (OpenID Connect Core 1.0 section 3.1.3.7) and must be there
  when `openid` was asked for (section 3.1.3.3); a token that is not a
  bearer token, an error sent with HTTP 200 or a response without an access
  token is refused. A refused sign-in leaves nothing behind: the consumer's
  browser says so, the bot posts a new link, and signing in through it
  works.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And the organisation "demo" has the Consumer Authentication credential "brand-login"
    And a conversation with the demo bot
    And the consumer has said "my orders" and received a sign-in link

  Scenario Outline: An ID token with <defect> is refused, and signing in again works
    Given the IdP's next ID token is "<defect>"
    When the consumer signs in through the bot's last link
    And the consumer's browser follows the redirect to the platform
    Then the platform shows a 502 page titled "Sign-in failed" saying "a new link is waiting"
    And the conversation's last exchange failure says "<why>"
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

    Examples:
      | defect        | why                       |
      | wrong_iss     | the ID token is invalid   |
      | wrong_aud     | the ID token is invalid   |
      | wrong_nonce   | nonce                     |
      | expired       | the ID token is invalid   |
      | bad_signature | the ID token is invalid   |
      | future_iat    | in the future             |

  Scenario Outline: A token response <what> is refused, and signing in again works
    Given the IdP's token endpoint answers once with status 200 and the JSON '<body>'
    When the consumer signs in through the bot's last link
    And the consumer's browser follows the redirect to the platform
    Then the platform shows a 502 page titled "Sign-in failed" saying "a new link is waiting"
    And the conversation's last exchange failure says "<why>"
    And the bot's last message has a new sign-in link
    And the conversation holds no access token
    And the brand API has received no request
    When the consumer signs in through the bot's last link
    And the consumer's browser follows the redirect to the platform
    Then the platform shows a 200 page titled "You are signed in" saying "return to the chat"
    And the bot's last message starts with "Your orders: 1001"

    Examples:
      | what                                            | body                                                         | why                                      |
      | without an ID token although openid was asked for | {"access_token":"a","token_type":"Bearer","expires_in":300} | OIDC Core 3.1.3.3                        |
      | carrying an error with HTTP 200                 | {"error":"invalid_grant"}                                    | an error must come with HTTP 400 or 401  |
      | of a token type other than Bearer               | {"access_token":"a","token_type":"DPoP","expires_in":300}   | not Bearer                               |
      | without an access token                         | {"token_type":"Bearer","expires_in":300}                     | its members are: expires_in, token_type  |
