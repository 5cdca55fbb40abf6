@idp @admin @control
Feature: The brand changes its IdP at run time
  Tests add consumers and clients, change a consumer's claims, rotate and
  retire signing keys, and put everything back, without restarting the IdP.
  Each change shows where a bot would see it: at sign-in, at userinfo, in
  the next ID token, in the JWKS. The admin API answers bad input with a 400
  and a JSON error that says what is wrong.

  Background:
    Given the registered bot client

  Rule: Users and claims

    Scenario: A user added at run time can sign in
      Given a user "carol" with password "carol-password"
      And the test user is "carol" with password "carol-password"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      Then the ID token names the subject "carol"
      When the bot calls userinfo with the access token
      Then userinfo answers with the subject of the ID token

    Scenario: Changed and removed claims reach userinfo and the next ID token
      Given a user "dana" with password "dana-password" and these claims:
        | name  | Dana Example     |
        | email | dana@example.com |
      And the test user is "dana" with password "dana-password"
      And the authorization link asks for scope "openid profile email offline_access"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      Then the ID token carries the claim "name" with the value "Dana Example"
      And the ID token carries the claim "email" with the value "dana@example.com"
      When the brand changes the claim "name" of the user "dana" to "Dana Renamed"
      And the brand removes the claim "email" of the user "dana"
      And the bot calls userinfo with the access token
      Then userinfo returns the claim "name" with the value "Dana Renamed"
      And userinfo does not return the claim "email"
      When the bot refreshes the tokens
      Then the ID token carries the claim "name" with the value "Dana Renamed"
      And the ID token does not carry the claim "email"

  Rule: Clients

    Scenario: A client registered for opaque access tokens gets opaque tokens
      Given a registered client "opaque-bot" with secret "opaque-bot-secret" and these settings:
        | access_token_format | opaque |
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      Then the access token is opaque
      And the IdP records the latest access token as opaque
      When the bot calls userinfo with the access token
      Then userinfo answers with the subject of the ID token
      When the bot introspects the access token
      Then introspection says the access token is active for the bot, the consumer and the granted scope

    Scenario Outline: A client registered to sign with <alg>
      Given a registered client "<client>" with secret "<client>-secret" and these settings:
        | signing_alg | <alg> |
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      Then the ID token is signed with "<alg>" by a key the JWKS publishes
      And the ID token passes every check
      And the access token is a JWT signed with "<alg>" by a key the JWKS publishes
      When the bot calls userinfo with the access token
      Then userinfo answers with the subject of the ID token

      Examples:
        | client     | alg   |
        | es256-bot  | ES256 |
        | eddsa-bot  | EdDSA |

  Rule: Signing keys

    Scenario: After a rotation new tokens carry the new key and old ones still work
      Given the authorization link asks for scope "openid profile offline_access"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the IdP rotates its signing key
      And the bot refreshes the tokens
      Then the latest access token is signed with the rotated key
      And the ID token is signed with the rotated key
      And the ID token passes every check
      And the first access token is not signed with the rotated key
      And the JWKS still publishes the key of the first access token
      When the bot calls userinfo with the first access token
      Then userinfo answers with the subject of the ID token

    Scenario: A retired key leaves the JWKS and its tokens stop working
      Given the authorization link asks for scope "openid profile offline_access"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the IdP rotates its signing key
      And the bot refreshes the tokens
      And the IdP retires the key of the first access token
      Then the JWKS no longer publishes the key of the first access token
      When the bot calls userinfo with the first access token
      Then userinfo refuses the token with 401 invalid_token
      When the bot calls userinfo with the latest access token
      Then userinfo answers with the subject of the ID token

    Scenario: The key that signs new tokens cannot be retired
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the brand tries to retire the key of the latest access token
      Then the admin API refuses with 409 and the error "conflict"
      And the JWKS still publishes the key of the latest access token

    Scenario: A key the IdP never had cannot be retired
      When the brand deletes "/keys/kid-the-idp-never-had" through the admin API
      Then the admin API refuses with 404 and the error "not_found"

  Rule: Reset

    Scenario: A reset brings back the default brand
      Given a user "erin" with password "erin-password"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the IdP's clock moves forward 60 seconds
      And the bot calls userinfo with the access token
      Then userinfo answers with the subject of the ID token
      And the IdP lists codes and tokens
      When the IdP is reset
      Then the IdP's clock is back to real time
      And the IdP lists no codes or tokens
      When the bot calls userinfo with the access token
      Then userinfo refuses the token with 401 invalid_token
      When the consumer opens the authorization link with prompt "login"
      And the consumer signs in as "erin" with password "erin-password"
      Then the consumer sees the login form again with an error

  Rule: The admin API explains what it refuses

    Scenario Outline: Bad input is refused with a clear JSON error: <case>
      When the brand posts '<body>' to the admin API at "<path>"
      Then the admin API refuses with 400 and the error "invalid_request"
      And the admin API's error mentions "<mention>"

      Examples:
        | case                               | path              | body                                                             | mention      |
        | a body that is not JSON            | /clock            | {"advance_secs":                                                 | JSON         |
        | an unknown endpoint name           | /faults           | {"endpoint": "nowhere", "fault": {"kind": "malformed_json"}}     | nowhere      |
        | an HTTP status that does not exist | /faults           | {"endpoint": "token", "fault": {"kind": "status", "status": 42}} | 42           |
        | an unknown ID token defect         | /id-token-defects | {"defect": "slightly_off"}                                       | slightly_off |
        | a clock that would go backwards    | /clock            | {"advance_secs": -5}                                             | -5           |

    Scenario: A huge fault or defect count is refused, and nothing is queued
      When the brand posts '{"endpoint": "token", "count": 100000000, "fault": {"kind": "malformed_json"}}' to the admin API at "/faults"
      Then the admin API refuses with 400 and the error "invalid_request"
      And the admin API's error mentions "count"
      When the brand posts '{"defect": "wrong_iss", "count": 100000000}' to the admin API at "/id-token-defects"
      Then the admin API refuses with 400 and the error "invalid_request"
      And the admin API's error mentions "count"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      Then the token response has an access token and an ID token
      And the ID token passes every check
