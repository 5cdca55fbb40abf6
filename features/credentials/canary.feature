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

  Scenario: A canary in a secret field of every type is found nowhere after the credentials are used
    Given a key store "canary.p12" issued by the brand's CA to "standin-client" with password "canary-9b2f-p12"
    And the IdP has the service client "svc-client" with the secret "canary-9b2f-cc"
    And the IdP has the Watson API key "canary-9b2f-apikey" acting as "iam-ServiceId-canary"
    When the admin of "demo" saves the credential:
      """
      {"type": "basic_authentication", "name": "api-basic", "username": "brand-partner", "password": "canary-9b2f-basic"}
      """
    Then the credential is saved
    When the admin of "demo" saves the credential:
      """
      {"type": "access_token", "name": "api-token", "token": "canary-9b2f-token", "token_type": "Token"}
      """
    Then the credential is saved
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_client_credentials", "name": "svc", "client_id": "svc-client", "client_secret": "canary-9b2f-cc", "scope": "orders:read", "token_url": "{idp}/token"}
      """
    Then the credential is saved
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "api-mtls", "key_store": "{file:canary.p12}", "key_store_file_name": "canary.p12", "key_store_password": "canary-9b2f-p12"}
      """
    Then the credential is saved
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "watson-nlu", "provider": "ibm_watson", "credentials": {"apikey": "canary-9b2f-apikey", "url": "{nlu}/instances/inst-9", "iam_url": "{idp}/token"}}
      """
    Then the credential is saved
    When the admin of "demo" saves the credential:
      """
      {"type": "oauth2_authorization_code", "name": "crm-oauth", "client_id": "crm-app", "client_secret": "canary-9b2f-code", "scope": "orders:read", "auth_url": "{idp}/authorize", "token_url": "{idp}/token"}
      """
    Then the credential is saved
    When the admin of "demo" saves the credential:
      """
      {"type": "consumer_authentication", "name": "brand-login", "url": "{idp}/authorize?client_id=platform-bot&response_type=code&redirect_uri={platform}/callback/demo/redirectCode&scope=openid"}
      """
    Then the credential is saved
    When the admin of "demo" saves the credential:
      """
      {"type": "consumer_pre_authentication", "name": "brand-sso"}
      """
    Then the credential is saved
    Given a conversation with the demo bot
    # The canary password and token are not the brand API's: it refuses them,
    # which proves they were sent.
    When the consumer says "basic orders"
    Then the bot's last message says 'refused the credential "api-basic" as unauthorised'
    When the consumer says "token orders"
    Then the bot's last message says 'refused the credential "api-token" as unauthorised'
    When the consumer says "service orders"
    Then the bot's last message starts with "Service orders:"
    When the consumer says "mtls orders"
    Then the bot's last message starts with "mTLS orders of c0ffee00-a11c-4e00-8000-000000000001 as standin-client"
    When the admin of "demo" trains the domain "support"
    Then the domain "support" is training with "ibm_watson"
    And no vault file, log line or credential read of "demo" holds "canary-9b2f"
    And the vault on disk opens again with the same credentials of "demo"
