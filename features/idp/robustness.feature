@idp @robustness
Feature: The IdP stays calm under malformed requests
  Wrong methods, wrong content types, broken encodings, oversized bodies,
  unknown paths and forged form posts all get a clear 4xx answer, never a
  server error and never a code. What the consumer typed or the link
  carried is shown back as text, never as markup.

  Background:
    Given the registered bot client

  Rule: The token endpoint

    @fixtures
    Scenario Outline: The token endpoint only accepts POST: <method>
      When the bot sends a <method> request to the token endpoint
      Then the IdP answers 405 with the JSON error "invalid_request"
      And the answer lists POST as the allowed method

      Examples:
        | method |
        | GET    |
        | PUT    |
        | DELETE |
        | PATCH  |

    Scenario: A token request sent as JSON instead of a form
      When the bot sends its token request as JSON instead of a form
      Then the token endpoint refuses with "invalid_request"

    Scenario: A token request whose body is not valid UTF-8
      When the bot sends a token request whose body is not valid UTF-8
      Then the token endpoint refuses with "invalid_request"

    Scenario: A token request of 100 KB is refused as too large
      When the bot sends a token request of 100 KB
      Then the token endpoint refuses the request as too large, with a JSON error

    @fixtures
    Scenario: The mock refuses an oversized token request as invalid_request, not cached
      When the bot sends a token request of 100 KB
      Then the token endpoint refuses with "invalid_request"
      And the token response must not be cached

    @fixtures
    Scenario: An unknown path
      When the bot requests "/no/such/endpoint" from the IdP
      Then the IdP answers 404 with a JSON error

  Rule: Login and consent forms cannot be posted by another site

    Scenario: A login form posted without the IdP's cookie
      When the consumer opens the authorization link
      And the login form is posted from another site, without the IdP's cookie
      Then the IdP shows its own error page and does not redirect
      And no code was issued

    Scenario: A login form posted with a wrong CSRF token
      When the consumer opens the authorization link
      And the consumer's browser posts the login form with a wrong CSRF token
      Then the IdP shows its own error page and does not redirect
      And no code was issued

    Scenario: A consent form posted without the IdP's cookie
      Given the authorization link asks for prompt "consent"
      When the consumer opens the authorization link
      And the consumer signs in as the test user
      And the consent form is posted from another site, without the IdP's cookie
      Then the IdP shows its own error page and does not redirect
      And no code was issued

    Scenario: A consent form posted with a wrong CSRF token
      Given the authorization link asks for prompt "consent"
      When the consumer opens the authorization link
      And the consumer signs in as the test user
      And the consumer's browser posts the consent form with a wrong CSRF token
      Then the IdP shows its own error page and does not redirect
      And no code was issued

    @fixtures
    Scenario: The IdP's own error page names the CSRF failure
      When the consumer opens the authorization link
      And the consumer's browser posts the login form with a wrong CSRF token
      Then the IdP shows its own error page with "invalid_request" and does not redirect

  Rule: Reflected input is escaped

    Scenario: A login hint with markup is shown as text
      Given the authorization link carries the login hint '"><script>alert(1)</script><b x="'
      When the consumer opens the authorization link
      Then the login page shows the login hint '"><script>alert(1)</script><b x="' as text, not as markup
