//! One run of the gate: the IdP's discovery document fetched (a run that
//! cannot start says so in one line), the checks chosen (the profile's
//! flows, `--tags`), run as Gherkin scenarios with the vocabulary of
//! [`super::steps`], each turned into a verdict.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::tag::Ext as _;
use cucumber::{WriterExt as _, event, gherkin, writer};
use serde_json::Value;

use super::features::{self, Features, Source};
use super::report::{Check, Finding, Report, Verdict};
use super::world::{ConformWorld, RunContext, callback_parts, set_context};
use crate::conformance::Profile;

/// Scenarios in flight at once: each has its own platform, its own
/// browser; the IdP sees a handful of consumers signing in together.
const CONCURRENCY: usize = 4;

/// How to run.
pub struct Options {
    pub profile: Profile,
    pub source: Source,
    /// A tag expression (`@discovery and not @slow`): only the checks it
    /// selects run.
    pub tags: Option<String>,
    /// The whole run's limit, overriding the profile's `run_secs`.
    pub timeout: Option<Duration>,
    /// Where Cucumber JSON goes, if anywhere.
    pub cucumber_json: Option<std::path::PathBuf>,
    /// Drive the consumer's browser as real headless Chromium.
    pub chromium: bool,
}

/// Why a run could not start (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// A tag of the built-in checks that needs something of the profile or
/// the IdP, and why it is skipped without it.
fn skip_reason(tag: &str, profile: &Profile, discovery: &Value) -> Option<String> {
    match tag {
        "consumer_authentication" if !profile.flows.consumer_authentication => {
            Some("consumer authentication is off in the profile's [flows]".into())
        }
        "other_client" if profile.other_client.is_none() => {
            Some("the profile names no [other_client]".into())
        }
        "pre_authentication" if !profile.flows.pre_authentication => {
            Some("consumer pre-authentication is off in the profile's [flows]".into())
        }
        "client_credentials" if !profile.flows.client_credentials => {
            Some("client credentials is off in the profile's [flows]".into())
        }
        "revocation" if discovery.get("revocation_endpoint").is_none() => {
            Some("discovery names no revocation_endpoint (RFC 8414 2)".into())
        }
        "introspection" if discovery.get("introspection_endpoint").is_none() => {
            Some("discovery names no introspection_endpoint (RFC 8414 2)".into())
        }
        "userinfo" if discovery.get("userinfo_endpoint").is_none() && profile.api.url.is_none() => {
            Some("discovery names no userinfo_endpoint and the profile no [api] url".into())
        }
        _ => None,
    }
}

fn tags_of<'a>(
    feature: &'a gherkin::Feature,
    scenario: &'a gherkin::Scenario,
) -> impl Iterator<Item = &'a str> {
    feature
        .tags
        .iter()
        .chain(scenario.tags.iter())
        .map(|t| t.trim_start_matches('@'))
}

/// Fetch the discovery document: the one thing without which no check
/// can run.
async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Value, StartError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let response = http.get(&url).send().await.map_err(|e| {
        StartError(format!(
            "the issuer {issuer} cannot be reached: GET {url}: {}",
            if e.is_timeout() {
                "no answer within the request time limit".to_string()
            } else if e.is_connect() {
                "the connection was refused or the host is unknown".to_string()
            } else {
                e.without_url().to_string()
            }
        ))
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(StartError(format!(
            "the issuer {issuer} has no discovery document: GET {url} answered {status} (OIDC Discovery 1.0 section 4)"
        )));
    }
    response.json().await.map_err(|_| {
        StartError(format!(
            "the issuer {issuer}'s discovery document at {url} is not JSON (OIDC Discovery 1.0 section 4.2)"
        ))
    })
}

