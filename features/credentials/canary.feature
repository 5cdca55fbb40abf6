Feature: Secrets never leak
  A canary value is put in every secret field of every credential type,
  the credentials are used, and then the vault's files on disk, every log
  line of every party (captured at trace level) and every read of the
  credential API are searched for it. It is found nowhere.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock

  Scenario: A canary in Basic and Access Token credentials is found nowhere
    When the admin of "demo" saves the credential:
      """
      {"type": "basic_authentication", "name": "canary-basic", "username": "u", "password": "canary-5d1e-basic"}
      """
    Then the credential is saved
    When the admin of "demo" saves the credential:
      """
      {"type": "access_token", "name": "canary-token", "token": "canary-5d1e-token", "token_type": "Token"}
      """
    Then the credential is saved
    When the admin of "demo" replaces the credential "canary-basic" with:
      """
      {"password": "canary-5d1e-basic-2"}
      """
    Then the credential API answers 200
    And no vault file, log line or credential read of "demo" holds "canary-5d1e"
