@idp @expiry @control
Feature: Everything the IdP issues expires
  Codes, access tokens, refresh tokens, login sessions and the login form
  itself each have a lifetime. The scenarios move the IdP's clock instead of
  waiting, and check both sides of each limit: just before it, things still
  work; just after it, they are refused.

  Background:
    Given the registered bot client

  Rule: Authorization codes last a minute

    Scenario: A code is still good just before its minute is up
      When the consumer completes sign-in and consent as the test user
      And the IdP's clock moves forward 55 seconds
      And the bot exchanges the code
      Then the token response has an access token and an ID token

    @fixtures
    Scenario: A code is refused once its minute is up
      When the consumer completes sign-in and consent as the test user
      And the IdP's clock moves forward 61 seconds
      And the bot exchanges the code
      Then the token endpoint refuses with "invalid_grant"
      And the IdP lists the code as expired

  Rule: Access tokens and refresh tokens expire

    Scenario: An access token still works just before it expires
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the IdP's clock moves to 5 seconds before the access token expires
      And the bot calls userinfo with the access token
      Then userinfo answers with the subject of the ID token
      And the IdP lists the latest access token as active

    Scenario: An expired access token is refused at userinfo
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the IdP's clock moves past the lifetime of the access token
      And the bot calls userinfo with the access token
      Then userinfo refuses the token with 401 invalid_token
      And the IdP lists the latest access token as expired

    Scenario: An expired access token can still be renewed with the refresh token
      Given the authorization link asks for scope "openid profile offline_access"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the IdP's clock moves past the lifetime of the access token
      And the bot refreshes the tokens
      Then the token response has an access token, an ID token and a refresh token
      When the bot calls userinfo with the access token
      Then userinfo answers with the subject of the ID token

    Scenario: An expired refresh token is refused
      Given the authorization link asks for scope "openid profile offline_access"
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      And the IdP's clock moves past the lifetime of the refresh token
      And the bot refreshes the tokens
      Then the token endpoint refuses with "invalid_grant"
      And the IdP lists the latest refresh token as expired

  Rule: The login session lasts eight hours

    @fixtures
    Scenario: Within its eight hours the session still spares a login
      Given the consumer has signed in as the test user
      When the IdP's clock moves forward 28000 seconds
      And the consumer opens the authorization link with prompt "none"
      Then the IdP redirects back with a code and the same state and iss equal to the issuer

    @fixtures
    Scenario: After eight hours prompt=none finds no session
      Given the consumer has signed in as the test user
      When the IdP's clock moves forward 28801 seconds
      And the consumer opens the authorization link with prompt "none"
      Then the IdP redirects back with error "login_required"
      And no code was issued

  Rule: Login and consent forms last ten minutes

    @fixtures
    Scenario: A login form used within ten minutes works
      When the consumer opens the authorization link
      And the IdP's clock moves forward 590 seconds
      And the consumer signs in as the test user
      Then the consumer sees the consent page

    @fixtures
    Scenario: A login form left open too long cannot be used
      When the consumer opens the authorization link
      Then the consumer sees the login form
      When the IdP's clock moves forward 601 seconds
      And the consumer signs in as the test user
      Then the IdP shows its own error page with "invalid_request" and does not redirect
      And no code was issued

    @fixtures
    Scenario: A consent form left open too long cannot be used
      When the consumer opens the authorization link
      And the consumer signs in as the test user
      Then the consumer sees the consent page
      When the IdP's clock moves forward 601 seconds
      And the consumer allows consent
      Then the IdP shows its own error page with "invalid_request" and does not redirect
      And no code was issued
