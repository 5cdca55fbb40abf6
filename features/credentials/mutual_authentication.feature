Feature: Mutual Authentication credentials
  A Mutual Authentication credential holds the platform's key certificate
  (a PKCS#12 or JKS key store with its private key) and, unless the key
  store already holds it, the trust certificate of the external system's
  server. The two have different jobs (source document 004): the key
  certificate identifies the platform to the external system, which trusts
  it on its side (self-signed is fine); the trust certificate is what the
  platform checks the server's certificate against (a CA, or the server's
  own certificate, pinned). Neither has to chain to the other.

  It is checked when saved, each fault with its own error; reads show what
  the certificate is, never the key store or a password; integrations
  that use it call the brand API over mutual TLS and are known by their
  certificate's subject. A connection test says what a handshake with the
  external system does, or exactly why it fails.

  TLS 1.1 (the documents' default, with 1.2) is deprecated by RFC 8996 and
  not implemented by the TLS stack: it is refused, and the default is
  TLS 1.2 and 1.3.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And a key store "bot.p12" issued by the brand's CA to "standin-client" with password "changeit"

  Scenario: A PKCS#12 key store is saved and read back without its secrets
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "api-mtls", "key_store": "{file:bot.p12}", "key_store_file_name": "bot.p12", "key_store_password": "changeit"}
      """
    Then the credential is saved
    And the answer shows "type" as "mutual_authentication"
    And the answer shows "key_store" as "[redacted]"
    And the answer shows "key_store_password" as "[redacted]"
    And the answer shows "key_certificate/format" as "PKCS#12"
    And the answer shows "key_certificate/subject" as "CN=standin-client"
    And the answer shows "key_certificate/issuer" as "CN=standin brand CA"
    And the answer shows "key_certificate/key_type" as "EC P-256"
    And the answer shows the SHA-256 fingerprint of the certificate in "bot.p12"
    And the answer shows "key_certificate/alias" as "standin-client"
    And the answer shows "key_certificate/chain_length" as "2"
    And the answer shows the key certificate valid from now until about 30 days from now
    And the answer shows 1 trust certificate
    And the answer shows "trust_certificates/0/subject" as "CN=standin brand CA"
    And the answer shows "tls_versions" as '["TLSv1.2","TLSv1.3"]'
    And no credential read of "demo" shows "changeit"
    And no credential read of "demo" shows "{file:bot.p12}"
    And no credential read of "demo" shows the first 40 characters of "{file:bot.p12}"

  Scenario: A JKS key store, and key stores with a PEM or DER trust certificate, are saved
    Given a key store "bot.jks" issued by the brand's CA to "standin-client" with password "changeit"
    And the brand's CA certificate as "brand-ca.pem"
    And the brand's CA certificate as "brand-ca.der"
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "jks-alone", "key_store": "{file:bot.jks}", "key_store_file_name": "bot.jks", "key_store_password": "changeit"}
      """
    Then the credential is saved
    And the answer shows "key_certificate/format" as "JKS"
    And the answer shows "key_certificate/subject" as "CN=standin-client"
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "p12-pem", "key_store": "{file:bot.p12}", "key_store_file_name": "bot.p12", "key_store_password": "changeit", "trust_certificate": "{file:brand-ca.pem}", "trust_certificate_file_name": "brand-ca.pem", "tls_versions": ["TLSv1.3"]}
      """
    Then the credential is saved
    And the answer shows "trust_certificate_file_name" as "brand-ca.pem"
    And the answer shows "trust_certificates/0/subject" as "CN=standin brand CA"
    And the answer shows "tls_versions" as '["TLSv1.3"]'
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "p12-der", "key_store": "{file:bot.p12}", "key_store_file_name": "bot.p12", "key_store_password": "changeit", "trust_certificate": "{file:brand-ca.der}", "trust_certificate_file_name": "brand-ca.der"}
      """
    Then the credential is saved
    And the answer shows "trust_certificates/0/issuer" as "CN=standin brand CA"
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "jks-pem", "key_store": "{file:bot.jks}", "key_store_file_name": "bot.jks", "key_store_password": "changeit", "trust_certificate": "{file:brand-ca.pem}", "trust_certificate_file_name": "brand-ca.pem"}
      """
    Then the credential is saved

  Scenario: A wrong password, an expired certificate and a mismatched key are each refused
    Given an expired key store "expired.p12" issued by the brand's CA to "standin-client" with password "changeit"
    And a key store "mismatch.p12" pairing one key with another key's certificate, with password "changeit"
    And the brand's CA certificate as "brand-ca.pem"
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "m", "key_store": "{file:bot.p12}", "key_store_file_name": "bot.p12", "key_store_password": "not-the-password"}
      """
    Then the save is refused with exactly these errors:
      | field              | code           |
      | key_store_password | wrong_password |
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "m", "key_store": "{file:bot.p12}", "key_store_file_name": "bot.p12"}
      """
    Then the save is refused with exactly these errors:
      | field              | code    |
      | key_store_password | missing |
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "m", "key_store": "{file:expired.p12}", "key_store_file_name": "expired.p12", "key_store_password": "changeit"}
      """
    Then the save is refused with exactly these errors:
      | field     | code    |
      | key_store | expired |
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "m", "key_store": "{file:mismatch.p12}", "key_store_file_name": "mismatch.p12", "key_store_password": "changeit"}
      """
    Then the save is refused with exactly these errors:
      | field     | code         |
      | key_store | key_mismatch |
    And the organisation "demo" has the credentials ""

  Scenario: Files that are not key stores, and TLS 1.1, are refused clearly
    Given the brand's CA certificate as "brand-ca.der"
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "m", "key_store": "this is not base64!", "key_store_file_name": "bot.p12", "key_store_password": "changeit"}
      """
    Then the save is refused with exactly these errors:
      | field     | code       |
      | key_store | not_base64 |
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "m", "key_store": "{file:brand-ca.der}", "key_store_file_name": "bot.p12", "key_store_password": "changeit"}
      """
    Then the save is refused with exactly these errors:
      | field     | code            |
      | key_store | not_a_key_store |
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "m", "key_store": "{file:bot.p12}", "key_store_file_name": "bot.jks", "key_store_password": "changeit"}
      """
    Then the save is refused with exactly these errors:
      | field     | code            |
      | key_store | format_mismatch |
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "m", "key_store": "{file:bot.p12}", "key_store_file_name": "bot.p12", "key_store_password": "changeit", "tls_versions": ["TLSv1.2", "TLSv1.1"]}
      """
    Then the save is refused with exactly these errors:
      | field        | code       |
      | tls_versions | deprecated |
    And the error message says "RFC 8996"
    And the error message says "TLSv1.2"
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "m"}
      """
    Then the save is refused with exactly these errors:
      | field               | code    |
      | key_store_file_name | missing |
      | key_store           | missing |

  Scenario: An integration with the credential calls the brand API over mutual TLS
    Given the brand's CA certificate as "brand-ca.pem"
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "api-mtls", "key_store": "{file:bot.p12}", "key_store_file_name": "bot.p12", "key_store_password": "changeit", "trust_certificate": "{file:brand-ca.pem}", "trust_certificate_file_name": "brand-ca.pem"}
      """
    Then the credential is saved
    Given a conversation with the demo bot
    When the consumer says "mtls orders"
    Then the bot's last message is "mTLS orders of c0ffee00-a11c-4e00-8000-000000000001 as standin-client: 1001; 1002; 1003"
    When the consumer says "mtls orders" again
    Then the bot's last message is "mTLS orders of c0ffee00-a11c-4e00-8000-000000000001 as standin-client: 1001; 1002; 1003"
    And the brand API received 2 requests

  Scenario: A JKS key store alone (trusting its own CA) works as well
    Given a key store "bot.jks" issued by the brand's CA to "standin-client" with password "changeit"
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "api-mtls", "key_store": "{file:bot.jks}", "key_store_file_name": "bot.jks", "key_store_password": "changeit", "tls_versions": ["TLSv1.2"]}
      """
    Then the credential is saved
    Given a conversation with the demo bot
    When the consumer says "mtls orders"
    Then the bot's last message starts with "mTLS orders of c0ffee00-a11c-4e00-8000-000000000001 as standin-client"

  Scenario: Without the credential, or with a certificate the brand does not trust, the call fails and says why
    Given a conversation with the demo bot
    When the consumer says "mtls orders anonymously"
    Then the bot's last message says "could not reach the brand's service"
    Given a key store "foreign.p12" issued by a foreign CA to "standin-client" with password "changeit"
    And the brand's CA certificate as "brand-ca.pem"
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "api-mtls", "key_store": "{file:foreign.p12}", "key_store_file_name": "foreign.p12", "key_store_password": "changeit", "trust_certificate": "{file:brand-ca.pem}", "trust_certificate_file_name": "brand-ca.pem"}
      """
    Then the credential is saved
    When the consumer says "mtls orders"
    Then the bot's last message says "refused the client certificate CN=standin-client"
    And the brand API has received no request
    When the admin of "demo" tests the connection of "api-mtls" to the brand API
    Then the connection test failed saying "refused the client certificate CN=standin-client"

  Scenario: A replaced key store is the one presented next
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "api-mtls", "key_store": "{file:bot.p12}", "key_store_file_name": "bot.p12", "key_store_password": "changeit"}
      """
    Given a conversation with the demo bot
    When the consumer says "mtls orders"
    Then the bot's last message starts with "mTLS orders of c0ffee00-a11c-4e00-8000-000000000001"
    Given a key store "stranger.p12" issued by the brand's CA to "a-stranger" with password "changeit"
    When the admin of "demo" replaces the credential "api-mtls" with:
      """
      {"key_store": "{file:stranger.p12}", "key_store_file_name": "stranger.p12"}
      """
    Then the credential API answers 200
    And the answer shows "key_certificate/subject" as "CN=a-stranger"
    When the consumer says "mtls orders"
    Then the bot's last message says "refused"

  Scenario: A certificate that expires while in use is no longer presented
    Given a key store "short.p12" issued by the brand's CA to "standin-client" with password "changeit", valid for 1 day
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "api-mtls", "key_store": "{file:short.p12}", "key_store_file_name": "short.p12", "key_store_password": "changeit"}
      """
    Given a conversation with the demo bot
    When the consumer says "mtls orders"
    Then the bot's last message starts with "mTLS orders of c0ffee00-a11c-4e00-8000-000000000001"
    When the shared clock moves forward 172800 seconds
    And the consumer says "mtls orders"
    Then the bot's last message says "expired"
    And the brand API received 1 request

  Scenario: A credential an integration uses is deleted only when forced
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "api-mtls", "key_store": "{file:bot.p12}", "key_store_file_name": "bot.p12", "key_store_password": "changeit"}
      """
    And the admin of "demo" deletes the credential "api-mtls"
    Then the deletion is refused naming the integration "mtls-orders"
    And the organisation "demo" has the credentials "api-mtls"
    When the admin of "demo" force-deletes the credential "api-mtls"
    Then the credential API answers 204
    Given a conversation with the demo bot
    When the consumer says "mtls orders"
    Then the bot's last message says "no credential named"

  Scenario Outline: The documents' keytool recipe end to end, with the trust certificate <how>
    Given the file "<key store>" made by keytool or openssl
    And the file "<trust file>" made by keytool or openssl
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "api-mtls", "key_store": "{file:<key store>}", "key_store_file_name": "<key store>", "key_store_password": "changeit"<trust>}
      """
    Then the credential is saved
    And the answer shows "key_certificate/subject" as "CN=cb-mtls"
    And the answer shows "key_certificate/issuer" as "CN=cb-mtls"
    And the answer shows "trust_certificates/0/subject" as "CN=brand-api.example"
    And the answer has no warning
    When the brand registers the platform's certificate "cb-mtls.pem" at the external system
    And the admin of "demo" tests the connection of "api-mtls" to the external system
    Then the connection test connected over "TLSv1.3"
    And the answer shows "server_certificate/subject" as "CN=brand-api.example"
    And the answer shows "server_certificate/trusted_as" as "pinned"
    Given a conversation with the demo bot
    When the consumer says "external orders"
    Then the bot's last message is "mTLS orders of c0ffee00-a11c-4e00-8000-000000000001 as cb-mtls: 1001; 1002; 1003"

    Examples:
      | how                                   | key store            | trust file       | trust |
      | imported into the key store           | cb-mtls-server.p12   | cb-mtls.pem      | |
      | uploaded as PEM                       | cb-mtls-key-only.p12 | brand-server.pem | , "trust_certificate": "{file:brand-server.pem}", "trust_certificate_file_name": "brand-server.pem" |
      | uploaded as DER                       | cb-mtls-key-only.p12 | brand-server.der | , "trust_certificate": "{file:brand-server.der}", "trust_certificate_file_name": "brand-server.der" |
      | in a password-protected trust store   | cb-mtls-key-only.p12 | brand-trust.p12  | , "trust_certificate": "{file:brand-trust.p12}", "trust_certificate_file_name": "brand-trust.p12", "trust_certificate_password": "trustpass" |
      | in a password-protected JKS          | cb-mtls-key-only.p12 | brand-trust.jks  | , "trust_certificate": "{file:brand-trust.jks}", "trust_certificate_file_name": "brand-trust.jks", "trust_certificate_password": "trustpass" |

  Scenario: A server certificate the trust certificate does not trust is refused, naming both
    Given the file "cb-mtls-key-only.p12" made by keytool or openssl
    And the file "other-server.pem" made by keytool or openssl
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "api-mtls", "key_store": "{file:cb-mtls-key-only.p12}", "key_store_file_name": "cb-mtls-key-only.p12", "key_store_password": "changeit", "trust_certificate": "{file:other-server.pem}", "trust_certificate_file_name": "other-server.pem"}
      """
    Then the credential is saved
    When the brand registers the platform's certificate "cb-mtls.pem" at the external system
    Given a conversation with the demo bot
    When the consumer says "external orders"
    Then the bot's last message says "CN=brand-api.example"
    And the bot's last message says "is not among the trust certificate (CN=other-api.example)"
    When the admin of "demo" tests the connection of "api-mtls" to the external system
    Then the connection test failed with "server_not_trusted" saying "CN=other-api.example"
    # The brand API's own listener presents a certificate of the brand's CA:
    # not pinned, not issued by the trust certificate.
    When the admin of "demo" tests the connection of "api-mtls" to the brand API
    Then the connection test failed with "server_not_trusted" saying "is not trusted by the trust certificate (CN=other-api.example)"

  Scenario: A platform certificate the brand has not registered is refused by the server, and said so
    Given the file "cb-mtls-server.p12" made by keytool or openssl
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "api-mtls", "key_store": "{file:cb-mtls-server.p12}", "key_store_file_name": "cb-mtls-server.p12", "key_store_password": "changeit"}
      """
    Then the credential is saved
    Given a conversation with the demo bot
    When the consumer says "external orders"
    Then the bot's last message says "refused the client certificate CN=cb-mtls"
    When the admin of "demo" tests the connection of "api-mtls" to the external system
    Then the connection test failed saying "refused the client certificate CN=cb-mtls"
    And the connection test failed saying "by registering this certificate"
    When the brand registers the platform's certificate "cb-mtls.pem" at the external system
    And the consumer says "external orders"
    Then the bot's last message starts with "mTLS orders of c0ffee00-a11c-4e00-8000-000000000001 as cb-mtls"

  Scenario: The recipe's key store with a wrong password, an expired one, and one expiring soon
    Given the file "cb-mtls-server.p12" made by keytool or openssl
    And the file "expired.p12" made by keytool or openssl
    And the file "brand-server.pem" made by keytool or openssl
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "api-mtls", "key_store": "{file:cb-mtls-server.p12}", "key_store_file_name": "cb-mtls-server.p12", "key_store_password": "wrong-password"}
      """
    Then the save is refused with exactly these errors:
      | field              | code           |
      | key_store_password | wrong_password |
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "api-mtls", "key_store": "{file:expired.p12}", "key_store_file_name": "expired.p12", "key_store_password": "changeit", "trust_certificate": "{file:brand-server.pem}", "trust_certificate_file_name": "brand-server.pem"}
      """
    Then the save is refused with exactly these errors:
      | field     | code    |
      | key_store | expired |
    And the error message says "CN=expired expired on"
    When the admin of "demo" saves the credential:
      """
      {"type": "mutual_authentication", "name": "api-mtls", "key_store": "{file:cb-mtls-server.p12}", "key_store_file_name": "cb-mtls-server.p12", "key_store_password": "changeit"}
      """
    Then the credential is saved
    And the answer has no warning
    When the shared clock moves to 20 days before the key certificate shown expires
    And the admin of "demo" replaces the credential "api-mtls" with:
      """
      {}
      """
    Then the credential API answers 200
    And the answer warns "expires_soon" saying "expires in 20 days"

