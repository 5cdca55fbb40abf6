@idp @faults @control
Feature: A misbehaving IdP, on purpose
  A brand's IdP will sometimes fail, answer garbage, be slow, or issue an ID
  token that must not be trusted. The mock does each of these on request so
  a platform can prove it notices. These scenarios prove the faults happen
  as asked, for as long as asked, and that the suite's own ID token checks
  catch each defect for the right reason.

  Background:
    Given the registered bot client

  Rule: Failing and garbled answers

    Scenario: The token endpoint fails twice, then works again
      Given the IdP's token endpoint fails 2 times with status 503 and the body '{"error":"temporarily_unavailable"}'
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      Then the answer has status 503 and the body '{"error":"temporarily_unavailable"}'
      When the bot exchanges the code
      Then the answer has status 503 and the body '{"error":"temporarily_unavailable"}'
      When the bot exchanges the code
      Then the token response has an access token and an ID token

    Scenario: The token endpoint answers once with a body that is not JSON
      Given the IdP's token endpoint answers 1 time with a body that is not JSON
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      Then the answer is a 200 whose body is not JSON
      When the bot exchanges the code
      Then the token response has an access token and an ID token

    Scenario: Discovery fails once
      Given the IdP's discovery endpoint fails 1 time with status 500 and the body "down for maintenance"
      When the bot reads the discovery document
      Then the answer has status 500 and the body "down for maintenance"
      When the bot reads the discovery document
      Then the document names the issuer it was fetched from

    Scenario: The JWKS answers once with a body that is not JSON
      Given the IdP's jwks endpoint answers 1 time with a body that is not JSON
      When the bot fetches the JWKS
      Then the answer is a 200 whose body is not JSON
      When the bot fetches the JWKS
      Then the JWKS publishes public keys only, each with its own kid

    Scenario: Userinfo fails once
      Given the IdP's userinfo endpoint fails 1 time with status 502
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot calls userinfo with the access token
      Then the answer has status 502
      When the bot calls userinfo with the access token
      Then userinfo answers with the subject of the ID token

  Rule: Slow answers

    Scenario: A delayed token response still arrives
      Given the IdP's token endpoint answers 1 time after a delay of 400 ms
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      Then the token response has an access token and an ID token
      And the answer took at least 400 ms

    Scenario: A client that waits less than the delay times out
      Given the IdP's token endpoint answers 1 time after a delay of 800 ms
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code giving up after 300 ms
      Then the bot's request times out

  Rule: Each ID token defect fails the check it targets, and only that one

    Scenario: An ID token without a defect passes every check
      Given the authorization link carries a PKCE S256 challenge
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      Then the ID token passes every check

    Scenario Outline: The defect <defect> fails the <check> check
      Given the next ID token the IdP issues has the defect "<defect>"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      Then the token response has an access token and an ID token
      And the ID token fails verification
      And the ID token fails the <check> check and passes the others

      Examples:
        | defect        | check     |
        | wrong_iss     | issuer    |
        | wrong_aud     | audience  |
        | wrong_nonce   | nonce     |
        | expired       | expiry    |
        | bad_signature | signature |

    Scenario: A defect spoils only the next ID token
      Given the next ID token the IdP issues has the defect "wrong_nonce"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      Then the ID token fails the nonce check and passes the others
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      Then the ID token passes every check
