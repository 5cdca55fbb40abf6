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
