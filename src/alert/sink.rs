//! Alert delivery: the shell that sends events to a sink (the service log, a webhook, email over
//! SMTP, or a command). One call delivers one message (one event, or a digest) to one sink.
//!
//! Invariants: no shell is ever involved (a command gets argv and the JSON on stdin); secrets are
//! read at send time and never appear in errors or logs; every delivery has a timeout.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::AlertEvent;
use crate::config::{AlertsConfig, CommandSink, EmailSink, Secret, SmtpSecurity, WebhookSink};

/// Longest stderr kept from a failing command, for the error message.
const MAX_STDERR: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("webhook {url}: {message}")]
    Webhook { url: String, message: String },
    #[error("email via {host}:{port}: {message}")]
    Email {
        host: String,
        port: u16,
        message: String,
    },
    #[error("command {program}: {message}")]
    Command { program: String, message: String },
    #[error("{sink}: no answer within {after:?}")]
    TimedOut { sink: String, after: Duration },
}

/// A configured place alerts go to.
#[derive(Debug, Clone)]
pub struct Sink {
    /// Its identity in the outbox: stable across reloads and reorderings of the config.
    pub key: String,
    pub kind: SinkKind,
}

#[derive(Debug, Clone)]
pub enum SinkKind {
    Log,
    Webhook(WebhookSink),
    Email(EmailSink),
    Command(CommandSink),
}

/// Every sink of the configuration, in a stable order.
pub fn sinks_from(cfg: &AlertsConfig) -> Vec<Sink> {
    let mut out = Vec::new();
    if cfg.log {
        out.push(Sink::new(SinkKind::Log));
    }
    out.extend(
        cfg.webhook
            .iter()
            .cloned()
            .map(SinkKind::Webhook)
            .map(Sink::new),
    );
    out.extend(
        cfg.email
            .iter()
            .cloned()
            .map(SinkKind::Email)
            .map(Sink::new),
    );
    out.extend(
        cfg.command
            .iter()
            .cloned()
            .map(SinkKind::Command)
            .map(Sink::new),
    );
    out
}

/// The keys sinks had before they had stable ones (`webhook:0`: kind and position), with the key
/// of the sink now at that position: for adopting deliveries an older citewatch left pending.
pub fn legacy_keys(cfg: &AlertsConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    out.extend(
        cfg.webhook
            .iter()
            .enumerate()
            .map(|(i, w)| (format!("webhook:{i}"), w.key.clone())),
    );
    out.extend(
        cfg.email
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("email:{i}"), e.key.clone())),
    );
    out.extend(
        cfg.command
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("command:{i}"), c.key.clone())),
    );
    out
}

/// What a delivery attempt may take beyond the sink's own timeout before it is abandoned.
const ATTEMPT_MARGIN: Duration = Duration::from_secs(2);

impl Sink {
    pub fn new(kind: SinkKind) -> Sink {
        let key = match &kind {
            SinkKind::Log => "log".to_string(),
            SinkKind::Webhook(w) => w.key.clone(),
            SinkKind::Email(e) => e.key.clone(),
            SinkKind::Command(c) => c.key.clone(),
        };
        Sink { key, kind }
    }

    /// The sink's identity in the outbox.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// A description for people (no secrets).
    pub fn describe(&self) -> String {
        match &self.kind {
            SinkKind::Log => "log".into(),
            SinkKind::Webhook(w) => format!("webhook {}", redact_url(&w.url)),
            SinkKind::Email(e) => format!("email to {} via {}:{}", e.to.join(", "), e.host, e.port),
            SinkKind::Command(c) => format!(
                "command {}",
                c.argv.first().map(String::as_str).unwrap_or("")
            ),
        }
    }

    /// The longest one delivery attempt may take: the sink's own timeout (an SMTP conversation
    /// is several round trips) and a margin.
    pub fn attempt_timeout(&self) -> Duration {
        ATTEMPT_MARGIN
            + match &self.kind {
                SinkKind::Log => Duration::ZERO,
                SinkKind::Webhook(w) => w.timeout,
                SinkKind::Email(e) => e.timeout * 3,
                SinkKind::Command(c) => c.timeout,
            }
    }

    /// Delivers `events` (one message) to this sink, within [`Sink::attempt_timeout`].
    pub async fn deliver(
        &self,
        events: &[AlertEvent],
        http: &reqwest::Client,
    ) -> Result<(), DeliveryError> {
        let attempt = async {
            match &self.kind {
                SinkKind::Log => {
                    for e in events {
                        tracing::warn!(target: "citewatch::alert", "{}", super::log_line(e));
                    }
                    Ok(())
                }
                SinkKind::Webhook(w) => webhook(w, events, http).await,
                SinkKind::Email(e) => email(e, events).await,
                SinkKind::Command(c) => command(c, events).await,
            }
        };
        let limit = self.attempt_timeout();
        tokio::time::timeout(limit, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(DeliveryError::TimedOut {
                    sink: self.describe(),
                    after: limit,
                })
            })
    }
}

