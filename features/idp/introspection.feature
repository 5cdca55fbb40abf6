@idp @introspection
Feature: Token introspection
  A brand's API asks the IdP whether a token it was shown is still good and
  what it grants (RFC 7662). Only an authenticated client may ask. A token
  that is unknown, revoked, expired or forged is simply "not active": the
  answer is 200 with {"active": false} and nothing more (RFC 7662 2.2).

  Background:
    Given the registered bot client
    And the authorization link asks for scope "openid profile offline_access"

  Rule: Only an authenticated client may introspect

    Scenario: A request without client authentication is refused
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot introspects the access token without authenticating
      Then the client is refused as unauthenticated

    Scenario: A wrong client secret in a Basic header gets 401 and a challenge
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot introspects the access token with the client secret "not-the-secret" in a Basic header
      Then the client is refused with 401 and a Basic challenge

    Scenario: A wrong client secret in the request body is refused
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot introspects the access token with the client secret "not-the-secret" in the request body
      Then the client is refused as unauthenticated

    @fixtures
    Scenario: A public client's id alone is not client authentication
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the public client "demo-spa" introspects the access token
      Then the client is refused as unauthenticated
      And the IdP answers 400 with the JSON error "invalid_client"
      And the answer must not be cached

    @fixtures
    Scenario: Without client authentication the mock answers 400 invalid_client, not cached
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot introspects the access token without authenticating
      Then the IdP answers 400 with the JSON error "invalid_client"
      And the answer must not be cached

  Rule: Live tokens are described

    Scenario: An access token is active and says who it is for
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot introspects the access token
      Then introspection says the access token is active for the bot, the consumer and the granted scope

    @refresh_tokens
    Scenario: A refresh token can be introspected too
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot introspects the refresh token
      Then introspection says the refresh token is active for the bot, the consumer and the granted scope

  Rule: Tokens that are not good are inactive, with nothing else said

    Scenario: An unknown token
      When the bot introspects the token "a-token-this-idp-never-issued"
      Then introspection says the token is inactive

    Scenario: A revoked access token
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot revokes the access token
      And the bot introspects the access token
      Then introspection says the token is inactive

    @refresh_tokens
    Scenario: A rotated refresh token
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot refreshes the tokens
      Then the refresh rotated the refresh token
      When the bot introspects the first refresh token
      Then introspection says the token is inactive

    @control
    Scenario: An access token past its lifetime
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the IdP's clock moves past the lifetime of the access token
      And the bot introspects the access token
      Then introspection says the token is inactive

    @control
    Scenario: An access token just before the end of its lifetime is still active
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the IdP's clock moves to 5 seconds before the access token expires
      And the bot introspects the access token
      Then introspection says the access token is active for the bot, the consumer and the granted scope

    @jwt_access_tokens
    Scenario Outline: A forged access token: <forgery>
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot introspects a forgery of the access token: <forgery>
      Then introspection says the token is inactive

      Examples:
        | forgery                                |
        | alg none                               |
        | alg none with the signature kept       |
        | alg None without a kid                 |
        | HMAC signed with the public key        |
        | HMAC signed with the public key in DER |
        | HMAC signed with the public JWK        |
        | unknown kid                            |
        | unknown kid signed by another key      |
        | no kid signed by another key           |
        | published kid signed by another key    |
        | tampered payload                       |
