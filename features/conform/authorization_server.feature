@authorization_server
Feature: The IdP enforces what keeps codes safe
  The gate acts as the client itself here: it asks for its own codes with
  the profile's client and redirect URI, then presents them the ways an
  attacker would.

  Scenario: A code works once
    Rests on: RFC 6749 section 4.1.2, RFC 9700 section 4.5
    Fix: refuse a code presented a second time with invalid_grant (and revoke what it issued)
    Given the gate holds a fresh code
    When the gate exchanges the code
    Then the token endpoint issues tokens
    When the gate exchanges the same code again
    Then the token endpoint refuses it with "invalid_grant"

  Scenario: A wrong PKCE verifier is refused
    Rests on: RFC 7636 section 4.6, RFC 9700 section 2.1.1
    Fix: compare the code_verifier with the code_challenge of the authorization request, and refuse a mismatch with invalid_grant
    Given the gate holds a fresh code
    When the gate exchanges the code with another PKCE verifier
    Then the token endpoint refuses it with "invalid_grant"

  Scenario: A missing PKCE verifier is refused
    Rests on: RFC 7636 section 4.6, RFC 9700 section 2.1.1
    Fix: refuse a code whose authorization request had a code_challenge when no code_verifier comes with it
    Given the gate holds a fresh code
    When the gate exchanges the code without a PKCE verifier
    Then the token endpoint refuses it with "invalid_grant" or "invalid_request"

  Scenario: A code is bound to its redirect URI
    Rests on: RFC 6749 section 4.1.3
    Fix: refuse a code exchange whose redirect_uri differs from the authorization request's
    Given the gate holds a fresh code
    When the gate exchanges the code with another redirect URI
    Then the token endpoint refuses it with "invalid_grant"

  Scenario Outline: A redirect URI that is not exactly the registered one gets no code (<variant>)
    Rests on: RFC 9700 sections 2.1 and 4.1.3, RFC 6749 section 3.1.2.4
    Fix: compare redirect URIs by exact string match with the registered ones, and show an error page instead of redirecting
    When the gate asks for a code with the registered redirect URI <variant>
    Then the IdP does not redirect there with a code

    Examples:
      | variant              |
      | with a path appended |
      | on another port      |
      | with a query added   |

  @other_client
  Scenario: A code is bound to its client
    Rests on: RFC 6749 sections 4.1.3 and 10.5
    Fix: refuse a code presented by another client than the one it was issued to (invalid_grant)
    Given the gate holds a fresh code
    When another client of the IdP exchanges the code
    Then the token endpoint refuses it with "invalid_grant" or "unauthorized_client"

  Scenario: A wrong client secret is refused
    Rests on: RFC 6749 section 5.2
    Fix: answer a failed client authentication with invalid_client, HTTP 401 and a WWW-Authenticate header when the client used Basic
    Given the gate holds a fresh code
    When the gate exchanges the code with a wrong client secret
    Then the token endpoint refuses the client with "invalid_client"
