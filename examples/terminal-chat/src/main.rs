//! `foil-chat`: talk to a Foil Engine NPC in the terminal.
//!
//! ```text
//! cargo run -p foil-terminal-chat -- --api-key pk_live_... [--persona "Grumpy Barista"]
//! ```
//! Lines you type are sent as the player's message; the NPC's reply streams in as it is
//! written, followed by the state machine's verdict. `/reset`, `/history` and `/quit` do what
//! they say. With `--llm-model`/`--llm-api-key` the server calls that provider with your key;
//! without them it uses its default model (the built-in `offline` provider unless configured).

use std::io::{BufRead, Write};

use anyhow::{bail, Context};
use clap::Parser;
use eventsource_stream::Eventsource;
use foil_types::wire::{
    ChatHistory, ChatResponse, ErrorBody, InitSessionRequest, Persona, SendMessageRequest,
    SessionInit, StreamError, StreamMetadata, TextDelta,
};
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue};

#[derive(Parser)]
#[command(version, about = "Talk to a Foil Engine NPC in the terminal")]
struct Args {
    /// The server.
    #[arg(long, env = "FOIL_BASE_URL", default_value = "http://127.0.0.1:8000")]
    base_url: String,
    /// Your API key (`pk_live_...`); `serve --demo` prints one.
    #[arg(long, env = "FOIL_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Persona id or name (default: the first one the key reaches).
    #[arg(long)]
    persona: Option<String>,
    /// Machine id (default: the persona's primary machine).
    #[arg(long)]
    machine: Option<String>,
    #[arg(long, default_value = "Traveller")]
    player_name: String,
    /// female, male or non-binary.
    #[arg(long, default_value = "non-binary")]
    player_gender: String,
    /// Your player id; reuse it to continue a conversation later.
    #[arg(long)]
    session: Option<String>,
    /// Model for every step, e.g. `openai/gpt-4o-mini` or `anthropic/claude-3-5-haiku-latest`.
    #[arg(long, env = "FOIL_LLM_MODEL")]
    llm_model: Option<String>,
    /// Your provider key for that model.
    #[arg(long, env = "FOIL_LLM_API_KEY", hide_env_values = true)]
    llm_api_key: Option<String>,
}

struct Chat {
    http: reqwest::Client,
    base: String,
    persona_id: String,
    user_session_id: String,
    machine: Option<String>,
}

async fn check(response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<ErrorBody>(&text)
        .map(|e| e.error.message)
        .unwrap_or(text);
    bail!("{status}: {message}")
}

impl Chat {
    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/sdk/chat/{}/{path}", self.base, self.persona_id)
    }

    fn machine_query(&self) -> Vec<(&str, String)> {
        let mut query = vec![("user_session_id", self.user_session_id.clone())];
        if let Some(machine) = &self.machine {
            query.push(("machine_id", machine.clone()));
        }
        query
    }

    async fn init(&self, args: &Args) -> anyhow::Result<SessionInit> {
        let mut request = self.http.post(self.url("init-session"));
        if let Some(machine) = &self.machine {
            request = request.query(&[("machine_id", machine)]);
        }
        let body = InitSessionRequest {
            user_session_id: self.user_session_id.clone(),
            player_name: args.player_name.clone(),
            player_gender: args.player_gender.clone(),
        };
        Ok(check(request.json(&body).send().await?)
            .await?
            .json()
            .await?)
    }

    /// Sends one message and prints the reply as it streams in.
    async fn say(&self, message: &str) -> anyhow::Result<ChatResponse> {
        let mut request = self.http.post(self.url("message/stream"));
        if let Some(machine) = &self.machine {
            request = request.query(&[("machine_id", machine)]);
        }
        let body = SendMessageRequest {
            message: message.to_string(),
            user_session_id: self.user_session_id.clone(),
        };
        let response = check(request.json(&body).send().await?).await?;
        let mut events = response.bytes_stream().eventsource();
        let mut stdout = std::io::stdout();
        while let Some(event) = events.next().await {
            let event = event.context("the stream broke")?;
            match event.event.as_str() {
                "metadata" => {
                    let _: StreamMetadata = serde_json::from_str(&event.data)?;
                    print!("npc> ");
                }
                "text_delta" => {
                    let delta: TextDelta = serde_json::from_str(&event.data)?;
                    print!("{}", delta.text);
                    stdout.flush()?;
                }
                "done" => {
                    println!();
                    return Ok(serde_json::from_str(&event.data)?);
                }
                "error" => {
                    let error: StreamError = serde_json::from_str(&event.data)?;
                    println!();
                    bail!("{}", error.error);
                }
                _ => {}
            }
        }
        bail!("the stream ended without a reply")
    }
}

