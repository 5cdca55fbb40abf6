@idp @userinfo
Feature: The userinfo endpoint
  The access token from a code exchange reads the consumer's claims at
  userinfo, for the same subject as the ID token (OIDC Core 5.3). The scope
  decides which claims come back (OIDC Core 5.4). The token goes in the
  Authorization header or, with POST, in the form body, never both
  (RFC 6750 2). A missing token is asked for; a token the IdP did not issue,
  or no longer honours, is refused with a Bearer challenge (RFC 6750 3).

  Background:
    Given the registered bot client

  Scenario: The access token reads the claims of the ID token's subject
    When the consumer completes sign-in and consent as the test user
    And the bot exchanges the code
    And the bot calls userinfo with the access token
    Then userinfo answers with the subject of the ID token

  Scenario: A token the IdP did not issue is refused
    When the bot calls userinfo with the access token "not-a-token-this-idp-issued"
    Then userinfo refuses the token with 401 invalid_token

  Rule: GET and POST, the token in one place only

    Scenario: POST with the token in the Authorization header
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot calls userinfo with POST and the access token in the Authorization header
      Then userinfo answers with the subject of the ID token

    Scenario: POST with the token in the form body
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot calls userinfo with POST and the access token in the form body
      Then userinfo answers with the subject of the ID token

    Scenario: The token both in the header and in the body is refused
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot calls userinfo with the access token both in the header and in the form body
      Then userinfo refuses the request with 400 invalid_request

    Scenario: Without a token, userinfo asks for one and names no error
      When the bot calls userinfo without an access token
      Then userinfo asks for a token with a Bearer challenge and no error code

  Rule: The scope decides what userinfo releases

    Scenario: A token without the openid scope may not read userinfo
      Given the authorization link asks for scope "profile"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot calls userinfo with the access token
      Then userinfo refuses the token with 403 insufficient_scope

    @fixtures
    Scenario: The email scope releases the email address but not the name
      Given the authorization link asks for scope "openid email"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot calls userinfo with the access token
      Then userinfo returns the claim "email" with the value "alice@example.com"
      And userinfo returns the claim "email_verified"
      And userinfo does not return the claim "name"
      And userinfo does not return the claim "given_name"

    @fixtures
    Scenario: The profile scope releases the name but not the email address
      Given the authorization link asks for scope "openid profile"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot calls userinfo with the access token
      Then userinfo returns the claim "name" with the value "Alice Example"
      And userinfo does not return the claim "email"

    @control @fixtures
    Scenario: Claims changed by the brand show up at once
      Given the authorization link asks for scope "openid profile email"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the brand changes the claim "name" of the user "alice" to "Alice Renamed"
      And the brand removes the claim "email" of the user "alice"
      And the bot calls userinfo with the access token
      Then userinfo returns the claim "name" with the value "Alice Renamed"
      And userinfo does not return the claim "email"

  Rule: Tokens that are no longer good, or were never issued, are refused

    @control
    Scenario: An access token past its lifetime is refused
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the IdP's clock moves past the lifetime of the access token
      And the bot calls userinfo with the access token
      Then userinfo refuses the token with 401 invalid_token

    @jwt_access_tokens
    Scenario Outline: A forged access token is refused: <forgery>
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the bot calls userinfo with a forgery of the access token: <forgery>
      Then userinfo refuses the token with 401 invalid_token

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
