//! standin: a stand-in for everything around a bot that calls a brand's API
//! on a consumer's behalf.
//!
//! # Layout
//!
//! - [`clock`]: the one controllable clock every expiry decision reads,
//!   and [`clock::Instant`], a time on it.
//! - [`secret`]: values that redact themselves.
//! - [`server`]: serving a party's router on a bound listener.
//! - [`wire`]: the OAuth 2.0 wire pieces both sides need (RFC 6749 5.2
//!   descriptions, 2.3.1 Basic credentials, the public id of a token).
//! - [`tls`]: serving it over TLS with client certificates, and what a
//!   party reads from a client certificate (subject, RFC 8705 thumbprint).
//! - [`idp`]: the mock brand identity provider (OAuth 2.0 authorization
//!   server and OpenID Provider), embeddable as [`idp::MockIdp`].
//! - [`brand_api`]: the mock brand API (an OAuth resource server), finding the IdP
//!   over HTTP only, embeddable as [`brand_api::MockBrandApi`].
//! - [`nlu`]: a mock third-party NLU service (Dialogflow-like and
//!   Watson-like training endpoints) taking the IdP's service-credential
//!   tokens, embeddable as [`nlu::MockNlu`].
//! - [`pki`]: a CA, server and client certificates for mutual TLS, as PEM,
//!   DER, PKCS#12 and JKS; what `standin certs` writes.
//! - [`platform`]: the reference conversational platform (credentials,
//!   conversations, API integrations, consumer delegation), embeddable as
//!   [`platform::Platform`]. It reaches the brand side over HTTP only.
//! - [`stack`]: one start-up for all of it on one clock (what `standin up`,
//!   the suites, the benches and the example use).
//! - [`conformance`]: what the Gherkin conformance suite drives: a consumer
//!   agent that signs in through HTML forms, the control-surface trait, and
//!   the profile naming an external IdP under test.
//! - [`conform`]: `standin conform`, the gate a brand runs against its own
//!   IdP: the embedded platform as its client, checks compiled in as
//!   Gherkin, verdicts and reports.
//!
//! # Features
//!
//! Everything is on by default. To compile only what you use:
//!
//! | feature | what | modules |
//! |---|---|---|
//! | `idp` | the mock IdP, its test PKI and TLS serving | [`idp`], [`pki`], [`tls`] |
//! | `brand-api` | the mock brand API and NLU service (with `idp`) | [`brand_api`], [`nlu`] |
//! | `platform` | the reference platform | [`platform`] |
//! | `conformance` | the conformance agent and the gate (with `idp`, `platform`) | [`conformance`], [`conform`] |
//! | `cli` (default) | all of the above and the `standin` command | |
//!
//! [`clock`], [`secret`], [`server`] and [`wire`] are always there; [`stack`]
//! comes with `brand-api` and `platform`. Embedding the IdP alone in a
//! test: `standin = { version = "0.1", default-features = false, features
//! = ["idp"] }`.

#[cfg(feature = "brand-api")]
pub mod brand_api;
pub mod clock;
#[cfg(feature = "conformance")]
pub mod conform;
#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "idp")]
pub mod idp;
#[cfg(feature = "brand-api")]
pub mod nlu;
#[cfg(feature = "idp")]
pub mod pki;
#[cfg(feature = "platform")]
pub mod platform;
pub mod secret;
pub mod server;
#[cfg(all(feature = "brand-api", feature = "platform"))]
pub mod stack;
#[cfg(feature = "idp")]
pub mod tls;
pub mod wire;

#[cfg(feature = "brand-api")]
pub use brand_api::MockBrandApi;
#[cfg(feature = "idp")]
pub use idp::MockIdp;
#[cfg(feature = "platform")]
pub use platform::Platform;
