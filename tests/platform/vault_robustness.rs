//! Property tests of the platform's credential API: arbitrary bodies of
//! every credential type (known fields with values of any JSON shape,
//! unknown fields, broken JSON) are answered 201, 400 or 409, never a 5xx
//! or a panic; and no answer, saved or refused, ever repeats a value given
//! in a secret field.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use standin::platform::credentials::TYPES;
use standin::platform::{PlatformFixtures, PlatformOptions, PlatformState, router};
use tower::ServiceExt as _;

/// Fields whose values are secrets, in any type.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "token",
    "client_secret",
    "key_store",
    "key_store_password",
    "trust_certificate_password",
    "credentials",
];

/// Every other field some type knows, and a few it does not.
const PLAIN_FIELDS: &[&str] = &[
    "username",
    "token_type",
    "client_id",
    "scope",
    "auth_url",
    "token_url",
    "url",
    "key_store_file_name",
    "key_alias",
    "trust_certificate",
    "trust_certificate_file_name",
    "tls_versions",
    "provider",
    "api_url",
    "redirect_uri",
    "created_at",
    "colour",
];

/// Secret values carry a marker no plain value has, so an answer holding
/// one is caught whatever field it came from.
fn secret_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z0-9]{6,16}".prop_map(|s| json!(format!("sEcReT{s}"))),
        "[ -~]{0,10}".prop_map(|s| json!(format!("sEcReT {s}\n"))),
        "[a-z0-9]{6,16}"
            .prop_map(|s| json!({ "apikey": format!("sEcReT{s}"), "url": "http://127.0.0.1:9/x" })),
        "[a-z0-9]{6,16}".prop_map(|s| json!(format!(
            "{{\"type\":\"service_account\",\"private_key\":\"sEcReT{s}\"}}"
        ))),
    ]
}

fn plain_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[ -~]{0,24}".prop_map(Value::String),
        Just(json!("http://127.0.0.1:1/token")),
        Just(json!(
            "https://idp.example/authorize?client_id=x&response_type=code"
        )),
        Just(json!(["TLSv1.2", "TLSv1.1"])),
        Just(json!("google_dialogflow")),
        Just(json!("ibm_watson")),
        Just(json!("Bearer")),
        any::<i64>().prop_map(|n| json!(n)),
        any::<bool>().prop_map(|b| json!(b)),
        Just(Value::Null),
        Just(json!({ "nested": [1, 2] })),
    ]
}

/// The fields each type knows: (secret fields, plain fields).
fn fields_of(kind: &str) -> (Vec<&'static str>, Vec<&'static str>) {
    match kind {
        "basic_authentication" => (vec!["password"], vec!["username"]),
        "access_token" => (vec!["token"], vec!["token_type"]),
        "oauth2_authorization_code" => (
            vec!["client_secret"],
            vec!["client_id", "scope", "auth_url", "token_url"],
        ),
        "oauth2_client_credentials" => (
            vec!["client_secret"],
            vec!["client_id", "scope", "token_url"],
        ),
        "consumer_authentication" => (vec![], vec!["url"]),
        "mutual_authentication" => (
            vec![
                "key_store",
                "key_store_password",
                "trust_certificate_password",
            ],
            vec![
                "key_store_file_name",
                "trust_certificate",
                "trust_certificate_file_name",
                "tls_versions",
            ],
        ),
        "third_party_nlu" => (vec!["credentials"], vec!["provider", "api_url"]),
        _ => (SECRET_FIELDS.to_vec(), PLAIN_FIELDS.to_vec()),
    }
}