/// Webhook URLs often carry a token in the path (Slack, Discord): show only scheme and host.
fn redact_url(u: &url::Url) -> String {
    format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or(""))
}

async fn webhook(
    w: &WebhookSink,
    events: &[AlertEvent],
    http: &reqwest::Client,
) -> Result<(), DeliveryError> {
    let err = |message: String| DeliveryError::Webhook {
        url: redact_url(&w.url),
        message,
    };
    let body = super::webhook_payload(events, w.text_field);
    let resp = http
        .post(w.url.clone())
        .timeout(w.timeout)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap_or_default())
        .send()
        .await
        // without_url: the error text must not repeat a token-bearing URL.
        .map_err(|e| err(e.without_url().to_string()))?;
    let status = resp.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(err(format!("answered HTTP {}", status.as_u16())))
    }
}

fn read_secret(secret: &Secret) -> Result<String, String> {
    match secret {
        Secret::Env(var) => {
            std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))
        }
        Secret::File(path) => std::fs::read_to_string(path)
            .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
            .map_err(|e| format!("cannot read password file {}: {e}", path.display())),
    }
}

async fn email(e: &EmailSink, events: &[AlertEvent]) -> Result<(), DeliveryError> {
    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    let err = |message: String| DeliveryError::Email {
        host: e.host.clone(),
        port: e.port,
        message,
    };
    let mut msg = Message::builder()
        .from(
            e.from
                .parse()
                .map_err(|x| err(format!("invalid from address {:?}: {x}", e.from)))?,
        )
        .subject(super::email_subject(events));
    for to in &e.to {
        msg = msg.to(to
            .parse()
            .map_err(|x| err(format!("invalid to address {to:?}: {x}")))?);
    }
    let msg = msg
        .header(ContentType::TEXT_PLAIN)
        .body(super::email_body(events))
        .map_err(|x| err(x.to_string()))?;
    let tls = match e.security {
        SmtpSecurity::None => None,
        SmtpSecurity::StartTls | SmtpSecurity::Tls => {
            let mut params = TlsParameters::builder(e.host.clone());
            if let Some(path) = &e.ca_file {
                let pem = std::fs::read(path)
                    .map_err(|x| err(format!("cannot read ca_file {}: {x}", path.display())))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|x| err(format!("ca_file {}: {x}", path.display())))?;
                params = params.add_root_certificate(cert);
            }
            Some(params.build().map_err(|x| err(x.to_string()))?)
        }
    };
    let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&e.host).tls(
        match (e.security, tls) {
            (SmtpSecurity::StartTls, Some(p)) => Tls::Required(p),
            (SmtpSecurity::Tls, Some(p)) => Tls::Wrapper(p),
            _ => Tls::None,
        },
    );
    let mut builder = builder.port(e.port).timeout(Some(e.timeout));
    if let Some(user) = &e.username {
        let password = match &e.password {
            Some(s) => read_secret(s).map_err(err)?,
            None => String::new(),
        };
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    let mailer = builder.build();
    // lettre's own timeout covers each command; this bounds the whole conversation.
    match tokio::time::timeout(e.timeout * 3, mailer.send(msg)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(x)) => Err(err(x.to_string())),
        Err(_) => Err(err(format!("timed out after {:?}", e.timeout * 3))),
    }
}

async fn command(c: &CommandSink, events: &[AlertEvent]) -> Result<(), DeliveryError> {
    let program = c.argv.first().cloned().unwrap_or_default();
    let err = |message: String| DeliveryError::Command {
        program: program.clone(),
        message,
    };
    let mut child = tokio::process::Command::new(&program)
        .args(&c.argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| err(format!("cannot start: {e}")))?;
    let input = super::command_input(events);
    let mut stdin = child.stdin.take();
    let mut stderr = child.stderr.take();
    let run = async {
        if let Some(mut s) = stdin.take() {
            // A program that exits without reading its input is not our failure: ignore EPIPE.
            let _ = s.write_all(&input).await;
            drop(s);
        }
        let mut errbuf = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.take(MAX_STDERR as u64).read_to_end(&mut errbuf).await;
        }
        let status = child.wait().await;
        (status, errbuf)
    };
    match tokio::time::timeout(c.timeout, run).await {
        Ok((Ok(status), _)) if status.success() => Ok(()),
        Ok((Ok(status), errbuf)) => {
            let text = String::from_utf8_lossy(&errbuf);
            let text = text.trim();
            Err(err(format!(
                "exited with {status}{}",
                if text.is_empty() {
                    String::new()
                } else {
                    format!(": {text}")
                }
            )))
        }
        Ok((Err(e), _)) => Err(err(format!("cannot wait: {e}"))),
        // Dropping the future drops the child: kill_on_drop ends it.
        Err(_) => Err(err(format!(
            "did not finish within {:?}; killed",
            c.timeout
        ))),
    }
}
