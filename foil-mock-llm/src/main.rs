//! `foil-mock-llm`: runs the mock provider as a standalone process (for benchmarks and manual
//! testing). Prints its base URL on the first line of stdout, then serves until interrupted.

use std::net::SocketAddr;
use std::time::Duration;

use foil_mock_llm::{MockConfig, MockLlm, Reply};

const USAGE: &str = "\
foil-mock-llm: a mock OpenAI / Anthropic provider

USAGE: foil-mock-llm [OPTIONS]

OPTIONS:
  --bind ADDR            listen address (default 127.0.0.1:0)
  --latency-ms N         delay before response headers (default 0)
  --chunk-delay-ms N     delay between streamed deltas (default 0)
  --reply TEXT           the reply text (default \"This is a mock reply.\")
  --key KEY              accept only this key (repeatable; default: any key)
  --record-limit N       requests kept in memory (default 0: none)
  -h, --help             print this help

The first line printed is the base URL, e.g. http://127.0.0.1:41234 (OpenAI base URL: add /v1).";

fn parse_args() -> Result<MockConfig, String> {
    let mut config = MockConfig::default().with_record_limit(0);
    let mut keys: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let millis = |v: String, name: &str| {
            v.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| format!("{name}: not a number of milliseconds: {v}"))
        };
        config = match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--bind" => {
                let v = value("--bind")?;
                let addr: SocketAddr = v.parse().map_err(|_| format!("--bind: bad address {v}"))?;
                config.with_bind(addr)
            }
            "--latency-ms" => config.with_latency(millis(value("--latency-ms")?, "--latency-ms")?),
            "--chunk-delay-ms" => {
                config.with_chunk_delay(millis(value("--chunk-delay-ms")?, "--chunk-delay-ms")?)
            }
            "--reply" => config.with_default_reply(Reply::text(value("--reply")?)),
            "--key" => {
                keys.push(value("--key")?);
                config
            }
            "--record-limit" => {
                let v = value("--record-limit")?;
                let n = v
                    .parse()
                    .map_err(|_| format!("--record-limit: not a number: {v}"))?;
                config.with_record_limit(n)
            }
            other => return Err(format!("unknown argument: {other}")),
        };
    }
    if !keys.is_empty() {
        config = config.with_accepted_keys(keys);
    }
    Ok(config)
}

#[tokio::main]
async fn main() {
    let config = match parse_args() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let mock = match MockLlm::start(config).await {
        Ok(mock) => mock,
        Err(err) => {
            eprintln!("error: cannot listen: {err}");
            std::process::exit(1);
        }
    };
    println!("{}", mock.url());
    eprintln!(
        "foil-mock-llm listening; OpenAI base URL {}, Anthropic base URL {}",
        mock.openai_base_url(),
        mock.anthropic_base_url()
    );
    wait_for_shutdown().await;
    let stats = mock.stats();
    eprintln!(
        "foil-mock-llm: {} requests, {} completed, {} cancelled",
        stats.requests, stats.completed, stats.cancelled
    );
}

/// Resolves on Ctrl-C, or on SIGTERM on Unix.
async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
