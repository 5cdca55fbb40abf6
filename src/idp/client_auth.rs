//! Client authentication at the token, introspection and revocation
//! endpoints: `client_secret_basic` (RFC 6749 2.3.1, with its
//! form-urlencoding of id and secret), `client_secret_post`, `none` for
//! public clients, and `tls_client_auth` (RFC 8705 2.1): `client_id` in the
//! body, no secret, and a TLS client certificate (chained to the IdP's
//! client CA by the TLS listener) whose subject is the registered DN. Using
//! two methods at once is refused (RFC 6749 2.3).
//!
//! A `tls_client_auth` client without the right certificate gets 401
//! `invalid_client` (RFC 6749 5.2); the challenge is the endpoint's Basic
//! one, there being no HTTP scheme for TLS client authentication.

use axum::http::{HeaderMap, header};
use base64::Engine as _;

use super::error::TokenError;
use super::fixtures::{AuthMethod, ClientConfig};
use super::http::Params;
use super::state::Store;
use crate::tls::{PeerCertificates, SubjectDn, x5t_s256};
use crate::wire::ClientId;

/// Credentials as presented, before any lookup.
#[derive(Debug, PartialEq, Eq)]
enum Presented {
    Basic { id: ClientId, secret: String },
    Post { id: ClientId, secret: String },
    None { id: ClientId },
}

fn invalid_client(description: &str, basic: bool) -> TokenError {
    TokenError::InvalidClient {
        description: description.to_string(),
        basic,
    }
}

/// Decode one half of a Basic credential: RFC 6749 2.3.1 form-urlencodes the
/// client id and secret before they are joined with `:`.
fn form_decode(part: &str) -> String {
    url::form_urlencoded::parse(format!("x={part}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn parse_basic(value: &str) -> Result<(String, String), TokenError> {
    let malformed = || invalid_client("malformed HTTP Basic credentials", true);
    let (scheme, encoded) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok((form_decode(id), form_decode(secret)))
}

fn presented(headers: &HeaderMap, params: &Params) -> Result<Presented, TokenError> {
    let repeated = |r: super::http::Repeated| {
        TokenError::invalid_request(format!("parameter `{}` is repeated", r.0))
    };
    let body_id = params.get("client_id").map_err(repeated)?;
    let body_secret = params.get("client_secret").map_err(repeated)?;
    let authorization = headers.get(header::AUTHORIZATION);
    match authorization {
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| invalid_client("malformed Authorization header", true))?;
            if body_secret.is_some() {
                return Err(TokenError::invalid_request(
                    "the client authenticated with both HTTP Basic and client_secret; use one method",
                ));
            }
            let (id, secret) = parse_basic(value)?;
            if body_id.is_some_and(|b| b != id) {
                return Err(TokenError::invalid_request(
                    "client_id in the body differs from the HTTP Basic client",
                ));
            }
            Ok(Presented::Basic {
                id: ClientId::new(id),
                secret,
            })
        }
        None => match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok(Presented::Post {
                id: ClientId::new(id),
                secret: secret.to_string(),
            }),
            (Some(id), None) => Ok(Presented::None {
                id: ClientId::new(id),
            }),
            (None, Some(_)) => Err(TokenError::invalid_request(
                "client_secret without client_id",
            )),
            (None, None) => Err(invalid_client(
                "no client authentication in the request",
                false,
            )),
        },
    }
}

/// Authenticate the client of a request that came without a TLS client
/// certificate; returns its registration.
pub fn authenticate(
    store: &Store,
    headers: &HeaderMap,
    params: &Params,
) -> Result<ClientConfig, TokenError> {
    authenticate_with_certificate(store, headers, params, None)
}

