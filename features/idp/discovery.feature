@idp @discovery
Feature: The IdP describes itself
  A bot configures itself from the IdP's discovery document alone, so the
  document must name the issuer exactly, advertise every endpoint the flows
  need, and those endpoints must exist. The signing keys are published as a
  JWKS, public parts only.

  Scenario: The discovery document names the issuer and the endpoints
    When the bot reads the discovery document
    Then the document names the issuer it was fetched from
    And the document has these members:
      | issuer                                |
      | authorization_endpoint                |
      | token_endpoint                        |
      | jwks_uri                              |
      | response_types_supported              |
      | subject_types_supported               |
      | id_token_signing_alg_values_supported |
    And the document lists "code" in "response_types_supported"
    And the document lists "authorization_code" in "grant_types_supported"

  Scenario: PKCE S256 and the iss response parameter are advertised
    When the bot reads the discovery document
    Then the document lists "S256" in "code_challenge_methods_supported"
    And the document sets "authorization_response_iss_parameter_supported" to true

  @fixtures
  Scenario: The mock advertises everything it implements
    When the bot reads the discovery document
    Then the document has these members:
      | userinfo_endpoint                             |
      | introspection_endpoint                        |
      | revocation_endpoint                           |
      | token_endpoint_auth_methods_supported         |
      | scopes_supported                              |
      | claims_supported                              |
      | prompt_values_supported                       |
      | introspection_endpoint_auth_methods_supported |
    And the document lists "refresh_token" in "grant_types_supported"
    And the document lists "client_credentials" in "grant_types_supported"
    And the document lists "urn:ietf:params:oauth:grant-type:jwt-bearer" in "grant_types_supported"
    And the document lists "urn:ibm:params:oauth:grant-type:apikey" in "grant_types_supported"
    And the document does not list "none" in "introspection_endpoint_auth_methods_supported"
    And the document lists "client_secret_basic" in "token_endpoint_auth_methods_supported"
    And the document lists "RS256" in "id_token_signing_alg_values_supported"
    And the document lists "public" in "subject_types_supported"

  @fixtures
  Scenario: The OAuth authorization server metadata agrees with discovery
    When the bot reads the OAuth authorization server metadata
    Then the document names the issuer it was fetched from
    And the document lists "code" in "response_types_supported"

  Scenario: Every advertised endpoint exists
    Then every endpoint the discovery document advertises answers without a server error

  Scenario: The JWKS publishes public keys with distinct key ids
    When the bot fetches the JWKS
    Then the JWKS publishes public keys only, each with its own kid

  @control
  Scenario: A rotated key is published next to the old one
    When the IdP rotates its signing key
    And the bot fetches the JWKS
    Then the JWKS publishes the rotated key
    And the JWKS publishes public keys only, each with its own kid
