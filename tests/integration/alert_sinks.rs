//! Alert sinks against real receivers on 127.0.0.1: an SMTP listener started by the test, a
//! command run without a shell, a webhook that fails.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::TimeZone;
use citewatch::alert::sink::{sinks_from, Sink, SinkKind};
use citewatch::alert::AlertEvent;
use citewatch::config::{AlertsConfig, CommandSink, EmailSink, Secret, SmtpSecurity, WebhookSink};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::server::{status, Routes, TestServer};

fn event() -> AlertEvent {
    let mut e = AlertEvent::test(chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    e.id = "cw-1-x".into();
    e.event = "confirmed".into();
    e.url = "https://gone.example.org/page".into();
    e
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A minimal SMTP server: records the AUTH line and the message.
async fn smtp_server(log: Arc<Mutex<String>>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let Ok((sock, _)) = listener.accept().await else {
            return;
        };
        let (r, mut w) = sock.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"220 test ESMTP\r\n").await.unwrap();
        let mut in_data = false;
        while let Ok(Some(line)) = lines.next_line().await {
            log.lock().unwrap().push_str(&format!("{line}\n"));
            if in_data {
                if line == "." {
                    in_data = false;
                    w.write_all(b"250 queued\r\n").await.unwrap();
                }
                continue;
            }
            let upper = line.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") {
                b"250-test\r\n250 AUTH PLAIN LOGIN\r\n"
            } else if upper.starts_with("AUTH") {
                b"235 ok\r\n"
            } else if upper.starts_with("DATA") {
                in_data = true;
                b"354 go\r\n"
            } else if upper.starts_with("QUIT") {
                w.write_all(b"221 bye\r\n").await.unwrap();
                break;
            } else {
                b"250 ok\r\n"
            };
            w.write_all(reply).await.unwrap();
        }
    });
    port
}

#[test]
fn email_reaches_an_smtp_server_and_the_password_stays_secret() {
    let rt = rt();
    let log = Arc::new(Mutex::new(String::new()));
    let port = rt.block_on(smtp_server(log.clone()));
    let var = "CITEWATCH_TEST_SMTP_PASSWORD_7f3a";
    std::env::set_var(var, "hunter2-secret");
    let sink = Sink::new(SinkKind::Email(EmailSink {
        key: "email:test".into(),
        ca_file: None,
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: Some("citewatch".into()),
        password: Some(Secret::Env(var.into())),
        from: "citewatch <cw@example.org>".into(),
        to: vec!["author@example.org".into()],
        timeout: Duration::from_secs(5),
    }));
    assert!(!format!("{sink:?}").contains("hunter2"));
    let http = reqwest::Client::new();
    rt.block_on(sink.deliver(&[event()], &http)).unwrap();
    let got = log.lock().unwrap().clone();
    assert!(
        got.contains("Subject: [citewatch] citation broken"),
        "{got}"
    );
    assert!(got.contains("https://gone.example.org/page"), "{got}");
    assert!(got.contains("AUTH"), "{got}");

    // A refused connection is an error that names the host and never the password.
    let dead = Sink::new(SinkKind::Email(EmailSink {
        key: "email:test".into(),
        ca_file: None,
        host: "127.0.0.1".into(),
        port: 1,
        security: SmtpSecurity::None,
        username: Some("citewatch".into()),
        password: Some(Secret::Env(var.into())),
        from: "cw@example.org".into(),
        to: vec!["a@example.org".into()],
        timeout: Duration::from_secs(2),
    }));
    let err = rt.block_on(dead.deliver(&[event()], &http)).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn command_gets_json_on_stdin_and_arguments_literally() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stdin.json");
    let args = dir.path().join("args.txt");
    let script = dir.path().join("sink.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\ncat > \"$1\"\nprintf '%s\\n' \"$2\" > \"$3\"\n",
    )
    .unwrap();
    let sink = Sink::new(SinkKind::Command(CommandSink {
        key: "command:test".into(),
        argv: vec![
            "sh".into(),
            script.display().to_string(),
            out.display().to_string(),
            "; rm -rf / $(whoami) `id`".into(),
            args.display().to_string(),
        ],
        timeout: Duration::from_secs(5),
    }));
    let http = reqwest::Client::new();
    rt().block_on(sink.deliver(&[event()], &http)).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["id"], "cw-1-x");
    assert_eq!(v["new_state"], "broken");
    assert_eq!(
        std::fs::read_to_string(&args).unwrap(),
        "; rm -rf / $(whoami) `id`\n"
    );

    let fails = Sink::new(SinkKind::Command(CommandSink {
        key: "command:test".into(),
        argv: vec!["sh".into(), "-c".into(), "echo nope >&2; exit 3".into()],
        timeout: Duration::from_secs(5),
    }));
    let e = rt()
        .block_on(fails.deliver(&[event()], &http))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope"), "{e}");
    let slow = Sink::new(SinkKind::Command(CommandSink {
        key: "command:test".into(),
        argv: vec!["sleep".into(), "30".into()],
        timeout: Duration::from_millis(500),
    }));
    let t = Instant::now();
    let e = rt()
        .block_on(slow.deliver(&[event()], &http))
        .unwrap_err()
        .to_string();
    assert!(e.contains("did not finish"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn webhook_failures_are_errors_and_urls_are_redacted() {
    let srv = TestServer::start(Routes::new().at("/hook/secret-token", |_| status(500)));
    let sink = Sink::new(SinkKind::Webhook(WebhookSink {
        key: "webhook:test".into(),
        url: url::Url::parse(&srv.url("/hook/secret-token")).unwrap(),
        text_field: false,
        timeout: Duration::from_secs(2),
    }));
    let e = rt()
        .block_on(sink.deliver(&[event()], &reqwest::Client::new()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("500"), "{e}");
    assert!(!e.contains("secret-token"), "{e}");
    assert_eq!(srv.hits("/hook/secret-token"), 1);
    let keys: Vec<String> = sinks_from(&AlertsConfig::default())
        .iter()
        .map(|s| s.key().to_string())
        .collect();
    assert_eq!(keys, ["log"]);
}

#[test]
fn alerts_test_command_reports_each_sink() {
    let blog = crate::cli::Blog::new();
    let srv = TestServer::start(Routes::new().at("/bad", |_| status(500)));
    blog.config(&format!(
        "[alerts]\n[[alerts.webhook]]\nurl = \"{}\"\n",
        srv.url("/bad")
    ));
    let out = blog.cmd().args(["alerts", "test"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ok      log"), "{text}");
    assert!(text.contains("failed  webhook"), "{text}");
    assert_eq!(out.status.code(), Some(1));
}
