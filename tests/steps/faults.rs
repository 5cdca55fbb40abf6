//! Faults the mock injects on request (`@control`), and what the bot sees of
//! them: a failing status with a body, a 200 that is not JSON, a slow
//! answer. The steps here queue them and check what came back.

use std::time::Duration;

use anyhow::{anyhow, ensure};
use cucumber::{given, then};
use standin::conformance::control::{Endpoint, Fault};

use super::IdpWorld;

/// Queue `fault` for the next `count` requests to the endpoint named `endpoint`.
async fn queue_fault(
    world: &mut IdpWorld,
    endpoint: &str,
    fault: Fault,
    count: u32,
) -> anyhow::Result<()> {
    let endpoint: Endpoint = endpoint.parse().map_err(|e: String| anyhow!(e))?;
    world.control()?.queue_fault(endpoint, fault, count).await?;
    Ok(())
}

/// A failing status with a JSON content type and this body.
fn status_fault(status: u16, body: String) -> Fault {
    Fault::Status {
        status,
        body,
        content_type: "application/json".into(),
    }
}

#[given(expr = "the IdP's {word} endpoint fails {int} time(s) with status {int}")]
async fn fault_status(
    world: &mut IdpWorld,
    endpoint: String,
    count: u32,
    status: u16,
) -> anyhow::Result<()> {
    queue_fault(world, &endpoint, status_fault(status, String::new()), count).await
}

#[given(
    expr = "the IdP's {word} endpoint fails {int} time(s) with status {int} and the body {string}"
)]
async fn fault_status_body(
    world: &mut IdpWorld,
    endpoint: String,
    count: u32,
    status: u16,
    body: String,
) -> anyhow::Result<()> {
    queue_fault(world, &endpoint, status_fault(status, body), count).await
}

#[given(expr = "the IdP's {word} endpoint answers {int} time(s) with a body that is not JSON")]
async fn fault_malformed(world: &mut IdpWorld, endpoint: String, count: u32) -> anyhow::Result<()> {
    queue_fault(world, &endpoint, Fault::MalformedJson, count).await
}

#[given(expr = "the IdP's {word} endpoint answers {int} time(s) after a delay of {int} ms")]
async fn fault_delay(
    world: &mut IdpWorld,
    endpoint: String,
    count: u32,
    delay_ms: u64,
) -> anyhow::Result<()> {
    queue_fault(world, &endpoint, Fault::Delay { delay_ms }, count).await
}

#[then(expr = "the answer has status {int}")]
#[then(expr = "the token endpoint answers with status {int}")]
fn answer_status(world: &mut IdpWorld, status: u16) -> anyhow::Result<()> {
    world.exchange()?.expect_status(status)
}

#[then(expr = "the answer has status {int} and the body {string}")]
fn answer_status_body(world: &mut IdpWorld, status: u16, body: String) -> anyhow::Result<()> {
    answer_status(world, status)?;
    let exchange = world.exchange()?;
    ensure!(
        exchange.body == body,
        "expected the body {body:?}, got {} bytes that differ",
        exchange.body.len()
    );
    Ok(())
}

#[then("the answer is a 200 whose body is not JSON")]
fn answer_not_json(world: &mut IdpWorld) -> anyhow::Result<()> {
    answer_status(world, 200)?;
    let exchange = world.exchange()?;
    ensure!(
        !exchange.body.is_empty() && exchange.json.is_none(),
        "expected a non-empty body that does not parse as JSON, got {}",
        exchange.summary()
    );
    Ok(())
}

#[then(expr = "the answer took at least {int} ms")]
fn answer_slow(world: &mut IdpWorld, ms: u64) -> anyhow::Result<()> {
    let elapsed = world.exchange()?.elapsed;
    ensure!(
        elapsed >= Duration::from_millis(ms),
        "the answer came after {elapsed:?}, expected a delay of at least {ms} ms"
    );
    Ok(())
}
