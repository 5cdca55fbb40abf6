Feature: Consumer Pre-Authentication
  The consumer signs in on the brand's website before the conversation:
  the brand's page gets an authorization code at the brand's IdP and hands
  it to the platform, which exchanges it server to server with the
  organisation's provider and keeps the access, ID and refresh tokens under
  the consumer id (the ID token's sub) while the consumer session lives.
  It answers the consumer id and the session's token, an unguessable
  handle that the brand's messaging client presents when it opens the
  consumer's conversation: only such a conversation is authenticated, and
  it is bound to that very session. An integration naming the
  organisation's Consumer Pre-Authentication credential uses the access
  token of that session, and never challenges the consumer; an expired
  access token is refreshed, once however many calls need it. A
  conversation that only names a consumer id gets no one's tokens, and
  once its session has ended (or a new sign-in replaced it) a conversation
  gets no tokens again: the consumer is told to sign in again on the
  brand's side, and continues in the conversation the new sign-in opens.
  When a session ends, however it ends, the platform revokes its refresh
  and access tokens at the IdP (RFC 7009), best effort: a failing
  revocation endpoint never keeps a session alive.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And the organisation "demo" has the Consumer Pre-Authentication credential "brand-sso"

  Scenario: The credential has only a name, and an organisation has at most one
    When the admin of "other" saves the credential:
      """
      {"type": "consumer_pre_authentication", "name": "other-sso"}
      """
    Then the credential is saved
    And the answer shows "type" as "consumer_pre_authentication"
    When the admin of "demo" saves the credential:
      """
      {"type": "consumer_pre_authentication", "name": "second-sso"}
      """
    Then the credential API answers 409
    And the save is refused: "one_per_organisation" on "type"
    And the organisation "demo" has the credentials "brand-sso"
    When the admin of "demo" saves the credential:
      """
      {"type": "consumer_pre_authentication", "name": "sso-with-url", "url": "{idp}/authorize"}
      """
    Then the save is refused: "invalid_field" on "body"

  Scenario: The brand's page signs a consumer in; the platform answers a session token, no token of the IdP's
    When "alice" signs in on the brand's website
    Then the platform starts a consumer session for "alice"
    And the platform keeps tokens for the consumers "alice"

  Scenario: Each consumer's conversations use that consumer's own tokens
    Given "alice" has signed in on the brand's website
    And "bob" has signed in on the brand's website
    And a conversation "A" with the demo bot opened with the session token of "alice"
    And a conversation "B" with the demo bot opened with the session token of "bob"
    When the consumer says "my signed-in orders" in conversation "A"
    Then the bot answers "Your signed-in orders: 1001, 1002, 1003" without a link
    When the consumer says "my signed-in orders" in conversation "B"
    Then the bot answers "Your signed-in orders: 2001, 2002" without a link
    And the brand API served each conversation with its own consumer's token
    And the platform keeps tokens for the consumers "alice, bob"

  Scenario: A pre-authenticated consumer is never challenged
    Given "alice" has signed in on the brand's website
    And a conversation with the demo bot opened with the session token of "alice"
    When the consumer says "my signed-in orders"
    Then the bot answers "Your signed-in orders: 1001, 1002, 1003" without a link
    And the conversation's events include, in this order:
      | dialog_matched     |
      | credential_applied |
      | integration_called |
      | answer_posted      |
    And the conversation's events include "challenge_sent" 0 times
    And the IdP issued 1 code and 1 access token

  Scenario: A conversation without a signed-in consumer is sent to the brand's website, not challenged
    Given a conversation with the demo bot
    When the consumer says "my signed-in orders"
    Then the bot answers without a link
    And the bot's last message says "please sign in on the brand's website"
    And the conversation's events include "challenge_sent" 0 times
    And the brand API has received no request

  Scenario: A conversation that only claims a signed-in consumer's id gets no one's tokens
    Given "alice" has signed in on the brand's website
    And a conversation with the demo bot claiming the consumer id of "alice" without a session token
    When the consumer says "my signed-in orders"
    Then the bot answers without a link
    And the bot's last message says "this conversation is not signed in; please sign in on the brand's website"
    And the conversation is not authenticated
    And the conversation's events include "challenge_sent" 0 times
    And the brand API has received no request
    And the brand API received no request with a token of "alice"
    And the platform keeps tokens for the consumers "alice"

  Scenario: A session token opens conversations of its own organisation only
    Given the organisation "other" has the Consumer Pre-Authentication credential "other-sso"
    And "alice" has signed in on the brand's website
    When a conversation with the demo bot in organisation "other" is opened with the current session token of "alice"
    Then opening the conversation is refused with 403 "invalid_consumer_session"
    When a conversation with the demo bot in organisation "demo" is opened with the current session token of "alice"
    Then the conversation is authenticated for "alice"
    When the consumer says "my signed-in orders"
    Then the bot answers "Your signed-in orders: 1001, 1002, 1003" without a link
    And the brand API received 1 request, for alice, with the conversation's token

  Scenario: A session token opens no conversation once its session has ended; the conversations it opened get no tokens
    Given "alice" has signed in on the brand's website
    And a conversation with the demo bot opened with the session token of "alice"
    When the brand ends the consumer session of "alice"
    And a conversation with the demo bot in organisation "demo" is opened with the current session token of "alice"
    Then opening the conversation is refused with 403 "invalid_consumer_session"
    When the consumer says "my signed-in orders"
    Then the bot answers without a link
    And the bot's last message says "you are not signed in any more; please sign in on the brand's website"
    And the brand API has received no request

  Scenario: A session token opens no conversation once its lifetime has passed, or a new sign-in replaced it
    Given "alice" has signed in on the brand's website
    And "alice" has signed in on the brand's website
    When a conversation with the demo bot in organisation "demo" is opened with the previous session token of "alice"
    Then opening the conversation is refused with 403 "invalid_consumer_session"
    When a conversation with the demo bot in organisation "demo" is opened with the current session token of "alice"
    Then the conversation is authenticated for "alice"
    When the consumer session's lifetime passes
    And a conversation with the demo bot in organisation "demo" is opened with the current session token of "alice"
    Then opening the conversation is refused with 403 "invalid_consumer_session"

  Scenario: Every refused session token gets the same answer, which does not say why
    Given the organisation "other" has the Consumer Pre-Authentication credential "other-sso"
    And "alice" has signed in on the brand's website
    And "bob" has signed in on the brand's website
    When a conversation with the demo bot is opened with a session token the platform never issued
    And a conversation with the demo bot is opened with the session token of "alice" and the consumer id of "bob"
    And a conversation with the demo bot in organisation "other" is opened with the current session token of "bob"
    And the brand ends the consumer session of "bob"
    And a conversation with the demo bot in organisation "demo" is opened with the current session token of "bob"
    And the consumer session's lifetime passes
    And a conversation with the demo bot in organisation "demo" is opened with the current session token of "alice"
    Then the 5 openings were all refused with the same answer, 403 "invalid_consumer_session"

  Scenario: A session token is in no log line, no conversation read and no refusal
    Given "alice" has signed in on the brand's website
    And a conversation with the demo bot opened with the session token of "alice"
    When the consumer says "my signed-in orders"
    Then the bot answers "Your signed-in orders: 1001, 1002, 1003" without a link
    When the brand ends the consumer session of "alice"
    And a conversation with the demo bot in organisation "demo" is opened with the current session token of "alice"
    Then opening the conversation is refused with 403 "invalid_consumer_session"
    And no session token of "alice" is in a log line, a conversation read or a refusal

  Scenario: An expired access token is refreshed while the session lives, with the rotated refresh token
    Given "alice" has signed in on the brand's website
    And a conversation with the demo bot opened with the session token of "alice"
    When the consumer says "my signed-in orders"
    And the shared clock moves forward 301 seconds
    And the consumer says "my signed-in orders" again
    Then the bot answers "Your signed-in orders: 1001, 1002, 1003" without a link
    And the last brand API request carried a different token than the first
    And the IdP refreshed the consumer's tokens 1 time
    When the shared clock moves forward 301 seconds
    And the consumer says "my signed-in orders" again
    Then the bot answers "Your signed-in orders: 1001, 1002, 1003" without a link
    And the IdP refreshed the consumer's tokens 2 times
    And each refresh presented the latest rotated refresh token
    And the conversation's events include "challenge_sent" 0 times

  Scenario: Concurrent uses of an expired access token make one refresh
    Given "alice" has signed in on the brand's website
    And 5 conversations with the demo bot opened with the session token of "alice"
    And the shared clock moves forward 301 seconds
    And the IdP's token endpoint answers 300 ms late once
    When the consumer says "my signed-in orders" in the 5 conversations at the same moment
    Then every one of them gets "Your signed-in orders: 1001, 1002, 1003" without a link
    And the IdP refreshed the consumer's tokens 1 time
    And the brand API received 5 requests, all with the same token

  Scenario: An access token the brand API refuses is refreshed for the next call
    Given "alice" has signed in on the brand's website
    And a conversation with the demo bot opened with the session token of "alice"
    And the brand API answers the next orders request with status 401 and the body '{"error":"invalid_token"}'
    When the consumer says "my signed-in orders"
    Then the bot answers without a link
    And the bot's last message says "refused the credential"
    When the consumer says "my signed-in orders" again
    Then the bot answers "Your signed-in orders: 1001, 1002, 1003" without a link
    And the IdP refreshed the consumer's tokens 1 time

  Scenario: Nothing is refreshed once the consumer session has been ended
    Given "alice" has signed in on the brand's website
    And a conversation with the demo bot opened with the session token of "alice"
    When the brand ends the consumer session of "alice"
    Then ending the session is answered 204
    And the platform keeps no tokens for "alice"
    When the shared clock moves forward 301 seconds
    And the consumer says "my signed-in orders"
    Then the bot answers without a link
    And the bot's last message says "you are not signed in any more; please sign in on the brand's website"
    And the conversation's events include "challenge_sent" 0 times
    And no refresh token was presented to the IdP but to revoke it
    And the brand API has received no request
    When the brand ends the consumer session of "alice"
    Then ending the session is answered 404

  Scenario: A consumer session ends when its lifetime has passed
    Given "alice" has signed in on the brand's website
    And a conversation with the demo bot opened with the session token of "alice"
    When the consumer session's lifetime passes
    And the consumer says "my signed-in orders"
    Then the bot answers without a link
    And the bot's last message says "you are not signed in any more"
    And the platform keeps no tokens for "alice"
    And no refresh token was presented to the IdP but to revoke it

  Scenario: A refused refresh sends the consumer back to the brand's website
    Given "alice" has signed in on the brand's website
    And a conversation with the demo bot opened with the session token of "alice"
    And the IdP refuses the next refresh with "invalid_grant"
    When the shared clock moves forward 301 seconds
    And the consumer says "my signed-in orders"
    Then the bot answers without a link
    And the bot's last message says "your sign-in has ended at the brand; please sign in on the brand's website"
    And the conversation's events include "challenge_sent" 0 times
    And the platform keeps no tokens for "alice"

  Scenario: An IdP that cannot refresh right now keeps the session for a later try
    Given "alice" has signed in on the brand's website
    And a conversation with the demo bot opened with the session token of "alice"
    And the IdP's token endpoint answers status 503 once
    When the shared clock moves forward 301 seconds
    And the consumer says "my signed-in orders"
    Then the bot answers without a link
    And the bot's last message says "not available right now"
    When the consumer says "my signed-in orders" again
    Then the bot answers "Your signed-in orders: 1001, 1002, 1003" without a link
    And the IdP refreshed the consumer's tokens 1 time

  Scenario: A sign-in is refused for an account without a Consumer Pre-Authentication credential
    When "alice" signs in on the brand's website of account "other"
    Then the platform refuses the sign-in with 409 "pre_authentication_not_configured"
    And the code of the sign-in was never presented to the IdP

  Scenario: An authorization code signs a consumer in once
    When "alice" signs in on the brand's website
    Then the platform starts a consumer session for "alice"
    When the brand's page hands the same code to the platform again
    Then the platform refuses the sign-in with 400 "invalid_grant"

  Scenario: Another PKCE verifier or nonce than the page's own is refused
    When "alice" signs in on the brand's website but the page hands over another verifier
    Then the platform refuses the sign-in with 400 "invalid_grant"
    When "alice" signs in on the brand's website but the page hands over another nonce
    Then the platform refuses the sign-in with 502 "invalid_id_token"
    And the platform keeps no tokens for "alice"

  Scenario: A conversation opened before its session ended gets no tokens after the consumer signs in again
    Given "alice" has signed in on the brand's website
    And a conversation "before" with the demo bot opened with the session token of "alice"
    When the brand ends the consumer session of "alice"
    And "alice" signs in on the brand's website
    Then the platform starts a consumer session for "alice"
    When a conversation "after" with the demo bot is opened with the session token of "alice"
    And the consumer says "my signed-in orders" in conversation "before"
    Then the bot answers without a link
    And the bot's last message says "you are not signed in any more; please sign in on the brand's website"
    And the brand API has received no request
    When the consumer says "my signed-in orders" in conversation "after"
    Then the bot answers "Your signed-in orders: 1001, 1002, 1003" without a link
    And the brand API received 1 request
    When the consumer says "my signed-in orders" in conversation "before"
    Then the bot's last message says "you are not signed in any more"
    And the brand API received 1 request

  Scenario: A new sign-in replaces the session: the conversations of the old one get no tokens
    Given "alice" has signed in on the brand's website
    And a conversation "first" with the demo bot opened with the session token of "alice"
    And "alice" has signed in on the brand's website
    And a conversation "second" with the demo bot opened with the session token of "alice"
    When the consumer says "my signed-in orders" in conversation "first"
    Then the bot answers without a link
    And the bot's last message says "you are not signed in any more"
    And the brand API has received no request
    When the consumer says "my signed-in orders" in conversation "second"
    Then the bot answers "Your signed-in orders: 1001, 1002, 1003" without a link
    And the brand API received 1 request

  Scenario: Ending a consumer session revokes the tokens it held at the IdP, the rotated refresh token included
    Given "alice" has signed in on the brand's website
    And "bob" has signed in on the brand's website
    And a conversation with the demo bot opened with the session token of "alice"
    When the consumer says "my signed-in orders"
    And the shared clock moves forward 301 seconds
    And the consumer says "my signed-in orders" again
    Then the IdP refreshed the consumer's tokens 1 time
    When the brand ends the consumer session of "alice"
    Then ending the session is answered 204
    And the IdP reports the refresh token and the access token of "alice" revoked
    And the IdP reports the refresh token of "bob" active

  Scenario: A new sign-in revokes the tokens of the session it replaces
    Given "alice" has signed in on the brand's website
    And "alice" has signed in on the brand's website
    Then the IdP reports the tokens of the previous sign-in of "alice" revoked, and those of the current one active

  Scenario: A session whose lifetime has passed has its tokens revoked when the platform notices, on its next use
    Given "alice" has signed in on the brand's website
    And a conversation with the demo bot opened with the session token of "alice"
    When the consumer session's lifetime passes
    And the consumer says "my signed-in orders"
    Then the bot's last message says "you are not signed in any more"
    And the IdP reports the refresh token and the access token of "alice" revoked

  Scenario: A session whose lifetime has passed has its tokens revoked when the platform notices, at the next sign-in
    Given "alice" has signed in on the brand's website
    When the consumer session's lifetime passes
    And "bob" signs in on the brand's website
    Then the platform starts a consumer session for "bob"
    And the IdP reports the refresh token and the access token of "alice" revoked
    And the IdP reports the refresh token of "bob" active

  Scenario: Removing the Consumer Pre-Authentication credential ends the organisation's sessions and revokes their tokens
    Given "alice" has signed in on the brand's website
    When the admin of "demo" force-deletes the credential "brand-sso"
    And a conversation with the demo bot in organisation "demo" is opened with the current session token of "alice"
    Then opening the conversation is refused with 403 "invalid_consumer_session"
    And the IdP reports the refresh token and the access token of "alice" revoked

  Scenario: A revocation endpoint that fails does not keep a session from ending, and its failure is logged without a token
    Given "alice" has signed in on the brand's website
    And a conversation with the demo bot opened with the session token of "alice"
    And the IdP's revocation endpoint answers status 503 to the next 2 requests
    When the brand ends the consumer session of "alice"
    Then ending the session is answered 204
    And the platform keeps no tokens for "alice"
    And the IdP's revocation endpoint has answered those requests
    And the IdP reports the refresh token of "alice" active
    When the consumer says "my signed-in orders"
    Then the bot answers without a link
    And the bot's last message says "you are not signed in any more"
    And the brand API has received no request
    And a log line says that revoking a consumer token failed with "temporarily_unavailable"
    And no log line holds a token the IdP issued to "alice"
