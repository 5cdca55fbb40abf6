@idp @capacity @control
Feature: The IdP holds steady under a long load test
  A load test asks the IdP for tokens as fast as it can, for as long as it
  runs. The IdP keeps a compact record of each code and token it issues,
  forgets the expired ones on its clock, and holds at most a set number of
  them (`standin idp --max-records`, 900,000 by default). At that ceiling
  it never runs out of memory: it forgets expired records first, then the
  records of live JWT access tokens of client credentials (still valid by
  their signature); when every record it holds is one it cannot forget (an
  opaque token is valid only through its record; codes and refresh tokens
  too), it refuses with temporarily_unavailable until one expires.

  The scenarios set a ceiling of a few records and move the IdP's clock
  instead of waiting.

  Background:
    Given the registered bot client

  Rule: Opaque tokens are refused at the ceiling until a record can go

    Scenario: A token request beyond the ceiling is refused with 503 temporarily_unavailable
      Given a load-test client issuing opaque access tokens that last 60 seconds
      And the IdP holds at most 2 codes and tokens
      When the load-test client asks for 3 tokens with client credentials
      Then the load-test client received 2 tokens
      And the token endpoint refuses with 503 "temporarily_unavailable", retry after at most 60 seconds
      And the IdP lists 2 access tokens and reports 1 request refused at the ceiling
      When the bot introspects the first access token
      Then introspection says the token is active

    Scenario: Once a token has expired, its record makes room
      Given a load-test client issuing opaque access tokens that last 60 seconds
      And the IdP holds at most 2 codes and tokens
      When the load-test client asks for 2 tokens with client credentials
      And the IdP's clock moves forward 60 seconds
      And the load-test client asks for 1 token with client credentials
      Then the load-test client received 3 tokens
      And the IdP no longer lists the first access token
      And the IdP lists the latest access token as active

    Scenario: A code exchange beyond the ceiling is refused, and the code can be exchanged later
      Given the IdP holds at most 2 codes and tokens
      When the consumer completes sign-in and consent as the test user
      And the bot exchanges the code
      Then the token endpoint refuses with 503 "temporarily_unavailable", retry after at most 60 seconds
      And the IdP lists the code as unused

    Scenario: An authorization beyond the ceiling is sent back with temporarily_unavailable
      Given a load-test client issuing opaque access tokens that last 60 seconds
      And the IdP holds at most 1 code and token
      When the load-test client asks for 1 token with client credentials
      And the consumer opens the authorization link
      And the consumer signs in as the test user
      And the consumer allows consent
      Then the IdP redirects back with error "temporarily_unavailable"

  Rule: JWT access tokens of client credentials make room and stay valid by their signature

    Scenario: The oldest JWT's record goes; the token still introspects as active
      Given a load-test client issuing JWT access tokens that last 600 seconds
      And the IdP holds at most 2 codes and tokens
      When the load-test client asks for 3 tokens with client credentials
      Then the load-test client received 3 tokens
      And the IdP no longer lists the first access token
      And the IdP reports 1 live record forgotten at the ceiling
      When the bot introspects the first access token
      Then introspection says the token is active

    Scenario: Revoking a JWT whose record went brings the record back, revoked
      Given a load-test client issuing JWT access tokens that last 600 seconds
      And the IdP holds at most 2 codes and tokens
      When the load-test client asks for 3 tokens with client credentials
      And the load-test client revokes the first access token
      Then the IdP confirms the revocation
      And the IdP lists the first access token as revoked
      When the bot introspects the first access token
      Then introspection says the token is inactive

    Scenario: A revoked JWT keeps its record until it expires
      Given a load-test client issuing JWT access tokens that last 600 seconds
      And the IdP holds at most 2 codes and tokens
      When the load-test client asks for 2 tokens with client credentials
      And the load-test client revokes the first access token
      And the load-test client asks for 1 token with client credentials
      Then the load-test client received 3 tokens
      And the IdP lists the first access token as revoked
      And the IdP no longer lists the previous access token

  Rule: Expired records leave memory on the IdP's clock

    The default retention is an hour (`[idp] retain_expired_secs`,
    `standin idp --retain-expired-secs`).

    Scenario: An expired token stays listed for the retention time, then goes
      Given a load-test client issuing opaque access tokens that last 60 seconds
      When the load-test client asks for 1 token with client credentials
      And the IdP's clock moves forward 3600 seconds
      Then the IdP lists the latest access token as expired
      When the IdP's clock moves forward 61 seconds
      Then the IdP no longer lists the latest access token
      And the IdP reports 1 expired record forgotten

    Scenario: Inspection lists the most recent records only
      Given a load-test client issuing opaque access tokens that last 60 seconds
      And the IdP lists at most 2 records of each kind
      When the load-test client asks for 3 tokens with client credentials
      Then the IdP no longer lists the first access token
      And the IdP lists the latest access token as active
      And the IdP reports 3 access tokens issued
