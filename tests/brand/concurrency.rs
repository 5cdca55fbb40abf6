//! One slow client never blocks the others: a client that sends half a
//! request and stalls, and a request the IdP itself delays, leave every
//! other request answered promptly.

use std::time::{Duration, Instant};

use standin::idp::{Endpoint, Fault, Fixtures, MockIdp};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn client_credentials(http: &reqwest::Client, issuer: &str) -> reqwest::StatusCode {
    http.post(format!("{issuer}/token"))
        .basic_auth("demo-service", Some("demo-service-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_half_request_does_not_block_other_clients() {
    let idp = MockIdp::start(Fixtures::default_brand()).await.unwrap();
    // Twenty connections that send headers promising a body, then stall.
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(idp.addr()).await.unwrap();
        s.write_all(
            b"POST /token HTTP/1.1\r\nHost: idp\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type=cl",
        )
        .await
        .unwrap();
        stalled.push(s);
    }
    let http = client();
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(client_credentials(&http, idp.issuer()).await, 200);
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "five token requests took {:?} beside stalled clients",
        started.elapsed()
    );
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_response_does_not_delay_the_next_client() {
    let idp = MockIdp::start(Fixtures::default_brand()).await.unwrap();
    idp.control()
        .push_fault(Endpoint::Token, Fault::Delay { delay_ms: 1_500 }, 1)
        .unwrap();
    let http = client();
    let slow = {
        let (http, issuer) = (http.clone(), idp.issuer().to_string());
        tokio::spawn(async move {
            let started = Instant::now();
            let status = client_credentials(&http, &issuer).await;
            (status, started.elapsed())
        })
    };
    // The slow request must take the fault first: wait until it has.
    let deadline = Instant::now() + Duration::from_secs(2);
    while idp.control().faults().pending(Endpoint::Token) > 0 {
        assert!(
            Instant::now() < deadline,
            "the first request never reached the IdP"
        );
        tokio::task::yield_now().await;
    }
    let started = Instant::now();
    assert_eq!(client_credentials(&http, idp.issuer()).await, 200);
    let fast = started.elapsed();
    let (status, slow_elapsed) = slow.await.unwrap();
    assert_eq!(status, 200);
    assert!(
        slow_elapsed >= Duration::from_millis(1_400),
        "{slow_elapsed:?}"
    );
    assert!(
        fast < Duration::from_secs(1),
        "the next client waited {fast:?}"
    );
}
