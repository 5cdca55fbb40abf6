//! Verdicts and the reports made of them: the terminal table, JUnit XML
//! (one test case per check) and a JSON document. No report holds a
//! secret: messages come from the checks, which name what was wrong, never
//! a token, code or secret value, and the profile's secrets are scrubbed
//! from every text as a last guard ([`Report::scrub`]).

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

/// A check's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Pass,
    Warn,
    Skip,
    Fail,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Warn => "WARN",
            Verdict::Skip => "SKIP",
            Verdict::Fail => "FAIL",
        }
    }
}

/// One check's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// The feature it belongs to.
    pub feature: String,
    /// The scenario's name.
    pub name: String,
    pub verdict: Verdict,
    /// The rule it rests on (RFC or OIDC section, or source document).
    pub rule: String,
    /// What was wrong (FAIL), what is risky (WARN, one line per warning),
    /// why it did not run (SKIP).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// How to fix it (WARN and FAIL).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
    pub duration_ms: u64,
    /// The HTTP exchanges that showed it (WARN and FAIL), every secret,
    /// code and token replaced by a short id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<Exchange>,
}

/// One HTTP exchange, as the HTML report shows it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Exchange {
    /// `gate` (the checks' own client), `browser` (the consumer's), or
    /// `platform` (the embedded platform, from its outbound log).
    pub who: String,
    pub method: String,
    pub url: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub request_headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub request_body: String,
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub response_body: String,
}

/// Members and parameters whose values are secrets, codes or tokens.
const SECRET_NAMES: [&str; 12] = [
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "state",
    "nonce",
    "code_verifier",
    "client_secret",
    "password",
    "assertion",
    "apikey",
    "token",
];

/// A short id of a secret value: the same value gets the same id, so an
/// exchange can show that a token came back, without showing it.
pub fn short_id(name: &str, value: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("[{name} #{hex}]")
}

/// A JSON body with secret members replaced by short ids.
pub fn redact_json(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s) if SECRET_NAMES.contains(&k.as_str()) => {
                            serde_json::Value::String(short_id(k, s))
                        }
                        other => redact_json(other),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(redact_json).collect())
        }
        other => other.clone(),
    }
}

/// A form body or query with secret parameters replaced by short ids.
pub fn redact_form(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| {
            if SECRET_NAMES.contains(k) {
                format!("{k}={}", short_id(k, v))
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A header as shown: credentials replaced by short ids.
pub fn redact_header(name: &str, value: &str) -> (String, String) {
    let lower = name.to_ascii_lowercase();
    let shown = match lower.as_str() {
        "authorization" | "proxy-authorization" => match value.split_once(' ') {
            Some((scheme, credentials)) => {
                format!("{scheme} {}", short_id("credentials", credentials))
            }
            None => short_id("credentials", value),
        },
        "cookie" | "set-cookie" => short_id("cookie", value),
        _ => value.to_string(),
    };
    (lower, shown)
}

/// One thing a check found.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// The rule this finding rests on, when it is not the check's.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rule: String,
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
}

/// `text` without `secrets` and without the values of code, state, token,
/// verifier, secret or password parameters.
pub fn scrub_text(text: &str, secrets: &[&str]) -> String {
    static PARAMS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)\b(code|state|nonce|access_token|id_token|refresh_token|code_verifier|client_secret|password|assertion|apikey)=[^&\s)\]}'\x22]+",
        )
        .expect("a valid regex")
    });
    let mut text = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        if text.contains(*s) {
            text = text.replace(*s, "[redacted]");
        }
    }
    if PARAMS.is_match(&text) {
        text = PARAMS.replace_all(&text, "$1=[redacted]").into_owned();
    }
    text
}

/// Every check of a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub issuer: String,
    pub client_id: String,
    pub checks: Vec<Check>,
    pub duration_ms: u64,
    /// Why the gate could not do its job for some checks (a login page it
    /// cannot drive): the run's error, not the IdP's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub run_errors: Vec<String>,
}

