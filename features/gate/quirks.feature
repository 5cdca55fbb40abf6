@gate
Feature: standin conform judges each quirk mode of the mock IdP
  The gate is run from the binary against the mock IdP in one quirk mode
  at a time. A departure that breaks the flow or opens a hole fails
  exactly the checks it breaks; a tolerated one warns and fails nothing;
  a legal one passes clean; a login page the HTTP agent cannot drive is an
  error of the run (exit code 2), never a FAIL of the IdP. Checks whose
  premise the quirk broke are SKIP, naming why.

  Scenario Outline: <quirk> fails exactly what it breaks
    Given the mock IdP in quirk mode "<quirk>"
    When standin conform runs against it
    Then exactly these checks fail: "<failing>"
    And the exit code is 1

    Examples: security holes and broken flows
      | quirk                  | failing                                                                                     |
      | state_dropped          | Signing in returns a code and the link's state                                               |
      | state_altered          | Signing in returns a code and the link's state                                               |
      | iss_missing            | Signing in returns a code and the link's state                                               |
      | iss_wrong              | Signing in returns a code and the link's state                                               |
      | code_reusable          | A code works once                                                                            |
      | redirect_prefix        | A redirect URI that is not exactly the registered one gets no code (with a path appended); A redirect URI that is not exactly the registered one gets no code (with a query added) |
      | pkce_not_enforced      | A wrong PKCE verifier is refused; A missing PKCE verifier is refused                         |
      | wrong_secret_accepted  | A wrong client secret is refused                                                             |
      | error_with_200         | A code works once; A wrong PKCE verifier is refused; A missing PKCE verifier is refused; A code is bound to its redirect URI; A wrong client secret is refused |
      | id_token_wrong_iss     | The ID token is valid                                                                        |
      | id_token_wrong_aud     | The ID token is valid                                                                        |
      | id_token_wrong_nonce   | The ID token is valid                                                                        |
      | id_token_expired       | The ID token is valid                                                                        |
      | id_token_bad_signature | The ID token is valid                                                                        |
      | id_token_alg_none      | The ID token is valid                                                                        |
      | id_token_hs256         | The ID token is valid                                                                        |
      | id_token_kid_unknown   | The ID token is valid                                                                        |
      | id_token_wrong_at_hash | The ID token is valid                                                                        |
      | id_token_extra_audience | The ID token is valid                                                                       |
      | userinfo_sub_differs   | Userinfo's sub is the ID token's                                                             |
      | jwks_failing           | The JWKS holds a key that verifies ID tokens                                                 |

  Scenario: A slow token endpoint fails every check that needs its answer, naming the limit
    Given the mock IdP in quirk mode "slow_token"
    When standin conform runs against it with a 1 second request limit
    Then exactly these checks fail: "A code works once; A wrong PKCE verifier is refused; A missing PKCE verifier is refused; A code is bound to its redirect URI; A wrong client secret is refused; Userinfo's sub is the ID token's; The code is exchanged for a sound token response; The ID token is valid; A revoked access token is no longer accepted; Introspection says an issued access token is active, for this client"
    And the output says "did not answer within 1 s"
    And the exit code is 1

  Scenario Outline: <quirk> is tolerated, with a warning
    Given the mock IdP in quirk mode "<quirk>"
    When standin conform runs against it
    Then no check fails
    And at least one check warns
    And the exit code is 0

    Examples:
      | quirk               |
      | no_cache_control    |
      | token_type_missing  |
      | expires_in_string   |
      | scope_array         |
      | form_encoded_token  |

  Scenario Outline: <quirk> is legal and passes clean
    Given the mock IdP in quirk mode "<quirk>"
    When standin conform runs against it
    Then no check fails
    And no check warns
    And the exit code is 0

    Examples:
      | quirk                   |
      | login_two_step          |

  Scenario: A login page built by JavaScript is an error of the run for the HTTP agent
    Given the mock IdP in quirk mode "login_needs_javascript"
    When standin conform runs against it
    Then no check fails
    And the output says "needs JavaScript (use --browser chromium)"
    And the exit code is 2

  Scenario Outline: The failed ID token check names the defect (<quirk>)
    Given the mock IdP in quirk mode "<quirk>"
    When standin conform runs against it
    Then the output says "<said>"

    Examples:
      | quirk                  | said                                                  |
      | id_token_alg_none      | unsigned (alg none)                                   |
      | id_token_hs256         | signed with HS256, which discovery does not advertise |
      | id_token_kid_unknown   | which the IdP's JWKS (as last fetched) does not hold |
      | id_token_wrong_at_hash | at_hash does not match the access token               |
      | id_token_wrong_aud     | Invalid audiences                                     |
      | id_token_extra_audience | is not a trusted audience                            |