async fn pick_persona(
    http: &reqwest::Client,
    base: &str,
    wanted: Option<&str>,
) -> anyhow::Result<Persona> {
    let personas: Vec<Persona> = check(
        http.get(format!("{base}/api/v1/sdk/personas"))
            .send()
            .await?,
    )
    .await?
    .json()
    .await?;
    let found = match wanted {
        None => personas.first(),
        Some(w) => personas
            .iter()
            .find(|p| p.id.to_string() == w || p.name.eq_ignore_ascii_case(w)),
    };
    match found {
        Some(p) => Ok(p.clone()),
        None => {
            let names: Vec<&str> = personas.iter().map(|p| p.name.as_str()).collect();
            bail!("no such persona; this key reaches: {}", names.join(", "))
        }
    }
}

fn headers(args: &Args) -> anyhow::Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", HeaderValue::from_str(&args.api_key)?);
    if let Some(model) = &args.llm_model {
        headers.insert("x-llm-model", HeaderValue::from_str(model)?);
    }
    if let Some(key) = &args.llm_api_key {
        let mut value = HeaderValue::from_str(key)?;
        value.set_sensitive(true);
        headers.insert("x-llm-api-key", value);
    }
    Ok(headers)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let base = args.base_url.trim_end_matches('/').to_string();
    let http = reqwest::Client::builder()
        .default_headers(headers(&args)?)
        .build()?;
    let persona = pick_persona(&http, &base, args.persona.as_deref()).await?;
    let mut chat = Chat {
        http,
        base,
        persona_id: persona.id.to_string(),
        user_session_id: args
            .session
            .clone()
            .unwrap_or_else(|| format!("terminal-{}", uuid::Uuid::new_v4().simple())),
        machine: args.machine.clone(),
    };
    println!("Talking to {} — /reset, /history, /quit", persona.name);
    let init = chat.init(&args).await?;
    chat.machine = Some(init.machine_id.to_string());
    println!("npc> {}", init.message);

    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line?;
        let line = line.trim();
        match line {
            "" => continue,
            "/quit" => break,
            "/reset" => {
                let init = chat.init(&args).await?;
                println!("npc> {}", init.message);
                continue;
            }
            "/history" => {
                let history: ChatHistory = check(
                    chat.http
                        .get(chat.url("history"))
                        .query(&chat.machine_query())
                        .send()
                        .await?,
                )
                .await?
                .json()
                .await?;
                for m in history.messages {
                    println!("  {:>9}: {}", m.role, m.content);
                }
                continue;
            }
            _ => {}
        }
        let reply = match chat.say(line).await {
            Ok(reply) => reply,
            Err(e) => {
                eprintln!("error: {e:#}");
                continue;
            }
        };
        println!(
            "      [state {} · score {} · {}{}]",
            reply.current_state,
            reply.score,
            reply.decision.as_deref().unwrap_or("-"),
            reply
                .outcome
                .as_deref()
                .map(|o| format!(" · outcome {o}"))
                .unwrap_or_default()
        );
        if reply.machine_completed {
            for unlocked in &reply.unlocked_machines {
                println!(
                    "      unlocked: {} ({})",
                    unlocked.name, unlocked.machine_id
                );
            }
            match reply.unlocked_machines.iter().find(|m| m.is_auto_advance) {
                Some(next) => {
                    println!("      moving on to {} …", next.name);
                    chat.machine = Some(next.machine_id.to_string());
                    let init = chat.init(&args).await?;
                    println!("npc> {}", init.message);
                }
                None => {
                    println!("The conversation is over. /reset to play again, /quit to leave.");
                }
            }
        }
    }
    Ok(())
}