impl Report {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.checks.iter().filter(|c| c.verdict == verdict).count()
    }

    pub fn failed(&self) -> bool {
        self.count(Verdict::Fail) > 0
    }

    /// The exit code: 1 when a check failed, 2 when the gate could not do
    /// its job, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.failed() {
            1
        } else if !self.run_errors.is_empty() {
            2
        } else {
            0
        }
    }

    /// Replace every occurrence of `secrets`, and the value of every
    /// code, state, token, verifier, secret or password parameter of a URL
    /// or form, in the report's texts.
    pub fn scrub(&mut self, secrets: &[&str]) {
        let clean = |text: &mut String| *text = scrub_text(text, secrets);
        for check in &mut self.checks {
            clean(&mut check.name);
            clean(&mut check.fix);
            for f in &mut check.findings {
                clean(&mut f.message);
                clean(&mut f.fix);
            }
        }
    }

    /// The terminal table: one line per check, its findings and fix
    /// below it, then the totals.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "standin conform: {} as client {}",
            self.issuer, self.client_id
        );
        let width = self
            .checks
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(0)
            .min(78);
        for c in &self.checks {
            let _ = writeln!(
                out,
                "  {}  {:<width$}  {}",
                c.verdict.label(),
                c.name,
                c.rule,
                width = width
            );
            if c.verdict != Verdict::Pass {
                for f in &c.findings {
                    let rule = if f.rule.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", f.rule)
                    };
                    let _ = writeln!(out, "        {}{rule}", f.message);
                    if !f.fix.is_empty() && f.fix != c.fix {
                        let _ = writeln!(out, "        fix: {}", f.fix);
                    }
                }
                if matches!(c.verdict, Verdict::Fail) && !c.fix.is_empty() {
                    let _ = writeln!(out, "        fix: {}", c.fix);
                }
            }
        }
        for e in &self.run_errors {
            let _ = writeln!(out, "error: {e}");
        }
        let _ = writeln!(
            out,
            "{} checks: {} passed, {} warned, {} failed, {} skipped, in {:.1} s",
            self.checks.len(),
            self.count(Verdict::Pass),
            self.count(Verdict::Warn),
            self.count(Verdict::Fail),
            self.count(Verdict::Skip),
            Duration::from_millis(self.duration_ms).as_secs_f64()
        );
        out
    }

    /// JUnit XML: a test suite per feature, a test case per check; FAIL is
    /// a failure, SKIP skipped, WARN a pass with its findings as output.
    pub fn junit(&self) -> Result<String, String> {
        use junit_report::{Duration as JDuration, ReportBuilder, TestCase, TestSuiteBuilder};
        let mut features: Vec<&str> = self.checks.iter().map(|c| c.feature.as_str()).collect();
        features.dedup();
        let mut report = ReportBuilder::new();
        for feature in features {
            let mut suite = TestSuiteBuilder::new(feature);
            for c in self.checks.iter().filter(|c| c.feature == feature) {
                let time =
                    JDuration::milliseconds(i64::try_from(c.duration_ms).unwrap_or(i64::MAX));
                let text = c
                    .findings
                    .iter()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join("\n");
                let mut case = match c.verdict {
                    Verdict::Pass | Verdict::Warn => TestCase::success(&c.name, time),
                    Verdict::Skip => TestCase::skipped_with_cause(&c.name, "SKIP", &text),
                    Verdict::Fail => TestCase::failure(&c.name, time, "FAIL", &text),
                };
                case.set_classname(&c.rule);
                if c.verdict == Verdict::Warn {
                    case.set_system_out(&format!("WARN\n{text}\nfix: {}", c.fix));
                }
                suite.add_testcase(case);
            }
            report.add_testsuite(suite.build());
        }
        let mut out = Vec::new();
        report
            .build()
            .write_xml(&mut out)
            .map_err(|e| e.to_string())?;
        String::from_utf8(out).map_err(|e| e.to_string())
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// One self-contained HTML page: the totals, each check with its
    /// verdict, rule, findings and fix, and for WARN and FAIL the HTTP
    /// exchanges that showed it.
    pub fn html(&self) -> String {
        let e = |t: &str| html_escape::encode_text(t).into_owned();
        let mut out = String::new();
        let _ = write!(
            out,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>standin conform: {}</title><style>\
body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#222}}\
.v{{display:inline-block;width:3.5em;font-weight:bold;text-align:center;border-radius:3px;color:#fff}}\
.PASS{{background:#2e7d32}}.WARN{{background:#b26a00}}.FAIL{{background:#c62828}}.SKIP{{background:#757575}}\
section{{border-top:1px solid #ddd;padding:.6em 0}}.rule{{color:#555}}pre{{background:#f6f6f6;padding:.6em;overflow:auto;white-space:pre-wrap}}\
</style></head><body><h1>standin conform</h1><p>{} as client {}: {} checks, {} passed, {} warned, {} failed, {} skipped, in {:.1} s.</p>",
            e(&self.issuer),
            e(&self.issuer),
            e(&self.client_id),
            self.checks.len(),
            self.count(Verdict::Pass),
            self.count(Verdict::Warn),
            self.count(Verdict::Fail),
            self.count(Verdict::Skip),
            Duration::from_millis(self.duration_ms).as_secs_f64()
        );
        for c in &self.checks {
            let _ = write!(
                out,
                "<section><h2><span class=\"v {v}\">{v}</span> {}</h2><p class=\"rule\">{} &middot; {}</p>",
                e(&c.name),
                e(&c.feature),
                e(&c.rule),
                v = c.verdict.label()
            );
            if !c.findings.is_empty() {
                out.push_str("<ul>");
                for f in &c.findings {
                    let rule = if f.rule.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", e(&f.rule))
                    };
                    let fix = if f.fix.is_empty() {
                        String::new()
                    } else {
                        format!("<br>fix: {}", e(&f.fix))
                    };
                    let _ = write!(out, "<li>{}{rule}{fix}</li>", e(&f.message));
                }
                out.push_str("</ul>");
            }
            if matches!(c.verdict, Verdict::Fail | Verdict::Warn) && !c.fix.is_empty() {
                let _ = write!(out, "<p>How to fix: {}</p>", e(&c.fix));
            }
            if !c.exchanges.is_empty() {
                let _ = write!(
                    out,
                    "<details><summary>{} HTTP exchanges</summary>",
                    c.exchanges.len()
                );
                for x in &c.exchanges {
                    let mut text = format!("{} {} {}\n", x.who, x.method, x.url);
                    for (k, v) in &x.request_headers {
                        let _ = writeln!(text, "{k}: {v}");
                    }
                    if !x.request_body.is_empty() {
                        let _ = writeln!(text, "\n{}", x.request_body);
                    }
                    match (x.status, x.who.as_str()) {
                        (Some(s), _) => {
                            let _ = writeln!(text, "\n=> {s}");
                        }
                        // The browser's navigation is listed, not recorded.
                        (None, "browser") => {}
                        (None, _) => {
                            let _ = writeln!(text, "\n=> no answer");
                        }
                    }
                    for (k, v) in &x.response_headers {
                        let _ = writeln!(text, "{k}: {v}");
                    }
                    if !x.response_body.is_empty() {
                        let _ = writeln!(text, "\n{}", x.response_body);
                    }
                    let _ = write!(out, "<pre>{}</pre>", e(&text));
                }
                out.push_str("</details>");
            }
            out.push_str("</section>");
        }
        out.push_str("</body></html>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let check = |name: &str, verdict, message: &str| Check {
            feature: "f".into(),
            name: name.into(),
            verdict,
            rule: "RFC 6749 section 5.2".into(),
            findings: (!message.is_empty())
                .then(|| Finding {
                    rule: String::new(),
                    message: message.into(),
                    fix: String::new(),
                })
                .into_iter()
                .collect(),
            fix: "do it right".into(),
            duration_ms: 3,
            exchanges: vec![Exchange {
                who: "gate".into(),
                method: "POST".into(),
                url: "https://idp/token".into(),
                request_body: redact_form(&[
                    ("grant_type", "authorization_code"),
                    ("code", "c0de-value"),
                ]),
                status: Some(200),
                response_body: redact_json(
                    &serde_json::json!({"access_token": "at-value", "token_type": "Bearer"}),
                )
                .to_string(),
                ..Exchange::default()
            }],
        };
        Report {
            issuer: "https://idp.example".into(),
            client_id: "bot".into(),
            checks: vec![
                check("a", Verdict::Pass, ""),
                check("b", Verdict::Warn, "risky with s3cret-value"),
                check("c", Verdict::Fail, "broken <here> & there"),
                check("d", Verdict::Skip, "not advertised"),
            ],
            duration_ms: 12,
            run_errors: Vec::new(),
        }
    }

    #[test]
    fn the_table_has_each_verdict_and_the_totals() {
        let table = report().table();
        for wanted in [
            "PASS  a",
            "WARN  b",
            "FAIL  c",
            "SKIP  d",
            "fix: do it right",
            "4 checks: 1 passed, 1 warned, 1 failed, 1 skipped",
        ] {
            assert!(table.contains(wanted), "{wanted:?} not in\n{table}");
        }
    }

    #[test]
    fn junit_has_one_case_per_check_and_escapes() {
        let xml = report().junit().unwrap();
        assert_eq!(xml.matches("<testcase").count(), 4, "{xml}");
        assert!(xml.contains("broken &lt;here&gt; &amp; there"), "{xml}");
        assert!(xml.contains("<skipped"), "{xml}");
    }

    #[test]
    fn the_html_report_shows_exchanges_with_short_ids_only() {
        let html = report().html();
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("class=\"v FAIL\""), "{html}");
        assert!(html.contains("broken &lt;here&gt; &amp; there"));
        assert!(
            html.contains("[code #") && html.contains("[access_token #"),
            "{html}"
        );
        assert!(!html.contains("c0de-value") && !html.contains("at-value"));
        assert_eq!(short_id("code", "x"), short_id("code", "x"));
        assert_ne!(short_id("code", "x"), short_id("code", "y"));
        let (name, value) = redact_header("Authorization", "Basic Ym90OnNlY3JldA==");
        assert_eq!(name, "authorization");
        assert!(value.starts_with("Basic [credentials #") && !value.contains("Ym90"));
    }

    proptest::proptest! {
        /// Whatever the text, no code, state or token value survives the
        /// scrub, and nothing panics.
        #[test]
        fn scrubbed_text_keeps_no_parameter_value(
            prefix in "[ -~]{0,30}",
            name in "(code|state|access_token|id_token|refresh_token|code_verifier|client_secret|password)",
            value in "[A-Za-z0-9_.~-]{4,40}",
            suffix in "(&iss=x|\\)|\\s| )",
        ) {
            let text = format!("{prefix}?{name}={value}{suffix}");
            let clean = scrub_text(&text, &[]);
            proptest::prop_assert!(!clean.contains(&format!("{name}={value}")), "{clean}");
        }
    }

    #[test]
    fn codes_and_states_in_urls_are_scrubbed() {
        let mut r = report();
        r.checks[2].findings[0].message =
            "failed: (http://p/callback/demo/redirectCode?code=abc123&state=xyz&iss=http%3A%2F%2Fi)".into();
        r.scrub(&[]);
        let m = &r.checks[2].findings[0].message;
        assert!(!m.contains("abc123") && !m.contains("xyz"), "{m}");
        assert!(m.contains("code=[redacted]&state=[redacted]&iss="), "{m}");
    }

    #[test]
    fn secrets_are_scrubbed_from_every_text() {
        let mut r = report();
        r.scrub(&["s3cret-value"]);
        let all = format!("{}{}{}", r.table(), r.json(), r.junit().unwrap());
        assert!(!all.contains("s3cret-value"));
        assert!(all.contains("[redacted]"));
    }
}
