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

/// A CA and a certificate for 127.0.0.1 signed by it: (CA PEM, server cert DER, key DER).
fn test_pki() -> (String, Vec<u8>, Vec<u8>) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    (ca.pem(), cert.der().to_vec(), key.serialize_der())
}

/// An SMTP server that requires STARTTLS before AUTH, with a certificate the sink is told to
/// trust (`ca_file`); records the decoded AUTH PLAIN credentials and the message.
async fn starttls_server(cert: Vec<u8>, key: Vec<u8>, log: Arc<Mutex<String>>) -> u16 {
    use tokio::io::AsyncReadExt as _;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(cert)],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        // In clear: greeting, EHLO offering STARTTLS, STARTTLS.
        sock.write_all(b"220 test ESMTP\r\n").await.unwrap();
        let mut buf = [0u8; 1024];
        loop {
            let n = sock.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            let line = String::from_utf8_lossy(&buf[..n]).to_ascii_uppercase();
            if line.starts_with("EHLO") {
                sock.write_all(b"250-test\r\n250 STARTTLS\r\n")
                    .await
                    .unwrap();
            } else if line.starts_with("STARTTLS") {
                sock.write_all(b"220 go ahead\r\n").await.unwrap();
                break;
            } else {
                log.lock()
                    .unwrap()
                    .push_str("CLEAR-TEXT COMMAND BEFORE TLS\n");
                sock.write_all(b"530 must issue STARTTLS first\r\n")
                    .await
                    .unwrap();
            }
        }
        let tls = acceptor.accept(sock).await.unwrap();
        log.lock().unwrap().push_str("TLS\n");
        let (r, mut w) = tokio::io::split(tls);
        let mut lines = BufReader::new(r).lines();
        let mut in_data = false;
        while let Ok(Some(line)) = lines.next_line().await {
            if in_data {
                log.lock().unwrap().push_str(&format!("{line}\n"));
                if line == "." {
                    in_data = false;
                    w.write_all(b"250 queued\r\n").await.unwrap();
                }
                continue;
            }
            let upper = line.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") {
                b"250-test\r\n250 AUTH PLAIN\r\n"
            } else if let Some(b64) = line.strip_prefix("AUTH PLAIN ") {
                log.lock()
                    .unwrap()
                    .push_str(&format!("AUTH {}\n", base64_decode(b64.trim())));
                b"235 ok\r\n"
            } else if upper.starts_with("DATA") {
                in_data = true;
                b"354 go\r\n"
            } else if upper.starts_with("QUIT") {
                let _ = w.write_all(b"221 bye\r\n").await;
                break;
            } else {
                b"250 ok\r\n"
            };
            w.write_all(reply).await.unwrap();
        }
    });
    port
}

/// Standard base64 (RFC 4648) to text, for reading AUTH PLAIN in the test server.
fn base64_decode(s: &str) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = alphabet.iter().position(|a| *a == c).unwrap_or(0) as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    String::from_utf8_lossy(&out).replace('\0', "|")
}

/// STARTTLS to a server whose certificate the sink trusts through `ca_file`, with the password
/// read from `password_file` at send time: the AUTH happens only inside TLS, the password is the
/// file's, and no error or printed sink contains it. Without `ca_file` the same server is refused.
#[test]
fn email_with_starttls_and_a_password_file() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_pki();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let pw_file = dir.path().join("smtp-password");
    std::fs::write(&pw_file, "hunter2-from-a-file\n").unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let port = rt.block_on(starttls_server(cert.clone(), key.clone(), log.clone()));
    let sink = |port: u16, ca: Option<std::path::PathBuf>| {
        Sink::new(SinkKind::Email(EmailSink {
            key: "email:test".into(),
            ca_file: ca,
            host: "127.0.0.1".into(),
            port,
            security: SmtpSecurity::StartTls,
            username: Some("citewatch".into()),
            password: Some(Secret::File(pw_file.clone())),
            from: "cw@example.org".into(),
            to: vec!["author@example.org".into()],
            timeout: Duration::from_secs(5),
        }))
    };
    let http = reqwest::Client::new();
    let s = sink(port, Some(ca_file.clone()));
    assert!(!format!("{s:?}").contains("hunter2"));
    rt.block_on(s.deliver(&[event()], &http)).unwrap();
    let got = log.lock().unwrap().clone();
    assert!(!got.contains("CLEAR-TEXT"), "{got}");
    let tls_at = got.find("TLS\n").expect("a TLS session");
    let auth_at = got.find("AUTH |citewatch|hunter2-from-a-file").expect(&got);
    assert!(tls_at < auth_at, "AUTH only inside TLS: {got}");
    assert!(got.contains("https://gone.example.org/page"), "{got}");

    // An untrusted certificate is refused, and the error names the server, not the password.
    let log2 = Arc::new(Mutex::new(String::new()));
    let port2 = rt.block_on(starttls_server(cert, key, log2.clone()));
    let err = rt
        .block_on(sink(port2, None).deliver(&[event()], &http))
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains(&format!("127.0.0.1:{port2}")), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        !log2.lock().unwrap().contains("AUTH"),
        "no AUTH over an untrusted TLS session"
    );
}
