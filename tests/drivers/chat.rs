//! The platform's conversation API: open a conversation, say something,
//! read the replies (and the sign-in links in them), the transcript, the
//! event log and the context, close it.

use std::fmt;

use anyhow::{Context as _, anyhow, ensure};
use serde_json::{Value, json};

use super::{Answer, Link};

/// The bot every conversation is opened with.
pub const BOT: &str = "demo-bot";

/// The conversation API of the platform at `base`.
#[derive(Clone)]
pub struct Chat {
    http: reqwest::Client,
    base: String,
}

impl fmt::Debug for Chat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chat").field("base", &self.base).finish()
    }
}

/// One bot message: its text and the sign-in link it carries, if any.
#[derive(Clone, Debug)]
pub struct Reply {
    pub text: String,
    pub link: Option<Link>,
}

impl Reply {
    fn of(message: &Value) -> anyhow::Result<Self> {
        let text = message["text"]
            .as_str()
            .ok_or_else(|| anyhow!("a bot message without text: {message}"))?
            .to_string();
        let link = message["link"].as_str().map(Link::parse).transpose()?;
        Ok(Self { text, link })
    }

    /// The link, which the reply must carry.
    pub fn expect_link(self) -> anyhow::Result<Link> {
        self.link
            .ok_or_else(|| anyhow!("expected a sign-in link, the bot said {:?}", self.text))
    }
}

impl Chat {
    /// The conversation API of the platform at `base`, with `http` (which
    /// should not follow redirects).
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// A URL on the platform.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The HTTP client, for requests no method here makes.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Open a conversation with the demo bot in `org`, for `consumer` if
    /// given; it must be accepted (201). Its id.
    pub async fn open(&self, org: &str, consumer: Option<&str>) -> anyhow::Result<String> {
        let answer = self
            .open_with(json!({ "org": org, "bot": BOT, "consumer_id": consumer }))
            .await?;
        ensure!(
            answer.status == 201,
            "opening a conversation answered {}: {}",
            answer.status,
            answer.body
        );
        id_of(&answer)
    }

    /// `POST /api/conversations` with this body, whatever the answer.
    pub async fn open_with(&self, body: Value) -> anyhow::Result<Answer> {
        let response = self
            .http
            .post(self.url("/api/conversations"))
            .json(&body)
            .send()
            .await
            .context("the platform did not answer POST /api/conversations")?;
        Answer::lenient(response).await
    }

    /// Post a message, whatever the answer.
    pub async fn post(&self, conv: &str, text: &str) -> anyhow::Result<Answer> {
        let response = self
            .http
            .post(self.url(&format!("/api/conversations/{conv}/messages")))
            .json(&json!({ "text": text }))
            .send()
            .await
            .context("the platform did not answer the message")?;
        Answer::lenient(response).await
    }

    /// Say `text`: it must be answered 200; the bot's (first) reply.
    pub async fn say(&self, conv: &str, text: &str) -> anyhow::Result<Reply> {
        let answer = self.post(conv, text).await?;
        ensure!(
            answer.status == 200,
            "the message was answered {}: {}",
            answer.status,
            answer.body
        );
        Reply::of(&answer.body["replies"][0])
            .with_context(|| format!("the bot did not reply: {}", answer.body))
    }

    /// Say `text` and expect a sign-in link back.
    pub async fn ask_for_link(&self, conv: &str, text: &str) -> anyhow::Result<Link> {
        self.say(conv, text).await?.expect_link()
    }

    /// Close a conversation (204).
    pub async fn close(&self, conv: &str) -> anyhow::Result<()> {
        let status = self
            .http
            .delete(self.url(&format!("/api/conversations/{conv}")))
            .send()
            .await
            .context("the platform did not answer DELETE")?
            .status();
        ensure!(status == 204, "closing the conversation answered {status}");
        Ok(())
    }

    /// `GET` a JSON document of the platform's API, which must answer 200.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .http
            .get(self.url(path))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = response.status().as_u16();
        let body: Value = response
            .json()
            .await
            .with_context(|| format!("GET {path}: not JSON"))?;
        ensure!(status == 200, "GET {path} answered {status}: {body}");
        Ok(body)
    }

    pub async fn transcript(&self, conv: &str) -> anyhow::Result<Value> {
        self.get_json(&format!("/api/conversations/{conv}/transcript"))
            .await
    }

    /// The bot's messages of the transcript, oldest first.
    pub async fn bot_messages(&self, conv: &str) -> anyhow::Result<Vec<Reply>> {
        let transcript = self.transcript(conv).await?;
        transcript["messages"]
            .as_array()
            .ok_or_else(|| anyhow!("the transcript has no messages: {transcript}"))?
            .iter()
            .filter(|m| m["from"] == "bot")
            .map(Reply::of)
            .collect()
    }

    /// The last message the bot posted (a reply, or an answer posted after
    /// the callback).
    pub async fn last_bot(&self, conv: &str) -> anyhow::Result<Reply> {
        self.bot_messages(conv)
            .await?
            .pop()
            .ok_or_else(|| anyhow!("the bot has said nothing in this conversation"))
    }

    /// The event log, as the platform shows it.
    pub async fn events(&self, conv: &str) -> anyhow::Result<Vec<Value>> {
        let log = self
            .get_json(&format!("/api/conversations/{conv}/events"))
            .await?;
        log["events"]
            .as_array()
            .cloned()
            .ok_or_else(|| anyhow!("no events in {log}"))
    }

    /// The event log, each event as `kind` or `kind (reason)`.
    pub async fn event_names(&self, conv: &str) -> anyhow::Result<Vec<String>> {
        Ok(self.events(conv).await?.iter().map(event_name).collect())
    }

    /// The context: whether (and until when) a token is held.
    pub async fn context(&self, conv: &str) -> anyhow::Result<Value> {
        self.get_json(&format!("/api/conversations/{conv}/context"))
            .await
    }

    /// Everything the API shows of a conversation: its transcript, events
    /// and context, each as JSON text.
    pub async fn reads(&self, conv: &str) -> anyhow::Result<Vec<String>> {
        let mut reads = Vec::new();
        for what in ["transcript", "events", "context"] {
            let path = format!("/api/conversations/{conv}/{what}");
            reads.push(self.get_json(&path).await?.to_string());
        }
        Ok(reads)
    }

    /// Whether the context holds an access token.
    pub async fn holds_token(&self, conv: &str) -> anyhow::Result<bool> {
        let context = self.context(conv).await?;
        context["access_token_present"]
            .as_bool()
            .ok_or_else(|| anyhow!("the context does not say: {context}"))
    }
}

/// An event as `kind`, or `kind (reason)` when it names a case (an
/// exchange failure's reason is a sentence, left out).
pub fn event_name(event: &Value) -> String {
    let kind = event["kind"].as_str().unwrap_or("?");
    let reason = event
        .get("reason")
        .or_else(|| event.get("error"))
        .and_then(Value::as_str)
        .filter(|_| kind != "exchange_failed");
    match reason {
        Some(r) => format!("{kind} ({r})"),
        None => kind.to_string(),
    }
}

fn id_of(answer: &Answer) -> anyhow::Result<String> {
    answer.body["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no conversation id in {}", answer.body))
}
