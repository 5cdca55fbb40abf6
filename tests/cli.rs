//! The `standin` binary: help, a bad fixtures file refused with its file,
//! line and field, and `standin idp` serving on the port it prints.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

fn standin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_standin"))
}

#[test]
fn help_explains_each_command() {
    let out = standin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for command in ["up", "idp"] {
        assert!(text.contains(command), "{command} missing from:\n{text}");
    }
    let out = standin().args(["idp", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in ["--port", "--fixtures", "--host", "--issuer"] {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
}

#[test]
fn a_bad_fixtures_file_is_refused_naming_file_line_and_field() {
    let dir = std::env::temp_dir().join(format!("standin-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken-brand.toml");
    std::fs::write(
        &path,
        "[idp]\ncode_ttl_secs = 60\n\n[[clients]]\nid = \"bot\"\nsecret = \"s\"\nredirect_uris = [\"not a url\"]\n",
    )
    .unwrap();
    let out = standin()
        .args(["idp", "--port", "0", "--fixtures"])
        .arg(&path)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a broken fixtures file must stop start-up"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken-brand.toml:7:"),
        "file and line missing:\n{err}"
    );
    assert!(err.contains("redirect_uris[0]"), "field missing:\n{err}");
    assert!(
        !err.contains("backtrace"),
        "a user error is one line, not a backtrace:\n{err}"
    );
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn idp_serves_discovery_at_the_issuer_it_prints() {
    let mut child = standin()
        .args(["idp", "--port", "0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let issuer = line
        .trim()
        .strip_prefix("mock brand IdP: ")
        .map(str::to_string);
    let result = issuer.as_deref().map(|issuer| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
                .await?
                .json::<serde_json::Value>()
                .await
        })
    });
    child.kill().ok();
    child.wait().ok();
    drop(stdout);
    let issuer = issuer.unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let metadata = result.unwrap().unwrap();
    assert_eq!(metadata["issuer"], issuer.as_str());
}

/// `standin conform` against the mock IdP, started here: the gate's
/// verdicts, exit codes and reports.
mod conform {
    use std::path::{Path, PathBuf};

    use standin::idp::{Endpoint, Fault, Fixtures, IdTokenDefect, MockIdp};

    /// A profile for `issuer` with the default brand's client and user,
    /// written in a fresh directory.
    fn profile(dir: &Path, issuer: &str, client_secret: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/profile.example.toml"),
        )
        .unwrap()
        .replace("http://127.0.0.1:8400", issuer)
        .replace("\"demo-bot-secret\"", &format!("{client_secret:?}"));
        let path = dir.join("profile.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("standin-conform-{name}-{}", std::process::id()))
    }

    struct Run {
        code: i32,
        stdout: String,
        stderr: String,
    }

    async fn conform(args: &[&str]) -> Run {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_standin"))
            .arg("conform")
            .args(args)
            .output()
            .await
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The verdict line of `check`.
    fn verdict<'a>(run: &'a Run, check: &str) -> &'a str {
        run.stdout
            .lines()
            .find(|l| l.contains(check))
            .unwrap_or_else(|| panic!("no check {check:?} in\n{}", run.stdout))
            .split_whitespace()
            .next()
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn every_check_passes_against_the_mock_and_the_reports_are_written() {
        let idp = MockIdp::start(Fixtures::default_brand()).await.unwrap();
        // A client that may use both flows.
        let client: standin::idp::ClientConfig = serde_json::from_value(serde_json::json!({
            "id": "gate-bot",
            "secret": "gate-bot-secret",
            "redirect_uris": ["http://127.0.0.1:8402/callback/demo/redirectCode"],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "scopes": ["openid", "profile"],
        }))
        .unwrap();
        idp.control().add_client(client).unwrap();
        let d = dir("pass");
        let p = profile(&d, idp.issuer(), "demo-bot-secret");
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("\"demo-bot\"", "\"gate-bot\"")
            .replace("\"demo-bot-secret\"", "\"gate-bot-secret\"")
            + "\n[flows]\nclient_credentials = true\npre_authentication = true\n\n[other_client]\nclient_id = \"demo-service\"\nclient_secret = \"demo-service-secret\"\n";
        std::fs::write(&p, text).unwrap();
        let (junit, json, verdicts) = (d.join("j.xml"), d.join("c.json"), d.join("v.json"));
        let run = conform(&[
            "--profile",
            p.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--verdicts",
            verdicts.to_str().unwrap(),
        ])
        .await;
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains("23 checks: 23 passed"),
            "{}",
            run.stdout
        );
        let xml = std::fs::read_to_string(&junit).unwrap();
        assert_eq!(xml.matches("<testcase").count(), 23, "{xml}");
        let cucumber: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(cucumber.as_array().map(Vec::len), Some(7), "seven features");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&verdicts).unwrap()).unwrap();
        assert!(
            v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["verdict"] == "PASS")
        );
        // The client secret and the password are in no report.
        for text in [run.stdout, xml, cucumber.to_string(), v.to_string()] {
            assert!(
                !text.contains("gate-bot-secret")
                    && !text.contains("alice-password")
                    && !text.contains("demo-service-secret")
            );
        }
        let _ = std::fs::remove_dir_all(d);
    }

    #[tokio::test]
    async fn an_id_token_for_another_audience_fails_the_id_token_check_and_not_the_idps_own() {
        let idp = MockIdp::start(Fixtures::default_brand()).await.unwrap();
        idp.control()
            .push_id_token_defect(IdTokenDefect::WrongAud, 1000)
            .unwrap();
        let d = dir("aud");
        let p = profile(&d, idp.issuer(), "demo-bot-secret");
        let run = conform(&["--profile", p.to_str().unwrap()]).await;
        assert_eq!(run.code, 1, "{}", run.stdout);
        assert_eq!(verdict(&run, "The ID token is valid"), "FAIL");
        assert!(run.stdout.contains("Invalid audiences"), "{}", run.stdout);
        // The one defect is one FAIL: what needs a signed-in consumer is
        // not checked (SKIP, naming the sign-in's failure), never failed
        // for a misleading cause.
        assert_eq!(run.stdout.matches("  FAIL  ").count(), 1, "{}", run.stdout);
        assert_eq!(verdict(&run, "The brand API answers"), "SKIP");
        for unrelated in [
            "Discovery names the issuer exactly",
            "The JWKS holds a key",
            "A code works once",
            "A wrong PKCE verifier is refused",
            "A wrong client secret is refused",
        ] {
            assert_eq!(verdict(&run, unrelated), "PASS", "{unrelated}");
        }
        let _ = std::fs::remove_dir_all(d);
    }

    #[tokio::test]
    async fn the_html_report_shows_the_exchanges_of_a_failure_without_secrets() {
        let idp = MockIdp::start(Fixtures::default_brand()).await.unwrap();
        idp.control()
            .set_quirks([standin::idp::quirks::Quirk::CodeReusable].into());
        let d = dir("html");
        let p = profile(&d, idp.issuer(), "demo-bot-secret");
        let report = d.join("report");
        let run = conform(&[
            "--profile",
            p.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ])
        .await;
        assert_eq!(run.code, 1, "{}", run.stdout);
        let html = std::fs::read_to_string(report.join("index.html")).unwrap();
        assert!(
            html.contains("<span class=\"v FAIL\">FAIL</span> A code works once"),
            "{html}"
        );
        // The replayed code's exchange: the same short id twice, tokens
        // issued the second time; never a value.
        assert!(
            html.contains("[code #") && html.contains("[access_token #"),
            "{html}"
        );
        assert!(
            html.contains("authorization: Basic [credentials #"),
            "{html}"
        );
        for secret in ["demo-bot-secret", "alice-password", "ZGVtby1ib3Q"] {
            assert!(!html.contains(secret), "{secret} in the report");
        }
        assert!(report.join("verdicts.json").exists());
        let _ = std::fs::remove_dir_all(d);
    }

    #[tokio::test]
    async fn a_failing_token_endpoint_fails_the_exchange_checks_naming_the_status() {
        let idp = MockIdp::start(Fixtures::default_brand()).await.unwrap();
        idp.control()
            .push_fault(
                Endpoint::Token,
                Fault::Status {
                    status: 503,
                    body: "{\"error\":\"temporarily_unavailable\"}".into(),
                    content_type: "application/json".into(),
                },
                1000,
            )
            .unwrap();
        let d = dir("token503");
        let p = profile(&d, idp.issuer(), "demo-bot-secret");
        let run = conform(&[
            "--profile",
            p.to_str().unwrap(),
            "--tags",
            "@authorization_server",
        ])
        .await;
        assert_eq!(run.code, 1, "{}", run.stdout);
        assert_eq!(verdict(&run, "A code works once"), "FAIL");
        assert!(run.stdout.contains("503"), "{}", run.stdout);
        assert!(
            !run.stdout.contains("Discovery names"),
            "--tags selects: {}",
            run.stdout
        );
        let _ = std::fs::remove_dir_all(d);
    }

    #[tokio::test]
    async fn an_access_token_lifetime_other_than_the_profiles_fails_the_token_response_check() {
        let idp = MockIdp::start(Fixtures::default_brand()).await.unwrap();
        let d = dir("lifetime");
        let p = profile(&d, idp.issuer(), "demo-bot-secret");
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("scope = ", "access_token_lifetime = 3600\nscope = ");
        std::fs::write(&p, text).unwrap();
        let run = conform(&[
            "--profile",
            p.to_str().unwrap(),
            "--tags",
            "@consumer_authentication",
        ])
        .await;
        assert_eq!(run.code, 1, "{}", run.stdout);
        assert_eq!(
            verdict(&run, "The code is exchanged for a sound token response"),
            "FAIL"
        );
        assert!(
            run.stdout
                .contains("the access token lives 300 s (expires_in), the profile expects 3600 s"),
            "{}",
            run.stdout
        );
        let _ = std::fs::remove_dir_all(d);
    }

    #[tokio::test]
    async fn a_brands_own_features_run_with_the_same_vocabulary() {
        let idp = MockIdp::start(Fixtures::default_brand()).await.unwrap();
        let d = dir("features");
        let p = profile(&d, idp.issuer(), "demo-bot-secret");
        let features = d.join("features");
        std::fs::create_dir_all(&features).unwrap();
        std::fs::write(
            features.join("ours.feature"),
            "Feature: Our own checks\n\n  Scenario: Our issuer\n    Rests on: our policy 1\n    Fix: publish discovery\n    When the platform reads the IdP's discovery document\n    Then its issuer is exactly the profile's issuer\n\n  Scenario: A step nobody defined\n    Rests on: our policy 2\n    Fix: none\n    When the moon is full\n",
        )
        .unwrap();
        let run = conform(&[
            "--profile",
            p.to_str().unwrap(),
            "--features",
            features.to_str().unwrap(),
        ])
        .await;
        assert_eq!(run.code, 1, "{}", run.stdout);
        assert_eq!(verdict(&run, "Our issuer"), "PASS");
        assert_eq!(verdict(&run, "A step nobody defined"), "FAIL");
        assert!(
            run.stdout.contains("not in the vocabulary"),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains("2 checks"), "{}", run.stdout);
        let _ = std::fs::remove_dir_all(d);
    }

    #[tokio::test]
    async fn a_run_that_cannot_start_says_why_in_one_line_with_exit_code_2() {
        let d = dir("unreachable");
        let p = profile(&d, "http://127.0.0.1:9", "x");
        let run = conform(&["--profile", p.to_str().unwrap()]).await;
        assert_eq!(run.code, 2);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains("cannot be reached"), "{}", run.stderr);

        let bad = d.join("bad.toml");
        std::fs::write(&bad, "issuer = \"nope\"\n[user]\nusername = \"u\"\n").unwrap();
        let run = conform(&["--profile", bad.to_str().unwrap()]).await;
        assert_eq!(run.code, 2);
        for wanted in [
            "line 1: issuer",
            "client_id: missing",
            "redirect_uri: missing",
            "line 2: user.password: missing",
        ] {
            assert!(
                run.stderr.contains(wanted),
                "{wanted:?} not in {}",
                run.stderr
            );
        }
        let _ = std::fs::remove_dir_all(d);
    }

    #[tokio::test]
    async fn init_writes_a_profile_once_and_list_steps_shows_the_vocabulary() {
        let d = dir("init");
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("brand.toml");
        let run = conform(&["--init", "--profile", p.to_str().unwrap()]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            std::fs::read_to_string(&p)
                .unwrap()
                .contains("client_secret_env")
        );
        let again = conform(&["--init", "--profile", p.to_str().unwrap()]).await;
        assert_eq!(again.code, 2, "never overwritten");
        let steps = conform(&["--list-steps"]).await;
        assert_eq!(steps.code, 0);
        assert!(
            steps
                .stdout
                .contains("e.g. When the gate exchanges the code with a wrong client secret")
        );
        let _ = std::fs::remove_dir_all(d);
    }
}