fn body() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        8 => proptest::sample::select(TYPES.to_vec()).prop_map(String::from),
        1 => Just(String::new()),
        1 => "[a-z_]{1,12}",
    ];
    let name = prop_oneof![
        4 => "[a-z][a-z0-9-]{0,10}".prop_map(Value::String),
        1 => "[ -~]{0,12}".prop_map(Value::String),
        1 => Just(Value::Null),
    ];
    (kind, name, any::<bool>())
        .prop_flat_map(|(kind, name, foreign)| {
            // Mostly the type's own fields (so validation runs to the end),
            // sometimes any field (unknown ones are refused up front).
            let (secret, plain) = if foreign {
                (SECRET_FIELDS.to_vec(), PLAIN_FIELDS.to_vec())
            } else {
                fields_of(&kind)
            };
            let secrets = if secret.is_empty() {
                Just(Vec::new()).boxed()
            } else {
                proptest::collection::vec((proptest::sample::select(secret), secret_value()), 0..4)
                    .boxed()
            };
            let plains = if plain.is_empty() {
                Just(Vec::new()).boxed()
            } else {
                proptest::collection::vec((proptest::sample::select(plain), plain_value()), 0..5)
                    .boxed()
            };
            (Just(kind), Just(name), secrets, plains)
        })
        .prop_map(|(kind, name, secrets, plains)| {
            let mut map = Map::new();
            map.insert("type".into(), json!(kind));
            map.insert("name".into(), name);
            for (k, v) in plains {
                map.insert(k.into(), v);
            }
            for (k, v) in secrets {
                map.insert(k.into(), v);
            }
            Value::Object(map)
        })
}

fn platform() -> PlatformState {
    let fixtures = PlatformFixtures::from_toml(
        r#"
[[orgs]]
id = "demo"
[orgs.provider]
issuer = "http://127.0.0.1:9"
client_id = "bot"
client_secret = "bot-secret"
"#,
        "robustness fixtures",
    )
    .unwrap();
    PlatformState::new(
        fixtures,
        PlatformOptions::default(),
        "http://127.0.0.1:8402",
    )
    .unwrap()
}

async fn post(state: &PlatformState, body: Vec<u8>) -> (StatusCode, String) {
    let request = Request::post("/api/orgs/demo/credentials")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let response = router(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[test]
fn arbitrary_credentials_get_a_clear_answer_and_never_echo_a_secret() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let state = platform();
    proptest!(ProptestConfig::with_cases(512), |(body in body())| {
        let (status, text) = runtime.block_on(post(&state, body.to_string().into_bytes()));
        prop_assert!(
            matches!(status.as_u16(), 201 | 400 | 409),
            "{status} for {body}: {text}"
        );
        prop_assert!(!text.contains("sEcReT"), "a secret was echoed for {body}: {text}");
        let answer: Value = serde_json::from_str(&text).expect("JSON answers");
        if status != StatusCode::CREATED {
            let errors = answer["errors"].as_array().expect("an errors list");
            prop_assert!(!errors.is_empty());
            for e in errors {
                prop_assert!(e["field"].is_string() && e["code"].is_string() && e["message"].is_string(), "{e}");
            }
        }
    });
}

#[test]
fn arbitrary_bytes_are_refused_as_400() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let state = platform();
    proptest!(ProptestConfig::with_cases(256), |(bytes in proptest::collection::vec(any::<u8>(), 0..200))| {
        let (status, text) = runtime.block_on(post(&state, bytes.clone()));
        let is_object = serde_json::from_slice::<Value>(&bytes).is_ok_and(|v| v.is_object());
        if !is_object {
            prop_assert_eq!(status, StatusCode::BAD_REQUEST, "{}", text);
        }
        prop_assert!(!status.is_server_error());
    });
}

#[tokio::test]
async fn a_key_store_sized_body_is_validated_and_a_huge_one_refused_in_json() {
    let state = platform();
    let store = "A".repeat(300 * 1024);
    let body = json!({ "type": "mutual_authentication", "name": "big", "key_store": store, "key_store_file_name": "big.p12", "key_store_password": "x" });
    let (status, text) = post(&state, body.to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["errors"][0]["field"], "key_store", "{answer}");

    let (status, text) = post(&state, vec![b' '; 2 * 1024 * 1024]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    let answer: Value = serde_json::from_str(&text).expect("a JSON error");
    assert_eq!(answer["error"], "invalid_request");
}
