//! The credential vault of a real `standin platform` process: what is
//! saved survives `kill -9` and a restart, the vault files and the
//! process's logs (at trace level) never hold a secret in clear, the key
//! file is created 0600, and a wrong key stops start-up with a clear
//! one-line error instead of an empty vault.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::drivers::Chat;

const CANARY: &str = "canary-7f3a9c-password";

struct Running {
    child: Child,
    url: String,
    /// Everything the process printed (stdout and stderr), as it comes.
    output: Arc<Mutex<String>>,
    /// The threads copying the process's stdout and stderr into `output`.
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    /// SIGKILL the process and return everything it printed (the pipes
    /// are drained to their end first).
    fn kill_9(&mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        drain(&mut self.readers, &self.output)
    }
}

/// Wait for the reader threads to reach the end of their pipes, then take
/// the output.
fn drain(readers: &mut Vec<std::thread::JoinHandle<()>>, output: &Mutex<String>) -> String {
    for reader in readers.drain(..) {
        let _ = reader.join();
    }
    output.lock().unwrap().clone()
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "standin-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Fixtures: organisation `demo` and a bot whose one dialog calls `api`
/// with the Basic credential `api-basic`.
fn fixtures(dir: &Path, api: &str) -> PathBuf {
    let path = dir.join("platform.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[orgs]]
id = "demo"
[orgs.provider]
token_endpoint = "http://127.0.0.1:9/token"
client_id = "unused"
client_secret = "unused"

[[bots]]
id = "bot"
[[bots.dialogs]]
name = "orders"
triggers = ["orders"]
[bots.dialogs.integration]
name = "orders"
url = "{api}/orders"
credential = "api-basic"
[bots.dialogs.answer]
text = "orders: {{/count}}"
"#
        ),
    )
    .unwrap();
    path
}

fn start(data_dir: &Path, fixtures: &Path, key: Option<&str>) -> Result<Running, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_standin"));
    command
        .args(["platform", "--port", "0", "--fixtures"])
        .arg(fixtures)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "trace")
        .env_remove("STANDIN_DATA_DIR")
        .env_remove("STANDIN_VAULT_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(key) = key {
        command.env("STANDIN_VAULT_KEY", key);
    }
    let mut child = command.spawn().unwrap();
    let output = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let sink = output.clone();
    let mut readers = vec![std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })];
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut url = None;
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap_or(0) > 0 {
        output.lock().unwrap().push_str(&line);
        if let Some(u) = line.trim().strip_prefix("reference platform: ") {
            url = Some(u.to_string());
            break;
        }
        line.clear();
    }
    let sink = output.clone();
    readers.push(std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
        sink.lock().unwrap().push_str(&rest);
    }));
    match url {
        Some(url) => Ok(Running {
            child,
            url,
            output,
            readers,
        }),
        None => {
            let status = child.wait().unwrap();
            let text = drain(&mut readers, &output);
            Err(format!("{status}: {text}"))
        }
    }
}

fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Open a conversation with the bot and say "orders": the bot's answer.
async fn ask_orders(http: &reqwest::Client, platform: &str) -> String {
    let chat = Chat::new(http.clone(), platform);
    let opened = chat
        .open_with(json!({ "org": "demo", "bot": "bot" }))
        .await
        .unwrap();
    let id = opened.body["id"].as_str().unwrap();
    chat.say(id, "orders")
        .await
        .map(|reply| reply.text)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_survive_kill_9_and_never_sit_in_clear() {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orders"))
        .and(header(
            "authorization",
            format!(
                "Basic {}",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    format!("orders-bot:{CANARY}")
                )
            )
            .as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "count": 3 })))
        .mount(&api)
        .await;
    let dir = temp_dir("vault");
    let data = dir.join("data");
    let fixtures = fixtures(&dir, &api.uri());
    let http = reqwest::Client::new();

    let first = start(&data, &fixtures, None).expect("the platform starts");
    let saved = http
        .post(format!("{}/api/orgs/demo/credentials", first.url))
        .json(&json!({ "type": "basic_authentication", "name": "api-basic", "username": "orders-bot", "password": CANARY }))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 201);
    assert!(!saved.text().await.unwrap().contains(CANARY));

    // The credential works before the crash ...
    assert_eq!(ask_orders(&http, &first.url).await, "orders: 3");

    // ... the process dies with SIGKILL right after the save ...
    let mut first = first;
    let logs = first.kill_9();
    assert!(logs.len() > 200, "trace logging was on: {logs}");
    assert!(!logs.contains(CANARY), "a log line holds the secret");
    drop(first);

    // ... and nothing is in clear on disk.
    let files = files_under(&data);
    assert!(files.iter().any(|(p, _)| p.ends_with("vault.sqlite3")));
    for (p, bytes) in &files {
        assert!(!contains(bytes, CANARY), "{} holds the secret", p.display());
        assert!(
            !contains(bytes, "orders-bot"),
            "{} holds the user name",
            p.display()
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data.join("vault.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // After a restart the credential is there and still works.
    let second = start(&data, &fixtures, None).expect("the platform restarts");
    let read: Value = http
        .get(format!(
            "{}/api/orgs/demo/credentials/api-basic",
            second.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["username"], "orders-bot", "{read}");
    assert_eq!(read["password"], "[redacted]");
    assert_eq!(ask_orders(&http, &second.url).await, "orders: 3");
    drop(second);

    // Another key does not open this vault: start-up stops, saying why.
    let wrong = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [9u8; 32]);
    let refused = start(&data, &fixtures, Some(&wrong))
        .err()
        .expect("a wrong key stops start-up");
    assert!(refused.contains("vault key does not open"), "{refused}");
    assert!(refused.contains("exit status: 2"), "{refused}");

    std::fs::remove_dir_all(&dir).ok();
}
