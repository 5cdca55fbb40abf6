@userinfo
Feature: Userinfo names the consumer the ID token names
  The brand API call defaults to the IdP's userinfo endpoint; what it says
  about the consumer must be about the consumer who signed in.

  Scenario: Userinfo's sub is the ID token's
    Rests on: OIDC Core 1.0 section 5.3.2
    Fix: answer userinfo with the sub of the ID token issued with the access token
    Given the gate holds a fresh code
    When the gate exchanges the code
    Then the token endpoint issues tokens
    And userinfo names the same subject as the ID token