/// The message of a failed step.
fn failure_message(error: &event::StepError) -> String {
    match error {
        event::StepError::Panic(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the step failed".into()),
        other => other.to_string(),
    }
}

/// Run the checks of `options` against the profile's IdP.
pub async fn run(options: Options) -> Result<Report, StartError> {
    let started = Instant::now();
    let profile = Arc::new(options.profile);
    callback_parts(&profile.redirect_uri).map_err(StartError)?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(profile.timeouts.request_secs))
        .build()
        .map_err(|e| StartError(format!("cannot build the HTTP client: {e}")))?;
    let discovery = discover(&http, &profile.issuer).await?;
    let platform_http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(profile.timeouts.request_secs * 3 + 5))
        .build()
        .map_err(|e| StartError(format!("cannot build the HTTP client: {e}")))?;
    let tags = match &options.tags {
        Some(expr) => Some(
            expr.parse::<TagOperation>()
                .map_err(|e| StartError(format!("--tags {expr:?} is not a tag expression: {e}")))?,
        ),
        None => None,
    };

    // Which checks run, and which are skipped and why.
    let mut report = Report {
        issuer: profile.issuer.clone(),
        client_id: profile.client_id.clone(),
        ..Report::default()
    };
    let mut skipped: HashMap<(String, String), String> = HashMap::new();
    for feature in features::load(&options.source) {
        let feature =
            feature.map_err(|e| StartError(format!("a feature file does not parse: {e}")))?;
        for scenario in &feature.scenarios {
            let selected = tags
                .as_ref()
                .is_none_or(|op| op.eval(feature.tags.iter().chain(scenario.tags.iter())));
            if !selected {
                continue;
            }
            let reason =
                tags_of(&feature, scenario).find_map(|t| skip_reason(t, &profile, &discovery));
            if let Some(reason) = reason {
                let (rule, _) = features::rule_and_fix(scenario);
                report.checks.push(Check {
                    feature: feature.name.clone(),
                    name: scenario.name.clone(),
                    verdict: Verdict::Skip,
                    rule,
                    findings: vec![Finding {
                        rule: String::new(),
                        message: reason.clone(),
                        fix: String::new(),
                    }],
                    fix: String::new(),
                    duration_ms: 0,
                    exchanges: Vec::new(),
                });
                skipped.insert((feature.name.clone(), scenario.name.clone()), reason);
            }
        }
    }

    let chromium = if options.chromium {
        Some(Arc::new(
            super::chromium::Driver::start().await.map_err(StartError)?,
        ))
    } else {
        None
    };
    set_context(Some(Arc::new(RunContext {
        profile: profile.clone(),
        discovery,
        http,
        platform_http,
        chromium,
    })));
    let results: Arc<Mutex<Vec<Check>>> = Arc::default();
    let collected = results.clone();
    let json_out: Box<dyn std::io::Write> = match &options.cucumber_json {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| StartError(format!("cannot create {}: {e}", path.display())))?,
        ),
        None => Box::new(std::io::sink()),
    };
    let filter = move |feature: &gherkin::Feature,
                       _: Option<&gherkin::Rule>,
                       scenario: &gherkin::Scenario| {
        !skipped.contains_key(&(feature.name.clone(), scenario.name.clone()))
            && tags
                .as_ref()
                .is_none_or(|op| op.eval(feature.tags.iter().chain(scenario.tags.iter())))
    };
    let cucumber = cucumber::Cucumber::<ConformWorld, _, std::path::PathBuf, _, _>::new()
        .with_parser(Features)
        .with_writer(
            writer::Basic::raw(std::io::sink(), writer::Coloring::Never, 0)
                .summarized()
                .tee::<ConformWorld, _>(writer::Json::for_tee(json_out))
                .normalized(),
        )
        .steps(super::steps::collection())
        .max_concurrent_scenarios(CONCURRENCY)
        .after(move |feature, _, scenario, finished, world| {
            let collected = collected.clone();
            Box::pin(async move {
                let (rule, fix) = features::rule_and_fix(scenario);
                let warnings = world.as_ref().map(|w| w.warnings.clone()).unwrap_or_default();
                let duration_ms = world
                    .as_ref()
                    .map(|w| u64::try_from(w.started.elapsed().as_millis()).unwrap_or(u64::MAX))
                    .unwrap_or(0);
                let mut findings: Vec<Finding> = Vec::new();
                let verdict = match finished {
                    event::ScenarioFinished::StepFailed(_, _, error) => {
                        let message = failure_message(error);
                        let verdict = if message.starts_with(super::steps::NOT_CHECKED)
                            || message.starts_with(super::world::CANNOT_DRIVE)
                        {
                            Verdict::Skip
                        } else {
                            Verdict::Fail
                        };
                        findings.push(Finding {
                            rule: String::new(),
                            message,
                            fix: String::new(),
                        });
                        verdict
                    }
                    event::ScenarioFinished::BeforeHookFailed(_) => {
                        findings.push(Finding {
                            rule: String::new(),
                            message: "the check could not be set up".into(),
                            fix: String::new(),
                        });
                        Verdict::Fail
                    }
                    event::ScenarioFinished::StepSkipped => {
                        findings.push(Finding {
                            rule: String::new(),
                            message: "a step of this check is not in the vocabulary (standin conform --list-steps)".into(),
                            fix: String::new(),
                        });
                        Verdict::Fail
                    }
                    event::ScenarioFinished::StepPassed if warnings.is_empty() => Verdict::Pass,
                    event::ScenarioFinished::StepPassed => Verdict::Warn,
                };
                findings.extend(warnings.into_iter().map(|w| Finding {
                    rule: w.rule,
                    message: w.message,
                    fix: w.fix,
                }));
                let exchanges = match (verdict, world) {
                    (Verdict::Warn | Verdict::Fail, Some(w)) => w.exchanges_shown().await,
                    _ => Vec::new(),
                };
                collected
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(Check {
                        feature: feature.name.clone(),
                        name: scenario.name.clone(),
                        verdict,
                        rule,
                        findings,
                        fix,
                        duration_ms,
                        exchanges,
                    });
            })
        })
        .with_default_cli();
    let limit = options
        .timeout
        .unwrap_or(Duration::from_secs(profile.timeouts.run_secs));
    let finished = tokio::time::timeout(limit, cucumber.filter_run(options.source, filter)).await;
    set_context(None);
    let mut checks = std::mem::take(&mut *results.lock().unwrap_or_else(|e| e.into_inner()));
    if finished.is_err() {
        checks.push(Check {
            feature: "run".into(),
            name: "The run ends within its time limit".into(),
            verdict: Verdict::Fail,
            rule: "the profile's [timeouts] run_secs".into(),
            findings: vec![Finding {
                rule: String::new(),
                message: format!(
                    "the run did not end within {} s; the checks not listed did not finish (an IdP endpoint that hangs?)",
                    limit.as_secs()
                ),
                fix: String::new(),
            }],
            fix: "make every endpoint answer within the request time limit".into(),
            duration_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            exchanges: Vec::new(),
        });
    }
    let mut run_errors: Vec<String> = checks
        .iter()
        .flat_map(|c| c.findings.iter())
        .filter_map(|f| f.message.strip_prefix(super::world::CANNOT_DRIVE))
        .map(str::to_string)
        .collect();
    run_errors.sort();
    run_errors.dedup();
    report.run_errors = run_errors;
    report.checks.extend(checks);
    report
        .checks
        .sort_by(|a, b| a.feature.cmp(&b.feature).then(a.name.cmp(&b.name)));
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut secrets = vec![
        profile.client_secret.expose(),
        profile.user.password.expose(),
    ];
    if let Some(other) = &profile.other_client {
        secrets.push(other.client_secret.expose());
    }
    report.scrub(&secrets);
    let _ = std::io::stdout().flush();
    Ok(report)
}
