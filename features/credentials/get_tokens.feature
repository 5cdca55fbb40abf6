Feature: The Get Tokens API
  A brand's service reads the current tokens of a pre-authenticated
  consumer. It gets a bearer token from the platform's own token endpoint
  with the OAuth 2.0 client credentials grant (RFC 6749 4.4), then calls
  GET /api/account/{account}/consumer/{consumerId}/brand/tokens with it
  (RFC 6750). The token needs the scope delegated.token.read.external and
  belongs to one account. An expired access token is refreshed first; the
  refresh token stays with the platform.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And the organisation "demo" has the Consumer Pre-Authentication credential "brand-sso"

  Scenario: Each consumer's tokens open that consumer's data at the brand API (200)
    Given "alice" has signed in on the brand's website
    And "bob" has signed in on the brand's website
    And the brand service "orders-service" has a token from the platform
    When the brand service "orders-service" reads the tokens of "alice"
    Then the Get Tokens API answers 200 with the tokens of "alice"
    And the answer may not be cached
    And with the access token read for "alice" the brand API shows the profile of "Alice Example"
    When the brand service "orders-service" reads the tokens of "bob"
    Then the Get Tokens API answers 200 with the tokens of "bob"
    And with the access token read for "bob" the brand API shows the profile of "Bob Example"

  Scenario: An expired access token is refreshed before it is returned
    Given "alice" has signed in on the brand's website
    And the brand service "orders-service" has a token from the platform
    When the brand service "orders-service" reads the tokens of "alice"
    And the shared clock moves forward 301 seconds
    And the brand service "orders-service" reads the tokens of "alice"
    Then the Get Tokens API answers 200 with the tokens of "alice"
    And the access token read differs from the one read before
    And the IdP refreshed the consumer's tokens 1 time

  Scenario: Concurrent reads of an expired access token make one refresh
    Given "alice" has signed in on the brand's website
    And the brand service "orders-service" has a token from the platform
    And the shared clock moves forward 301 seconds
    And the IdP's token endpoint answers 300 ms late once
    When the brand service "orders-service" reads the tokens of "alice" 5 times at the same moment
    Then all 5 answers are 200 with the same access token
    And the IdP refreshed the consumer's tokens 1 time

  Scenario Outline: The platform's token endpoint follows RFC 6749 (<request>)
    When the brand service "orders-service" sends a token request <request>
    Then the token endpoint answers <status> "<error>"

    Examples:
      | request                                    | status | error                  |
      | authenticated by client_secret_basic       | 200    |                        |
      | authenticated by client_secret_post        | 200    |                        |
      | with a wrong secret by client_secret_basic | 401    | invalid_client         |
      | with a wrong secret by client_secret_post  | 401    | invalid_client         |
      | from an unknown client                     | 401    | invalid_client         |
      | without client authentication              | 401    | invalid_client         |
      | authenticated by both methods              | 400    | invalid_request        |
      | for the password grant                     | 400    | unsupported_grant_type |
      | without a grant type                       | 400    | invalid_request        |
      | with a repeated grant type                 | 400    | invalid_request        |
      | for a scope it may not have                | 400    | invalid_scope          |
      | with a JSON body                           | 400    | invalid_request        |

  Scenario: Without a valid bearer token nothing is read (401)
    Given "alice" has signed in on the brand's website
    And the brand service "orders-service" has a token from the platform
    When a caller reads the tokens of "alice" without a token
    Then the Get Tokens API answers 401 "unauthorized"
    And the answer challenges with 'realm="standin-platform"'
    And the challenge carries no error code
    When a caller reads the tokens of "alice" with Basic credentials of "orders-service"
    Then the Get Tokens API answers 401 "unauthorized"
    And the challenge carries no error code
    When a caller reads the tokens of "alice" with the bearer token "not-a-token-the-platform-issued"
    Then the Get Tokens API answers 401 "invalid_token"
    And the answer challenges with 'error="invalid_token"'
    When the shared clock moves forward 601 seconds
    And the brand service "orders-service" reads the tokens of "alice"
    Then the Get Tokens API answers 401 "invalid_token"
    And the answer challenges with 'error="invalid_token"'
    And the answer says "expired"

  Scenario: A token without the scope is refused (403)
    Given "alice" has signed in on the brand's website
    And the brand service "reports-service" has a token from the platform
    When the brand service "reports-service" reads the tokens of "alice"
    Then the Get Tokens API answers 403 "insufficient_scope"
    And the answer challenges with 'error="insufficient_scope", scope="delegated.token.read.external"'

  Scenario: A token of another account's service is refused (403)
    Given "alice" has signed in on the brand's website
    And the brand service "orders-service" has a token from the platform
    And the brand service "other-service" has a token from the platform
    When the brand service "orders-service" reads the tokens of "alice" in account "other"
    Then the Get Tokens API answers 403 "access_denied"
    When the brand service "other-service" reads the tokens of "alice"
    Then the Get Tokens API answers 403 "access_denied"

  Scenario Outline: A malformed consumer id is refused (400)
    Given the brand service "orders-service" has a token from the platform
    When the brand service "orders-service" reads the tokens of the consumer id "<id>"
    Then the Get Tokens API answers 400 "invalid_request"

    Examples:
      | id          |
      | alice smith |
      | a/b         |
      | café        |
      | x;y         |

  Scenario: A consumer id longer than an ID token's sub may be is refused (400)
    Given the brand service "orders-service" has a token from the platform
    When the brand service "orders-service" reads the tokens of a consumer id of 256 characters
    Then the Get Tokens API answers 400 "invalid_request"

  Scenario: No tokens for a consumer who never signed in, or whose session was ended (404)
    Given "alice" has signed in on the brand's website
    And the brand service "orders-service" has a token from the platform
    When the brand service "orders-service" reads the tokens of "bob"
    Then the Get Tokens API answers 404 "not_found"
    When the brand ends the consumer session of "alice"
    And the brand service "orders-service" reads the tokens of "alice"
    Then the Get Tokens API answers 404 "not_found"
    And no refresh token was presented to the IdP but to revoke it

  Scenario: No tokens once the consumer session's lifetime has passed (404)
    Given "alice" has signed in on the brand's website
    When the consumer session's lifetime passes
    And the brand service "orders-service" gets a token from the platform
    And the brand service "orders-service" reads the tokens of "alice"
    Then the Get Tokens API answers 404 "not_found"
    And no refresh token was presented to the IdP but to revoke it