/// `features/gate/`: `standin conform` against the mock in every quirk
/// mode, as Gherkin. Run here, in this test binary, by cucumber.
mod gate {
    use std::collections::BTreeSet;
    use std::path::Path;

    use cucumber::{World, given, then, when};
    use standin::idp::quirks::Quirk;
    use standin::idp::{Fixtures, IdpOptions, MockIdp};

    #[derive(Debug, Default, World)]
    pub struct GateWorld {
        quirk: Option<Quirk>,
        issuer: Option<String>,
        #[world(skip)]
        idp: Option<Idp>,
        stdout: String,
        code: i32,
    }

    /// The mock, kept alive for the scenario.
    pub struct Idp(#[allow(dead_code)] MockIdp);

    impl std::fmt::Debug for Idp {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("MockIdp")
        }
    }

    #[given(expr = "the mock IdP in quirk mode {string}")]
    async fn mock_in_mode(w: &mut GateWorld, quirk: String) {
        let quirk: Quirk = quirk.parse().unwrap();
        let idp = MockIdp::start_with(
            Fixtures::default_brand(),
            IdpOptions {
                quirks: [quirk].into(),
                ..IdpOptions::default()
            },
        )
        .await
        .unwrap();
        w.issuer = Some(idp.issuer().to_string());
        w.idp = Some(Idp(idp));
        w.quirk = Some(quirk);
    }

