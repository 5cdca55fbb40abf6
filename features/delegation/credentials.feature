@delegation @credentials
Feature: Saving a Consumer Authentication credential
  A Consumer Authentication credential is a name and an authentication URL:
  the brand's authorization endpoint with the client's parameters. Saving
  one checks the URL the way the authorization server will (RFC 6749 3.1,
  4.1.1): absolute, with client_id, response_type=code, a redirect_uri at
  this platform's callback for the organisation, and scope. Each problem
  has its own error, so a brand developer knows what to fix.

  In the URLs below, {idp} is the brand's IdP, {client_id} the platform's
  client there and {callback} the platform's callback for organisation
  "demo".

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock

  Scenario: A complete URL is saved
    When the brand developer saves the credential "brand-login" for "demo" with the URL "{idp}/authorize?client_id={client_id}&response_type=code&redirect_uri={callback}&scope=openid%20orders:read"
    Then the platform saves the credential with status 201
    And organisation "demo" lists the credential "brand-login"
    And organisation "other" lists no credential
    When the brand developer saves the credential "second" for "demo" with the URL "{idp}/authorize?client_id={client_id}&response_type=code&redirect_uri={callback}&scope=openid%20orders:read"
    Then the platform saves the credential with status 201
    And the organisation "demo" has the credentials "brand-login, second"
    And no credential read of "demo" shows "platform-bot-secret"

  Scenario: A conversation of another organisation cannot use the credential
    Given the organisation "demo" has the Consumer Authentication credential "brand-login"
    And a conversation with the demo bot in organisation "other"
    When the consumer says "my orders"
    Then the bot answers without a link
    And the bot's last message says "no credential"

  Scenario: A body that is not JSON, and an organisation that does not exist, are refused
    When the brand developer sends the body "{" to save a credential for "demo"
    Then the platform answers the save with status 400
    When the brand developer saves the credential "brand-login" for "nowhere" with the URL "{idp}/authorize?client_id={client_id}&response_type=code&redirect_uri={callback}&scope=openid"
    Then the platform answers the save with status 404

  Scenario Outline: <problem> is refused with its own error
    When the brand developer saves the credential "brand-login" for "demo" with the URL "<url>"
    Then the platform refuses the credential with status 400 and exactly one error: "<field>" "<code>"
    And organisation "demo" lists no credential

    Examples:
      | problem                   | url                                                                                                 | field         | code          |
      | No client_id              | {idp}/authorize?response_type=code&redirect_uri={callback}&scope=openid                             | client_id     | missing       |
      | Another client's id       | {idp}/authorize?client_id=someone-else&response_type=code&redirect_uri={callback}&scope=openid     | client_id     | mismatch      |
      | No response_type          | {idp}/authorize?client_id={client_id}&redirect_uri={callback}&scope=openid                         | response_type | missing       |
      | response_type token       | {idp}/authorize?client_id={client_id}&response_type=token&redirect_uri={callback}&scope=openid    | response_type | unsupported   |
      | No redirect_uri           | {idp}/authorize?client_id={client_id}&response_type=code&scope=openid                              | redirect_uri  | missing       |
      | A redirect_uri elsewhere  | {idp}/authorize?client_id={client_id}&response_type=code&redirect_uri=https://evil.example/cb&scope=openid | redirect_uri | mismatch |
      | Another account's callback | {idp}/authorize?client_id={client_id}&response_type=code&redirect_uri={platform}/callback/other/redirectCode&scope=openid | redirect_uri | mismatch |
      | No scope                  | {idp}/authorize?client_id={client_id}&response_type=code&redirect_uri={callback}                   | scope         | missing       |
      | An empty scope            | {idp}/authorize?client_id={client_id}&response_type=code&redirect_uri={callback}&scope=            | scope         | missing       |
      | A relative URL            | /authorize?client_id={client_id}&response_type=code&redirect_uri={callback}&scope=openid           | url           | not_absolute  |
      | A URL without a host      | mailto:login@brand.example                                                                          | url           | not_absolute  |
      | A fixed state             | {idp}/authorize?client_id={client_id}&response_type=code&redirect_uri={callback}&scope=openid&state=abc | url      | reserved_parameter |
      | A repeated scope          | {idp}/authorize?client_id={client_id}&response_type=code&redirect_uri={callback}&scope=openid&scope=email | url    | repeated_parameter |

  Scenario: The redirectedCode spelling gets a hint to use redirect_uri
    When the brand developer saves the credential "brand-login" for "demo" with the URL "{idp}/authorize?client_id={client_id}&response_type=code&redirectedCode={callback}&scope=openid"
    Then the platform refuses the credential with status 400 and exactly one error: "redirect_uri" "redirected_code_parameter"
    And the error message says "the parameter is called redirect_uri"

  Scenario: Every problem of a bare URL is listed at once
    When the brand developer saves the credential "brand-login" for "demo" with the URL "{idp}/authorize"
    Then the platform refuses the credential with status 400 and these errors:
      | client_id     | missing |
      | response_type | missing |
      | redirect_uri  | missing |
      | scope         | missing |

  Scenario: A name is used once per organisation
    Given the organisation "demo" has the Consumer Authentication credential "brand-login"
    When the brand developer saves the credential "brand-login" for "demo" with the URL "{idp}/authorize?client_id={client_id}&response_type=code&redirect_uri={callback}&scope=openid"
    Then the platform refuses the credential with status 409 and exactly one error: "name" "exists"
