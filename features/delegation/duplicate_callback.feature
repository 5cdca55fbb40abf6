@delegation @duplicate_callback
Feature: The same callback twice means one code exchange
  A browser may deliver the callback twice (a double click, a reload, a
  retry on a slow network). The state is claimed before the exchange starts,
  so exactly one request exchanges the code and the other gets a friendly
  page.

  Background:
    Given the brand's IdP, the brand API and the platform on one shared clock
    And the organisation "demo" has the Consumer Authentication credential "brand-login"
    And a conversation with the demo bot
    And the consumer has said "my orders" and received a sign-in link
    And the consumer has signed in at the IdP through the link

  Scenario: Two identical callbacks at the same moment
    When the consumer's browser delivers the redirect twice at the same moment
    Then one page is titled "You are signed in" with status 200
    And the other page is titled "This sign-in link cannot be used" with status 400 and says "already been used"
    And the IdP saw the code presented 1 time
    And the IdP issued 1 access token
    And the brand API received 1 request
    And the bot posted 1 answer with the orders