    async fn conform(w: &mut GateWorld, extra: &str) {
        let quirk = w.quirk.expect("a quirk mode");
        let dir = std::env::temp_dir().join(format!(
            "standin-gate-{}-{}",
            quirk.name(),
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let profile = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/profile.example.toml"),
        )
        .unwrap()
        .replace("http://127.0.0.1:8400", w.issuer.as_deref().unwrap())
            + extra;
        let path = dir.join("profile.toml");
        std::fs::write(&path, profile).unwrap();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_standin"))
            .args(["conform", "--profile", path.to_str().unwrap()])
            .output()
            .await
            .unwrap();
        let _ = std::fs::remove_dir_all(dir);
        w.stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        w.code = out.status.code().unwrap_or(-1);
    }

    #[when("standin conform runs against it")]
    async fn runs(w: &mut GateWorld) {
        conform(w, "").await;
    }

    #[when("standin conform runs against it with a 1 second request limit")]
    async fn runs_with_limit(w: &mut GateWorld) {
        conform(w, "\n[timeouts]\nrequest_secs = 1\n").await;
    }

    fn with_verdict(w: &GateWorld, verdict: &str) -> BTreeSet<String> {
        w.stdout
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("  {verdict}  ")))
            .map(|l| l.split("  ").next().unwrap_or_default().trim().to_string())
            .collect()
    }

    #[then(expr = "exactly these checks fail: {string}")]
    fn exactly_these(w: &mut GateWorld, failing: String) {
        let expected: BTreeSet<String> = failing
            .split("; ")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(with_verdict(w, "FAIL"), expected, "{}", w.stdout);
    }

    #[then("no check fails")]
    fn none_fail(w: &mut GateWorld) {
        assert!(with_verdict(w, "FAIL").is_empty(), "{}", w.stdout);
    }

    #[then("at least one check warns")]
    fn some_warn(w: &mut GateWorld) {
        assert!(!with_verdict(w, "WARN").is_empty(), "{}", w.stdout);
    }

    #[then("no check warns")]
    fn none_warn(w: &mut GateWorld) {
        assert!(with_verdict(w, "WARN").is_empty(), "{}", w.stdout);
    }

    #[then(expr = "the output says {string}")]
    fn says(w: &mut GateWorld, text: String) {
        assert!(w.stdout.contains(&text), "{}", w.stdout);
    }

    #[then(expr = "the exit code is {int}")]
    fn exit_code(w: &mut GateWorld, code: i32) {
        assert_eq!(w.code, code, "{}", w.stdout);
    }

    /// Every quirk mode has a scenario.
    #[test]
    fn every_quirk_mode_is_in_the_feature() {
        let feature = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("features/gate/quirks.feature"),
        )
        .unwrap();
        for q in Quirk::ALL {
            assert!(
                feature.contains(&format!("| {}", q.name()))
                    || feature.contains(&format!("\"{}\"", q.name())),
                "{} has no scenario",
                q.name()
            );
        }
    }

    #[tokio::test]
    async fn the_gate_feature() {
        let writer = GateWorld::cucumber()
            .max_concurrent_scenarios(16)
            .with_default_cli()
            .run(Path::new(env!("CARGO_MANIFEST_DIR")).join("features/gate"))
            .await;
        assert!(
            !cucumber::writer::Stats::execution_has_failed(&writer),
            "features/gate failed"
        );
        assert_eq!(
            cucumber::writer::Stats::skipped_steps(&writer),
            0,
            "steps without a definition"
        );
    }
}

