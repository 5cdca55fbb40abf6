@token_management
Feature: Tokens can be revoked and introspected where the IdP says so
  The platform revokes what a consumer session leaves behind (RFC 7009),
  and a brand API may check opaque tokens by introspection (RFC 7662).
  Each check runs only when discovery advertises its endpoint.

  @revocation
  Scenario: A revoked access token is no longer accepted
    Rests on: RFC 7009 sections 2.1 and 2.2
    Fix: answer revocation with HTTP 200 and stop accepting the token (at userinfo and introspection)
    Given the gate holds a fresh code
    When the gate exchanges the code
    Then the token endpoint issues tokens
    When the gate revokes the access token
    Then the revocation endpoint confirms it
    And userinfo no longer accepts the access token

  @introspection
  Scenario: Introspection says an issued access token is active, for this client
    Rests on: RFC 7662 sections 2.1 and 2.2
    Fix: answer introspection of a valid token with active true and the token's client_id, sub and scope
    Given the gate holds a fresh code
    When the gate exchanges the code
    Then the token endpoint issues tokens
    And introspection says the access token is active for the profile's client