/// A `tls_client_auth` client by its certificate (RFC 8705 2.1.2). The
/// registration comes back with the certificate's thumbprint, to which the
/// tokens minted for this request are bound.
fn by_certificate(
    client: &ClientConfig,
    peer: Option<&PeerCertificates>,
) -> Result<ClientConfig, TokenError> {
    let Some(cert) = peer.and_then(PeerCertificates::end_entity) else {
        return Err(invalid_client(
            "this client authenticates with a TLS client certificate (tls_client_auth, RFC 8705): present it at the mtls_endpoint_aliases endpoints",
            true,
        ));
    };
    let registered = client
        .tls_client_auth_subject_dn
        .as_deref()
        .and_then(|dn| SubjectDn::parse(dn).ok());
    if !registered.is_some_and(|dn| dn.matches(cert)) {
        return Err(invalid_client(
            "the TLS client certificate's subject is not the one registered for this client",
            true,
        ));
    }
    let mut client = client.clone();
    client.certificate_thumbprint = Some(x5t_s256(cert));
    Ok(client)
}

/// Authenticate the client of a request whose TLS client presented `peer`
/// (`None` over plain HTTP); returns its registration.
pub fn authenticate_with_certificate(
    store: &Store,
    headers: &HeaderMap,
    params: &Params,
    peer: Option<&PeerCertificates>,
) -> Result<ClientConfig, TokenError> {
    authenticate_as(store, headers, params, peer, false)
}

