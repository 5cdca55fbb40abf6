Feature: Third-party NLU credentials train domains
  A Third-party NLU credential holds the JSON an NLU provider gave when
  its service was set up: a Google service-account key for Dialogflow, IBM
  Cloud service credentials for Watson. It is kept whole as a secret and
  checked for its provider's shape when saved. It is used during domain
  training: the platform gets a token from the provider's token endpoint
  (an RFC 7523 assertion signed with the service account's key, or the API
  key) and trains the domain with it. It never authorises an API call, and
  it is not deleted while a domain uses it.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock

  # --- saving ------------------------------------------------------------------

  Scenario: A Dialogflow service-account key is saved whole and read back redacted
    Given a service account of project "billing-project" at the IdP, its key as "billing-sa"
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "dialogflow-nlu", "provider": "google_dialogflow", "credentials": {key:billing-sa}, "api_url": "{nlu}"}
      """
    Then the credential is saved
    And the answer shows "type" as "third_party_nlu"
    And the answer shows "provider" as "google_dialogflow"
    And the answer shows "credentials" as "[redacted]"
    And the answer shows "project_id" as "billing-project"
    And the answer shows "client_email" as "{key:billing-sa.client_email}"
    And the answer shows "private_key_id" as "{key:billing-sa.private_key_id}"
    And the answer shows "token_uri" as "{idp}/token"
    And the answer shows "api_url" as "{nlu}"
    And no answer, credential read or log line of "demo" shows the secrets of the key "billing-sa"

  Scenario: Watson credentials pasted as text are saved whole and read back redacted
    Given an API key at the IdP for the Watson instance "inst-1", as "support-key"
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "watson-nlu", "provider": "ibm_watson", "credentials": {key-text:support-key}}
      """
    Then the credential is saved
    And the answer shows "provider" as "ibm_watson"
    And the answer shows "credentials" as "[redacted]"
    And the answer shows "url" as "{nlu}/instances/inst-1"
    And the answer shows "iam_url" as "{idp}/token"
    And no answer, credential read or log line of "demo" shows the secrets of the key "support-key"

  Scenario: The provider and the JSON are checked, each fault with its own error
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "nlu"}
      """
    Then the save is refused with exactly these errors:
      | field       | code    |
      | provider    | missing |
      | credentials | missing |
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "nlu", "provider": "amazon_lex", "credentials": {}}
      """
    Then the save is refused with exactly these errors:
      | field    | code    |
      | provider | unknown |
    And the error on "provider" says "google_dialogflow or ibm_watson"
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "nlu", "provider": "ibm_watson", "credentials": "{\"apikey\": "}
      """
    Then the save is refused with exactly these errors:
      | field       | code         |
      | credentials | invalid_json |
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "nlu", "provider": "ibm_watson", "credentials": "[1, 2]"}
      """
    Then the save is refused with exactly these errors:
      | field       | code          |
      | credentials | not_an_object |
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "nlu", "provider": "google_dialogflow", "credentials": 42}
      """
    Then the save is refused with exactly these errors:
      | field       | code          |
      | credentials | not_an_object |

  Scenario: Credentials of the other provider are refused for what they are
    Given a service account of project "billing-project" at the IdP, its key as "sa"
    And an API key at the IdP for the Watson instance "inst-1", as "key"
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "nlu", "provider": "google_dialogflow", "credentials": {key:key}}
      """
    Then the save is refused with exactly these errors:
      | field       | code           |
      | credentials | wrong_provider |
    And the error on "credentials" says "ibm_watson"
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "nlu", "provider": "ibm_watson", "credentials": {key:sa}}
      """
    Then the save is refused with exactly these errors:
      | field       | code           |
      | credentials | wrong_provider |
    And the error on "credentials" says "google_dialogflow"
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "nlu", "provider": "ibm_watson", "credentials": {key:key}, "api_url": "{nlu}"}
      """
    Then the save is refused with exactly these errors:
      | field   | code           |
      | api_url | not_applicable |

  Scenario Outline: A faulty member of a service-account key has its own error
    Given a service account of project "billing-project" at the IdP, its key as "sa"
    And the key "sa" with "<member>" set to "<value>"
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "dialogflow-nlu", "provider": "google_dialogflow", "credentials": {key:sa}}
      """
    Then the save is refused with exactly these errors:
      | field                | code   |
      | credentials.<member> | <code> |

    Examples:
      | member       | value                       | code                |
      | type         | authorized_user             | not_service_account |
      | project_id   | billing/project             | invalid             |
      | private_key  | not a key                   | not_pkcs8_pem       |
      | client_email | trainer                     | invalid             |
      | token_uri    | /token                      | invalid             |
      | token_uri    | http://oauth2.example/token | insecure_scheme     |

  Scenario Outline: A missing member of a service-account key has its own error
    Given a service account of project "billing-project" at the IdP, its key as "sa"
    And the key "sa" without "<member>"
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "dialogflow-nlu", "provider": "google_dialogflow", "credentials": {key:sa}}
      """
    Then the save is refused with exactly these errors:
      | field                | code    |
      | credentials.<member> | missing |

    Examples:
      | member         |
      | type           |
      | project_id     |
      | private_key_id |
      | private_key    |
      | client_email   |
      | token_uri      |

  Scenario: A member of a service-account key that is not a string is refused
    Given a service account of project "billing-project" at the IdP, its key as "sa"
    And the key "sa" with "private_key_id" set to the number 7
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "dialogflow-nlu", "provider": "google_dialogflow", "credentials": {key:sa}}
      """
    Then the save is refused with exactly these errors:
      | field                      | code         |
      | credentials.private_key_id | not_a_string |

  Scenario Outline: A faulty member of Watson credentials has its own error
    Given an API key at the IdP for the Watson instance "inst-1", as "key"
    And the key "key" with "<member>" set to "<value>"
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "watson-nlu", "provider": "ibm_watson", "credentials": {key:key}}
      """
    Then the save is refused with exactly these errors:
      | field                | code   |
      | credentials.<member> | <code> |

    Examples:
      | member  | value                    | code            |
      | apikey  | two words                | invalid         |
      | url     | watson                   | invalid         |
      | iam_url | ftp://iam.example/token  | invalid         |
      | iam_url | http://iam.example/token | insecure_scheme |

  Scenario: Watson credentials without their key and URL are refused
    Given an API key at the IdP for the Watson instance "inst-1", as "key"
    And the key "key" without "apikey"
    And the key "key" without "url"
    When the admin of "demo" saves the credential:
      """
      {"type": "third_party_nlu", "name": "watson-nlu", "provider": "ibm_watson", "credentials": {key:key}}
      """
    Then the save is refused with exactly these errors:
      | field              | code    |
      | credentials.apikey | missing |
      | credentials.url    | missing |

  # --- training ----------------------------------------------------------------

  Scenario: A Dialogflow domain is trained with the service account's token
    Given a service account of project "billing-project" at the IdP, its key as "billing-sa"
    And the organisation "demo" has the NLU credential "dialogflow-nlu" for "google_dialogflow" with the key "billing-sa"
    When the admin of "demo" trains the domain "billing"
    Then the domain "billing" is training with "google_dialogflow"
    And the answer shows "project_id" as "billing-project"
    And the NLU service logged a Dialogflow training of project "billing-project" with the IdP's token for the key "billing-sa"
    And the IdP issued 1 NLU token for the key "billing-sa"
    And no answer, credential read or log line of "demo" shows the secrets of the key "billing-sa"

  Scenario: A Watson domain is trained with the API key's token
    Given an API key at the IdP for the Watson instance "inst-1", as "support-key"
    And the organisation "demo" has the NLU credential "watson-nlu" for "ibm_watson" with the key "support-key"
    When the admin of "demo" trains the domain "support"
    Then the domain "support" is training with "ibm_watson"
    And the answer shows "workspace_id" as "ws-support"
    And the NLU service logged a Watson training of workspace "ws-support" with the IdP's token for the API key "support-key"
    And the IdP issued 1 NLU token for the key "support-key"
    And no answer, credential read or log line of "demo" shows the secrets of the key "support-key"

  Scenario: Domains created over HTTP are trained
    Given a service account of project "faq-project" at the IdP, its key as "faq-sa"
    And the organisation "demo" has the NLU credential "faq-nlu" for "google_dialogflow" with the key "faq-sa"
    And an API key at the IdP for the Watson instance "inst-2", as "help-key"
    And the organisation "demo" has the NLU credential "help-nlu" for "ibm_watson" with the key "help-key"
    When the admin of "demo" creates the domain:
      """
      {"name": "faq", "credential": "faq-nlu"}
      """
    Then the credential API answers 201
    When the admin of "demo" trains the domain "faq"
    Then the domain "faq" is training with "google_dialogflow"
    And the NLU service logged a Dialogflow training of project "faq-project" with the IdP's token for the key "faq-sa"
    When the admin of "demo" creates the domain:
      """
      {"name": "help", "credential": "help-nlu", "workspace_id": "ws-help"}
      """
    Then the credential API answers 201
    When the admin of "demo" trains the domain "help"
    Then the domain "help" is training with "ibm_watson"
    And the NLU service logged a Watson training of workspace "ws-help" with the IdP's token for the API key "help-key"

  Scenario: A domain is created only with an NLU credential and what its provider needs
    Given an API key at the IdP for the Watson instance "inst-2", as "help-key"
    And the organisation "demo" has the NLU credential "help-nlu" for "ibm_watson" with the key "help-key"
    When the admin of "demo" creates the domain:
      """
      {"name": "help", "credential": "no-such-credential", "workspace_id": "ws-help"}
      """
    Then the save is refused: "unknown" on "credential"
    When the admin of "demo" creates the domain:
      """
      {"name": "help", "credential": "help-nlu"}
      """
    Then the save is refused: "missing" on "workspace_id"
    When the admin of "demo" saves the credential:
      """
      {"type": "basic_authentication", "name": "api-basic", "username": "orders-bot", "password": "canary-basic-pw"}
      """
    And the admin of "demo" creates the domain:
      """
      {"name": "help", "credential": "api-basic"}
      """
    Then the save is refused: "not_nlu" on "credential"
    When the admin of "demo" creates the domain:
      """
      {"name": "support", "credential": "help-nlu", "workspace_id": "ws-help"}
      """
    Then the save is refused: "exists" on "name"
    When the admin of "demo" trains the domain "no-such-domain"
    Then the training is refused: "not_found"

  Scenario: A service account of another project is refused by the NLU service
    Given a service account of project "other-project" at the IdP, its key as "other-sa"
    And the organisation "demo" has the NLU credential "dialogflow-nlu" for "google_dialogflow" with the key "other-sa"
    When the admin of "demo" trains the domain "billing"
    Then the training is refused by the NLU service with 403 "insufficient_scope"
    And the IdP issued 1 NLU token for the key "other-sa"
    And no answer, credential read or log line of "demo" shows the secrets of the key "other-sa"

  Scenario: An API key whose tokens are for another service is refused by the NLU service, and its token dropped
    Given an API key at the IdP for the Watson instance "inst-1" whose tokens are for "brand-api", as "stray-key"
    And the organisation "demo" has the NLU credential "watson-nlu" for "ibm_watson" with the key "stray-key"
    When the admin of "demo" trains the domain "support"
    Then the training is refused by the NLU service with 401 "invalid_token"
    And the IdP issued 1 NLU token for the key "stray-key"
    When the admin of "demo" trains the domain "support"
    Then the training is refused by the NLU service with 401 "invalid_token"
    And the IdP issued 2 NLU tokens for the key "stray-key"

  Scenario: The key of a deleted service account is refused at the token endpoint
    Given a service account of project "billing-project" at the IdP, its key as "billing-sa"
    And the organisation "demo" has the NLU credential "dialogflow-nlu" for "google_dialogflow" with the key "billing-sa"
    And the IdP deletes the service account of the key "billing-sa"
    When the admin of "demo" trains the domain "billing"
    Then the training is refused by the token endpoint with "invalid_grant"

  Scenario: A deleted API key is refused at the token endpoint
    Given an API key at the IdP for the Watson instance "inst-1", as "support-key"
    And the organisation "demo" has the NLU credential "watson-nlu" for "ibm_watson" with the key "support-key"
    And the IdP deletes the API key "support-key"
    When the admin of "demo" trains the domain "support"
    Then the training is refused by the token endpoint with "invalid_grant"

  Scenario: The Dialogflow token is reused until shortly before it expires, then replaced
    Given a service account of project "billing-project" at the IdP, its key as "billing-sa"
    And the organisation "demo" has the NLU credential "dialogflow-nlu" for "google_dialogflow" with the key "billing-sa"
    When the admin of "demo" trains the domain "billing"
    And the admin of "demo" trains the domain "billing"
    Then the last two trainings came with the same token
    And the IdP issued 1 NLU token for the key "billing-sa"
    When the shared clock moves forward 3000 seconds
    And the admin of "demo" trains the domain "billing"
    Then the last two trainings came with the same token
    And the IdP issued 1 NLU token for the key "billing-sa"
    When the shared clock moves forward 580 seconds
    And the admin of "demo" trains the domain "billing"
    Then the domain "billing" is training with "google_dialogflow"
    And the last two trainings came with different tokens
    And the IdP issued 2 NLU tokens for the key "billing-sa"
    And the NLU service logged a Dialogflow training of project "billing-project" with the IdP's token for the key "billing-sa"

  Scenario: Trainings at the same moment share one token request
    Given an API key at the IdP for the Watson instance "inst-1", as "support-key"
    And the organisation "demo" has the NLU credential "watson-nlu" for "ibm_watson" with the key "support-key"
    When the admin of "demo" trains the domain "support" 5 times at the same moment
    Then the IdP issued 1 NLU token for the key "support-key"
    And the last two trainings came with the same token

  Scenario: An expired Watson token is replaced
    Given an API key at the IdP for the Watson instance "inst-1", as "support-key"
    And the organisation "demo" has the NLU credential "watson-nlu" for "ibm_watson" with the key "support-key"
    When the admin of "demo" trains the domain "support"
    And the shared clock moves forward 3700 seconds
    And the admin of "demo" trains the domain "support"
    Then the domain "support" is training with "ibm_watson"
    And the last two trainings came with different tokens
    And the IdP issued 2 NLU tokens for the key "support-key"
    And the NLU service logged a Watson training of workspace "ws-support" with the IdP's token for the API key "support-key"

  Scenario: A cached token the NLU service no longer accepts is replaced at once
    Given a service account of project "billing-project" at the IdP, its key as "billing-sa"
    And the organisation "demo" has the NLU credential "dialogflow-nlu" for "google_dialogflow" with the key "billing-sa"
    And an API key at the IdP for the Watson instance "inst-1", as "support-key"
    And the organisation "demo" has the NLU credential "watson-nlu" for "ibm_watson" with the key "support-key"
    When the admin of "demo" trains the domain "billing"
    And the IdP rotates its signing key and stops publishing the old one
    # A token signed with the new key makes the NLU service fetch the new key set.
    And the admin of "demo" trains the domain "support"
    And the admin of "demo" trains the domain "billing"
    Then the domain "billing" is training with "google_dialogflow"
    And the NLU service answered its last two requests 401 and 200
    And the IdP issued 2 NLU tokens for the key "billing-sa"
    And the NLU service logged a Dialogflow training of project "billing-project" with the IdP's token for the key "billing-sa"

  Scenario: A replaced NLU credential keeps its JSON unless a new one is given, and drops its token
    Given a service account of project "billing-project" at the IdP, its key as "first-sa"
    And a service account of project "billing-project" at the IdP, its key as "second-sa"
    And the organisation "demo" has the NLU credential "dialogflow-nlu" for "google_dialogflow" with the key "first-sa"
    When the admin of "demo" trains the domain "billing"
    And the admin of "demo" replaces the credential "dialogflow-nlu" with:
      """
      {"api_url": "{nlu}/"}
      """
    Then the credential API answers 200
    And the answer shows "client_email" as "{key:first-sa.client_email}"
    And the answer shows "api_url" as "{nlu}"
    When the admin of "demo" replaces the credential "dialogflow-nlu" with:
      """
      {"credentials": {key:second-sa}}
      """
    Then the credential API answers 200
    And the answer shows "client_email" as "{key:second-sa.client_email}"
    And the answer shows "private_key_id" as "{key:second-sa.private_key_id}"
    When the admin of "demo" trains the domain "billing"
    Then the NLU service logged a Dialogflow training of project "billing-project" with the IdP's token for the key "second-sa"
    And no answer, credential read or log line of "demo" shows the secrets of the key "second-sa"

  # --- what the credential is not for, and deleting it --------------------------

  Scenario: A Third-party NLU credential does not authorise an API call
    Given a service account of project "billing-project" at the IdP, its key as "sa"
    And the organisation "demo" has the NLU credential "nlu-misused" for "google_dialogflow" with the key "sa"
    And a conversation with the demo bot
    When the consumer says "nlu orders"
    Then the bot's last message says "credential nlu-misused is a third-party NLU credential: it trains domains and cannot authorise an API call"

  Scenario: An NLU credential a domain uses is not deleted
    Given a service account of project "billing-project" at the IdP, its key as "billing-sa"
    And the organisation "demo" has the NLU credential "dialogflow-nlu" for "google_dialogflow" with the key "billing-sa"
    And the organisation "demo" has the NLU credential "spare-nlu" for "google_dialogflow" with the key "billing-sa"
    When the admin of "demo" deletes the credential "dialogflow-nlu"
    Then the deletion is refused naming the domain "billing"
    And the organisation "demo" has the credentials "dialogflow-nlu, spare-nlu"
    When the admin of "demo" deletes the credential "spare-nlu"
    Then the credential API answers 204
    When the admin of "demo" force-deletes the credential "dialogflow-nlu"
    Then the credential API answers 204
    When the admin of "demo" trains the domain "billing"
    Then the training is refused: "domain_misconfigured"
