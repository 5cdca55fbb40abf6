Feature: The credential vault
  Credentials belong to an organisation. They are validated when saved,
  each fault with its own error; reads never show a secret; one
  organisation never sees another's; a credential an integration uses is
  not deleted unless the deletion is forced.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock

  Scenario: A Basic Authentication credential is saved and read back redacted
    When the admin of "demo" saves the credential:
      """
      {"type": "basic_authentication", "name": "api-basic", "username": "orders-bot", "password": "canary-basic-pw"}
      """
    Then the credential is saved
    And the answer shows "type" as "basic_authentication"
    And the answer shows "username" as "orders-bot"
    And the answer shows "password" as "[redacted]"
    And no credential read of "demo" shows "canary-basic-pw"

  Scenario: Every fault of a Basic Authentication credential has its own error
    When the admin of "demo" saves the credential:
      """
      {"type": "basic_authentication", "name": ""}
      """
    Then the save is refused with exactly these errors:
      | field    | code    |
      | name     | missing |
      | username | missing |
      | password | missing |
    When the admin of "demo" saves the credential:
      """
      {"type": "basic_authentication", "name": "b", "username": "a:b", "password": "x"}
      """
    Then the save is refused: "colon" on "username"

  Scenario: An Access Token credential keeps its free-text type and hides its token
    When the admin of "demo" saves the credential:
      """
      {"type": "access_token", "name": "api-token", "token": "canary-static-token", "token_type": "Token"}
      """
    Then the credential is saved
    And the answer shows "token_type" as "Token"
    And the answer shows "token" as "[redacted]"
    And no credential read of "demo" shows "canary-static-token"

  Scenario: Every fault of an Access Token credential has its own error
    When the admin of "demo" saves the credential:
      """
      {"type": "access_token", "name": "t"}
      """
    Then the save is refused with exactly these errors:
      | field      | code    |
      | token_type | missing |
      | token      | missing |
    When the admin of "demo" saves the credential:
      """
      {"type": "access_token", "name": "t", "token": "a b", "token_type": "My Type"}
      """
    Then the save is refused with exactly these errors:
      | field      | code    |
      | token_type | invalid |
      | token      | invalid |

  Scenario: A body that is not a credential is refused clearly
    When the admin of "demo" saves the credential:
      """
      {"type": "kerberos", "name": "k"}
      """
    Then the save is refused: "unknown" on "type"
    When the admin of "demo" saves the credential:
      """
      {"name": "k"}
      """
    Then the save is refused: "missing" on "type"
    When the admin of "demo" saves the credential:
      """
      [1, 2]
      """
    Then the save is refused: "not_an_object" on "body"
    When the admin of "demo" saves the credential:
      """
      {"type": "basic_authentication", "name": "b", "username": "u", "password": "p", "colour": "red"}
      """
    Then the save is refused: "invalid_field" on "body"

  Scenario: Names are unique within an organisation, not across organisations
    When the admin of "demo" saves the credential:
      """
      {"type": "access_token", "name": "shared-name", "token": "t1", "token_type": "Bearer"}
      """
    Then the credential is saved
    When the admin of "demo" saves the credential:
      """
      {"type": "access_token", "name": "shared-name", "token": "t2", "token_type": "Bearer"}
      """
    Then the credential API answers 409
    And the save is refused: "exists" on "name"
    When the admin of "other" saves the credential:
      """
      {"type": "access_token", "name": "shared-name", "token": "t3", "token_type": "Bearer"}
      """
    Then the credential is saved

  Scenario: One organisation never reads another's credentials
    When the admin of "demo" saves the credential:
      """
      {"type": "basic_authentication", "name": "demo-only", "username": "u", "password": "p"}
      """
    Then the organisation "other" has the credentials ""
    When the admin of "other" reads the credential "demo-only"
    Then the credential API answers 404
    When the admin of "other" deletes the credential "demo-only"
    Then the credential API answers 404
    And the organisation "demo" has the credentials "demo-only"

  Scenario: Replacing a credential keeps the secrets that are not sent again
    When the admin of "demo" saves the credential:
      """
      {"type": "basic_authentication", "name": "api-basic", "username": "first", "password": "kept-pw"}
      """
    And the admin of "demo" replaces the credential "api-basic" with:
      """
      {"username": "second"}
      """
    Then the credential API answers 200
    And the answer shows "username" as "second"
    And the answer shows "password" as "[redacted]"
    When the admin of "demo" replaces the credential "api-basic" with:
      """
      {"type": "access_token", "token": "t", "token_type": "Bearer"}
      """
    Then the save is refused: "type_changed" on "type"

  Scenario: A credential an integration uses is deleted only when forced
    When the admin of "demo" saves the credential:
      """
      {"type": "basic_authentication", "name": "api-basic", "username": "orders-bot", "password": "orders-bot-password"}
      """
    And the admin of "demo" deletes the credential "api-basic"
    Then the deletion is refused naming the integration "basic-orders"
    And the organisation "demo" has the credentials "api-basic"
    When the admin of "demo" force-deletes the credential "api-basic"
    Then the credential API answers 204
    And the organisation "demo" has the credentials ""

  Scenario: A credential no integration uses is deleted at once
    When the admin of "demo" saves the credential:
      """
      {"type": "access_token", "name": "unused", "token": "t", "token_type": "Bearer"}
      """
    And the admin of "demo" deletes the credential "unused"
    Then the credential API answers 204
    When the admin of "demo" reads the credential "unused"
    Then the credential API answers 404
