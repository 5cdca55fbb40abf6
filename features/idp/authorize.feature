@idp @authorize
Feature: The authorization endpoint
  The consumer opens the bot's authorization link, signs in on the IdP's
  page, consents, and is sent back to the bot with a code. Before the IdP
  sends the consumer anywhere it checks the client and the exact redirect
  URI; when those are wrong it shows its own error page (RFC 6749 4.1.2.1).
  Every other error goes back to the client, with the state and the issuer
  (RFC 9207).

  Background:
    Given the registered bot client

  Scenario: Sign-in and consent lead back to the bot with a code
    When the consumer opens the authorization link with scope "openid profile" and a PKCE S256 challenge
    Then the consumer sees the login form
    When the consumer signs in as the test user
    And the consumer allows consent if asked
    Then the IdP redirects back with a code and the same state and iss equal to the issuer

  @fixtures
  Scenario: The default brand asks alice for consent
    When the consumer opens the authorization link with scope "openid profile" and a PKCE S256 challenge
    And the consumer signs in as "alice" with password "alice-password"
    Then the consumer sees the consent page
    When the consumer allows consent
    Then the IdP redirects back with a code and the same state and iss equal to the issuer

  Scenario: Unknown request parameters are ignored
    Given the authorization link carries the parameter "standin_unknown" with value "whatever"
    When the consumer completes sign-in and consent as the test user
    Then the IdP redirects back with a code and the same state

  @post_authorization
  Scenario: The authorization request may be sent as a POST form
    When the consumer's browser posts the authorization request as a form
    Then the consumer sees the login form
    When the consumer signs in as the test user
    And the consumer allows consent if asked
    Then the IdP redirects back with a code and the same state and iss equal to the issuer

  Rule: A wrong client or redirect URI never redirects

    Scenario: Unknown client
      Given the authorization link names the client "no-such-client"
      When the consumer opens the authorization link
      Then the IdP shows its own error page and does not redirect
      And no code was issued

    @fixtures
    Scenario: Unknown client, the mock's error code
      Given the authorization link names the client "no-such-client"
      When the consumer opens the authorization link
      Then the IdP shows its own error page with "invalid_client" and does not redirect

    Scenario: Unregistered redirect URI
      Given the authorization link uses the redirect URI "https://attacker.example/callback"
      When the consumer opens the authorization link
      Then the IdP shows its own error page and does not redirect

    Scenario Outline: A redirect URI that is not exactly the registered one: <variant>
      Given the authorization link uses the registered redirect URI with "<suffix>" appended
      When the consumer opens the authorization link
      Then the IdP shows its own error page and does not redirect
      And no code was issued

      Examples:
        | variant          | suffix                  |
        | longer path      | /extra                  |
        | prefix match     | .attacker.example       |
        | extra query      | ?next=https://evil.test |
        | fragment         | #fragment               |
        | encoded slash    | %2F..%2Fother           |
        | trailing slash   | /                       |

    Scenario: Redirect URI with a different case
      Given the authorization link uses the registered redirect URI with its path in upper case
      When the consumer opens the authorization link
      Then the IdP shows its own error page and does not redirect

    Scenario: Redirect URI on another port
      Given the authorization link uses the registered redirect URI on another port
      When the consumer opens the authorization link
      Then the IdP shows its own error page and does not redirect

    @control
    Scenario: Redirect URI whose registered query was changed
      Given a registered client "query-bot" with secret "query-bot-secret" and redirect URI "http://127.0.0.1:8400/demo/callback?tenant=acme"
      And the authorization link uses the redirect URI "http://127.0.0.1:8400/demo/callback?tenant=other"
      When the consumer opens the authorization link
      Then the IdP shows its own error page and does not redirect

    @control
    Scenario: The registered query is kept exactly
      Given a registered client "query-bot" with secret "query-bot-secret" and redirect URI "http://127.0.0.1:8400/demo/callback?tenant=acme"
      When the consumer completes sign-in and consent as the test user
      Then the IdP redirects back with a code and the same state and iss equal to the issuer

    @fixtures
    Scenario: A client with several redirect URIs must name one
      Given the authorization link has no redirect URI
      When the consumer opens the authorization link
      Then the IdP shows its own error page and does not redirect

    @fixtures
    Scenario: Repeated client_id
      Given the authorization link repeats the "client_id" parameter
      When the consumer opens the authorization link
      Then the IdP shows its own error page with "invalid_request" and does not redirect

    @fixtures
    Scenario: Repeated redirect_uri
      Given the authorization link repeats the "redirect_uri" parameter
      When the consumer opens the authorization link
      Then the IdP shows its own error page with "invalid_request" and does not redirect

  Rule: Other errors go back to the client with state and iss

    Scenario: Missing response_type
      Given the authorization link has no response_type
      When the consumer opens the authorization link
      Then the IdP redirects back with error "invalid_request"

    Scenario: Unknown response_type
      Given the authorization link has response_type "token"
      When the consumer opens the authorization link
      Then the IdP redirects back with error "unsupported_response_type"

    Scenario: Repeated scope
      Given the authorization link repeats the "scope" parameter
      When the consumer opens the authorization link
      Then the IdP redirects back with error "invalid_request"

    Scenario: Repeated state
      Given the authorization link repeats the "state" parameter
      When the consumer opens the authorization link
      Then the IdP redirects back with error "invalid_request"

    # RFC 6749 3.1: no request parameter more than once, whichever it is.
    Scenario Outline: <parameter> twice, with two values
      Given the authorization link carries the parameter "<parameter>" twice, as "<first>" and "<second>"
      When the consumer opens the authorization link
      Then the IdP redirects back with error "invalid_request"

      Examples:
        | parameter     | first | second   |
        | response_mode | query | fragment |
        | prompt        | login | consent  |
        | max_age       | 0     | 600      |
        | login_hint    | alice | bob      |
        | ui_locales    | en    | fr       |

    Scenario: The consumer refuses consent
      Given the authorization link asks for prompt "consent"
      When the consumer opens the authorization link
      And the consumer signs in as the test user
      And the consumer denies consent
      Then the IdP redirects back with error "access_denied"

  Rule: PKCE protects public clients

    @fixtures
    Scenario: A public client with an S256 challenge gets a code
      Given the public client "demo-spa"
      When the consumer opens the authorization link with a PKCE S256 challenge
      And the consumer signs in as the test user
      And the consumer allows consent if asked
      Then the IdP redirects back with a code and the same state and iss equal to the issuer

    @fixtures
    Scenario: A public client may not use the plain method
      Given the public client "demo-spa"
      When the consumer opens the authorization link with a PKCE plain challenge
      Then the IdP redirects back with error "invalid_request"
      And no code was issued

    @fixtures
    Scenario: A public client must send a challenge
      Given the public client "demo-spa"
      And the authorization link carries no PKCE challenge
      When the consumer opens the authorization link
      Then the IdP redirects back with error "invalid_request"
      And no code was issued

  Rule: Sessions and prompts (OIDC Core 3.1.2.1)

    @fixtures
    Scenario: prompt=none without a session
      Given the public client "demo-spa"
      And the authorization link carries a PKCE S256 challenge
      When the consumer opens the authorization link with prompt "none"
      Then the IdP redirects back with error "login_required"

    @fixtures
    Scenario: prompt=none with a session
      Given the public client "demo-spa"
      And the authorization link carries a PKCE S256 challenge
      And the consumer has signed in as the test user
      And the authorization link carries a PKCE S256 challenge
      When the consumer opens the authorization link with prompt "none"
      Then the IdP redirects back with a code and the same state and iss equal to the issuer

    Scenario: A session spares the consumer a second login
      Given the consumer has signed in as the test user
      When the consumer opens the authorization link
      Then the consumer does not see the login form

    Scenario: prompt=consent asks for consent again
      Given the consumer has signed in as the test user
      When the consumer opens the authorization link with prompt "consent"
      Then the consumer does not see the login form
      And the consumer sees the consent page

    Scenario: max_age=0 forces the login form despite a session
      Given the consumer has signed in as the test user
      And the authorization link asks for max_age 0
      When the consumer opens the authorization link
      Then the consumer sees the login form

    @control
    Scenario: An older session than max_age allows means a new login
      Given the consumer has signed in as the test user
      And the authorization link asks for max_age 60
      When the IdP's clock moves forward 120 seconds
      And the consumer opens the authorization link
      Then the consumer sees the login form

    Scenario: A session younger than max_age is reused
      Given the consumer has signed in as the test user
      And the authorization link asks for max_age 3600
      When the consumer opens the authorization link
      Then the consumer does not see the login form

    Scenario: prompt=login forces the login form despite a session
      Given the consumer has signed in as the test user
      When the consumer opens the authorization link with prompt "login"
      Then the consumer sees the login form

    Scenario: login_hint prefills the username
      Given the authorization link carries the login hint "someone@example.com"
      When the consumer opens the authorization link
      Then the login form is prefilled with "someone@example.com"

  Rule: The login page

    Scenario: A wrong password shows the form again and issues no code
      When the consumer opens the authorization link
      And the consumer signs in as the test user with a wrong password
      Then the consumer sees the login form again with an error
      And no code was issued

    Scenario: The login page cannot be framed by another site
      When the consumer opens the authorization link
      Then the login page forbids framing by other sites