#[test]
fn an_unknown_quirk_is_refused_listing_the_quirks() {
    let out = standin()
        .args(["idp", "--port", "0", "--quirk", "sloppy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("unknown quirk \"sloppy\"") && text.contains("code_reusable"),
        "{text}"
    );
}

#[tokio::test]
async fn quirks_are_set_and_read_at_run_time() {
    use standin::idp::quirks::Quirk;
    use standin::idp::{Fixtures, MockIdp};
    let idp = MockIdp::start(Fixtures::default_brand()).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/admin/quirks", idp.issuer());
    let put = http
        .put(&url)
        .json(&serde_json::json!({"quirks": ["state-dropped", "iss_missing"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    let now: serde_json::Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        now["quirks"],
        serde_json::json!(["state_dropped", "iss_missing"])
    );
    assert_eq!(now["available"].as_array().unwrap().len(), Quirk::ALL.len());
    let bad = http
        .put(&url)
        .json(&serde_json::json!({"quirks": ["nope"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    // A reset leaves the mode.
    http.post(format!("{}/admin/reset", idp.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(idp.control().quirks().len(), 2);
}

/// The IdP inspector: what was issued, and a switchboard of forms.
#[tokio::test]
async fn the_idp_inspector_shows_what_was_issued_and_switches_modes() {
    use standin::idp::{Fixtures, MockIdp};
    let idp = MockIdp::start(Fixtures::default_brand()).await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = |p: &str| format!("{}{p}", idp.issuer());
    let page = http.get(url("/admin/inspector")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        policy.starts_with("default-src 'none'") && !policy.contains("script"),
        "{policy}"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Nothing issued yet") && !html.contains("<script"),
        "{html}"
    );
    // Every input and select has a label.
    assert_eq!(
        html.matches("<input").count() + html.matches("<select").count(),
        html.matches("<label").count(),
        "{html}"
    );

    // A token issued shows up by id, never by value.
    let token: serde_json::Value = http
        .post(url("/token"))
        .basic_auth("demo-service", Some("demo-service-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let value = token["access_token"].as_str().unwrap();
    let html = http
        .get(url("/admin/inspector"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("access token (client_credentials)"), "{html}");
    assert!(!html.contains(value));

    let posted = http
        .post(url("/admin/inspector/quirks"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("quirk=state_dropped&quirk=iss_missing")
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 303);
    assert_eq!(idp.control().quirks().len(), 2);
    http.post(url("/admin/inspector/clock"))
        .send()
        .await
        .unwrap();
    assert_eq!(idp.clock().offset(), 300);
    let bad = http
        .post(url("/admin/inspector/fault"))
        .form(&[("status", "200")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    http.post(url("/admin/inspector/defect"))
        .form(&[("defect", "wrong_aud")])
        .send()
        .await
        .unwrap();
    let html = http
        .get(url("/admin/inspector"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("value=\"state_dropped\" checked"), "{html}");
}
