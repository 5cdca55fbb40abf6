//! Client authentication at the token, introspection and revocation
//! endpoints: `client_secret_basic` (RFC 6749 2.3.1, with its
//! form-urlencoding of id and secret), `client_secret_post`, and `none` for
//! public clients. Using two methods at once is refused (RFC 6749 2.3).

use axum::http::{HeaderMap, header};
use base64::Engine as _;

use super::error::TokenError;
use super::fixtures::{AuthMethod, ClientConfig};
use super::http::Params;
use super::state::Store;

/// Credentials as presented, before any lookup.
#[derive(Debug, PartialEq, Eq)]
enum Presented {
    Basic { id: String, secret: String },
    Post { id: String, secret: String },
    None { id: String },
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
            Ok(Presented::Basic { id, secret })
        }
        None => match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok(Presented::Post {
                id: id.to_string(),
                secret: secret.to_string(),
            }),
            (Some(id), None) => Ok(Presented::None { id: id.to_string() }),
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

/// Authenticate the client of a request; returns its registration.
pub fn authenticate(
    store: &Store,
    headers: &HeaderMap,
    params: &Params,
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
    match (&client.secret, secret) {
        (Some(expected), Some(given)) => {
            if !expected.matches(given) {
                return Err(invalid_client("unknown client or wrong credentials", basic));
            }
        }
        (Some(_), None) => {
            return Err(invalid_client(
                "this client is confidential: authenticate with its secret",
                false,
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
