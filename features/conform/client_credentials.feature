@client_credentials
Feature: The client credentials grant
  Where the profile's [flows] enable it, the platform's client obtains a
  token for itself, as the OAuth 2.0 credential of that name does in the
  vault (source document 004).

  Scenario: The client credentials grant issues a bearer token
    Rests on: RFC 6749 sections 4.4.2, 4.4.3 and 5.1
    Fix: allow the client_credentials grant for this client and answer with access_token, token_type Bearer and expires_in, without a refresh token
    When the gate asks for a token with the client credentials grant
    Then the token endpoint issues tokens
    And the token response carries no refresh token
