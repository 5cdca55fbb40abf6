//! standin: a stand-in for everything around a bot that calls a brand's API
//! on a consumer's behalf.
//!
//! # Layout
//!
//! - [`clock`]: the one controllable clock every expiry decision reads.
//! - [`secret`]: values that redact themselves.
//! - [`idp`]: the mock brand identity provider (OAuth 2.0 authorization
//!   server and OpenID Provider), embeddable as [`idp::MockIdp`].
//! - [`conformance`]: what the Gherkin conformance suite drives: a consumer
//!   agent that signs in through HTML forms, the control-surface trait, and
//!   the profile naming an external IdP under test.

pub mod clock;
pub mod conformance;
pub mod idp;
pub mod secret;

pub use idp::MockIdp;