/// [`authenticate_with_certificate`]; with `any_secret` (the
/// `wrong_secret_accepted` quirk) a client secret is not compared.
pub fn authenticate_as(
    store: &Store,
    headers: &HeaderMap,
    params: &Params,
    peer: Option<&PeerCertificates>,
    any_secret: bool,
) -> Result<ClientConfig, TokenError> {
    let presented = presented(headers, params)?;
    let (id, secret, method) = match &presented {
        Presented::Basic { id, secret } => (id, Some(secret), AuthMethod::ClientSecretBasic),
        Presented::Post { id, secret } => (id, Some(secret), AuthMethod::ClientSecretPost),
        Presented::None { id } => (id, None, AuthMethod::None),
    };
    let basic = method == AuthMethod::ClientSecretBasic;
    let client = store
        .clients
        .get(id.as_str())
        .ok_or_else(|| invalid_client("unknown client or wrong credentials", basic))?;
    if method == AuthMethod::None && client.uses_tls_client_auth() {
        return by_certificate(client, peer);
    }
    match (&client.secret, secret) {
        (Some(expected), Some(given)) => {
            if !any_secret && !expected.matches(given) {
                return Err(invalid_client("unknown client or wrong credentials", basic));
            }
        }
        (Some(_), None) => {
            return Err(invalid_client(
                "this client is confidential: authenticate with its secret",
                false,
            ));
        }
        (None, Some(_)) if client.uses_tls_client_auth() => {
            return Err(invalid_client(
                "this client has no secret: it authenticates with its TLS client certificate (tls_client_auth)",
                basic,
            ));
        }
        (None, Some(_)) => {
            return Err(invalid_client(
                "this public client has no secret to present",
                basic,
            ));
        }
        (None, None) => {}
    }
    if !client.auth_methods().contains(&method) {
        return Err(invalid_client(
            &format!("this client is not registered for {}", method.as_str()),
            basic,
        ));
    }
    Ok(client.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    use crate::idp::fixtures::Fixtures;

    fn store() -> Store {
        Store::from_fixtures(&Fixtures::default_brand())
    }

    fn basic(id: &str, secret: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {v}")).unwrap(),
        );
        h
    }

    #[test]
    fn basic_and_post_both_work_and_both_at_once_does_not() {
        let s = store();
        let none = Params::parse(b"");
        assert_eq!(
            authenticate(&s, &basic("demo-bot", "demo-bot-secret"), &none)
                .unwrap()
                .id,
            "demo-bot"
        );
        let post = Params::parse(b"client_id=demo-bot&client_secret=demo-bot-secret");
        assert_eq!(
            authenticate(&s, &HeaderMap::new(), &post).unwrap().id,
            "demo-bot"
        );
        let both = authenticate(&s, &basic("demo-bot", "demo-bot-secret"), &post).unwrap_err();
        assert_eq!(both.code(), "invalid_request");
    }

    #[test]
    fn wrong_secret_over_basic_is_a_challenge() {
        let err =
            authenticate(&store(), &basic("demo-bot", "nope"), &Params::parse(b"")).unwrap_err();
        assert!(matches!(err, TokenError::InvalidClient { basic: true, .. }));
    }

    #[test]
    fn basic_halves_are_form_decoded() {
        assert_eq!(
            parse_basic(&format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("a%3Ab:c+d%25")
            ))
            .unwrap(),
            ("a:b".to_string(), "c d%".to_string())
        );
    }

    fn tls_store(dn: &str) -> Store {
        let text = format!(
            "[[clients]]\nid = \"mtls-bot\"\ngrant_types = [\"client_credentials\"]\nscopes = [\"orders:read\"]\ntoken_endpoint_auth_method = \"tls_client_auth\"\ntls_client_auth_subject_dn = \"{dn}\"\n"
        );
        Store::from_fixtures(&Fixtures::parse(&text, "t.toml").unwrap())
    }

    fn cert(subject: &str) -> PeerCertificates {
        use crate::pki::{Ca, Validity};
        let ca = Ca::generate("unit CA").unwrap();
        let now = crate::clock::Clock::new().now();
        let issued = ca
            .issue_client(subject, Validity::days_from(now, 1))
            .unwrap();
        PeerCertificates(vec![issued.cert_der().clone()])
    }

    #[test]
    fn tls_client_auth_needs_a_certificate_with_the_registered_subject() {
        let s = tls_store("CN=mtls-bot");
        assert!(!s.clients["mtls-bot"].is_public());
        let p = Params::parse(b"client_id=mtls-bot");
        let good = cert("mtls-bot");
        let client = authenticate_with_certificate(&s, &HeaderMap::new(), &p, Some(&good)).unwrap();
        assert_eq!(
            client.certificate_thumbprint,
            good.thumbprint(),
            "tokens get bound to the presented certificate"
        );
        for peer in [
            None,
            Some(PeerCertificates::default()),
            Some(cert("someone")),
        ] {
            let err = authenticate_with_certificate(&s, &HeaderMap::new(), &p, peer.as_ref())
                .unwrap_err();
            assert!(
                matches!(err, TokenError::InvalidClient { basic: true, .. }),
                "{peer:?}: {err:?}"
            );
        }
        let with_secret = Params::parse(b"client_id=mtls-bot&client_secret=x");
        let err = authenticate_with_certificate(&s, &HeaderMap::new(), &with_secret, Some(&good))
            .unwrap_err();
        assert_eq!(err.code(), "invalid_client");
    }

    #[test]
    fn a_tls_client_auth_registration_needs_a_valid_subject_dn() {
        let base = "[[clients]]\nid = \"m\"\ngrant_types = [\"client_credentials\"]\n";
        let err = Fixtures::parse(
            &format!("{base}auth_methods = [\"tls_client_auth\"]\n"),
            "t",
        )
        .unwrap_err();
        assert!(err.message.contains("tls_client_auth_subject_dn"), "{err}");
        let err = Fixtures::parse(
            &format!("{base}auth_methods = [\"tls_client_auth\"]\ntls_client_auth_subject_dn = \"nonsense\"\n"),
            "t",
        )
        .unwrap_err();
        assert!(err.message.contains("RFC 4514"), "{err}");
        let err = Fixtures::parse(
            &format!("{base}secret = \"s\"\ntls_client_auth_subject_dn = \"CN=m\"\n"),
            "t",
        )
        .unwrap_err();
        assert!(
            err.message.contains("only for a client registered"),
            "{err}"
        );
    }

    #[test]
    fn public_clients_authenticate_with_their_id_only() {
        let s = store();
        let p = Params::parse(b"client_id=demo-spa");
        assert_eq!(
            authenticate(&s, &HeaderMap::new(), &p).unwrap().id,
            "demo-spa"
        );
        let p = Params::parse(b"client_id=demo-bot");
        assert_eq!(
            authenticate(&s, &HeaderMap::new(), &p).unwrap_err().code(),
            "invalid_client"
        );
    }
}
