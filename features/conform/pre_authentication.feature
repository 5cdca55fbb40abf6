@pre_authentication
Feature: Consumer Pre-Authentication: the consumer signed in on the brand's side
  Where the profile's [flows] enable it, the gate signs the test user in
  as the brand's website would, hands the code to the platform, and opens
  the consumer's authenticated conversation with the session handle. The
  platform keeps the consumer's tokens and refreshes the access token when
  it expires (source document 004), so the IdP must issue a refresh token
  to the client.

  Background:
    Given the consumer has signed in on the brand's side and the platform holds the session

  Scenario: The pre-authenticated consumer's token serves the brand API
    Rests on: source document 004 (Consumer Pre-Authentication), RFC 6750 section 2.1
    Fix: issue an access token the brand API accepts to a code exchanged by the platform with its own client
    When the consumer asks in the authenticated conversation
    Then the platform called the brand API with the session's token and got the expected status

  Scenario: An expired access token is refreshed, and the answer still comes
    Rests on: RFC 6749 section 6, source document 004
    Fix: issue a refresh token with the code (offline_access, if the IdP asks for it) and honour it at the token endpoint
    When the consumer asks in the authenticated conversation
    And the platform's clock moves past the session's access token expiry
    And the consumer asks in the authenticated conversation
    Then the platform refreshed the access token once
    And the platform called the brand API with the session's token and got the expected status
