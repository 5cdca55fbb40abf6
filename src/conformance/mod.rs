//! What the Gherkin conformance suite drives.
//!
//! The suite (`tests/conformance.rs`, features under `features/`) reaches an
//! identity provider over HTTP only, so the same scenarios run against the
//! embedded [`MockIdp`](crate::idp::MockIdp) and against a brand's real IdP.
//! This module holds the parts that make that possible and that other test
//! code may reuse:
//!
//! - [`agent`]: a [`ConsumerAgent`], a simulated
//!   consumer browser that follows redirects itself, fills the login form,
//!   presses the consent buttons and stops at the client's redirect URI.
//! - [`profile`]: a [`Profile`], the TOML file that names an
//!   external IdP under test (issuer, client, test user, form hints).
//! - [`control`]: the [`IdpControl`] trait, the one door
//!   to the mock's control surface (clock, faults, ID-token defects, grant
//!   inspection, users, clients, keys), and [`AdminApi`],
//!   its implementation over the admin HTTP API. Scenarios that need it carry
//!   the `@control` tag and are skipped when the IdP under test is external.

pub mod agent;
pub mod control;
pub mod profile;

pub use agent::{Callback, ConsumerAgent, Form, FormHints, Landing, Page};
pub use control::{AdminApi, IdpControl};
pub use profile::Profile;
