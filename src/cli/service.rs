//! The long-running commands: `serve` (the dashboard), `daemon` (the service) and `alerts`.

use super::*;

/// `citewatch serve`: the dashboard until SIGTERM or Ctrl-C.
pub(super) fn serve(cfg: Config, listen: Option<std::net::SocketAddr>) -> Result<Outcome> {
    use citewatch::serve::{self, Dashboard, Token};
    let listen = match listen.or(cfg.serve.listen) {
        Some(a) => a,
        None => config::defaults::SERVE_LISTEN.parse()?,
    };
    let token = cfg
        .serve
        .token_file
        .as_deref()
        .map(Token::from_file)
        .transpose()?;
    serve::check_exposure(listen, token.as_ref())?;
    // The database must exist; an older one is brought up to date as any query does.
    drop(open_existing(&cfg)?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // `citewatch fix`'s planner, run dry, shows on each post what fix would do; it reads
    // through a writer handle as `fix` does, and writes nothing.
    let planner = if cfg.sources.is_empty() {
        serve::no_planner("the configuration names no [[source]] folder, so the post cannot be read to plan its repairs")
    } else {
        serve::fix_planner(Writer::start(&cfg.db)?, cfg.clone(), clock.clone())
    };
    runtime()?.block_on(async move {
        let shutdown =
            citewatch::wiring::termination().context("cannot listen for SIGTERM and SIGINT")?;
        let listener = serve::bind(listen, token.as_ref()).await?;
        let addr = listener.local_addr()?;
        eprintln!("citewatch: dashboard on http://{addr}/ (read-only; Ctrl-C stops it)");
        let dash = Arc::new(Dashboard::new(&cfg.db, token, clock).with_planner(planner));
        serve::run(listener, dash, shutdown).await;
        anyhow::Ok(())
    })?;
    Ok(Outcome::Clean)
}

pub(super) fn daemon(cfg: Config, args: &Args) -> Result<Outcome> {
    // The daemon waits for space on a full disk (`Writer::start`); a command stops at once.
    use citewatch::daemon::{self, Control};
    let cfg = with_paths(cfg, &[])?;
    let writer = Writer::start(&cfg.db)?;
    let config_arg = args.config.clone();
    let db_arg = args.db.clone();
    let reload: daemon::Reloader = Box::new(move || {
        let path = config_arg
            .clone()
            .unwrap_or_else(|| PathBuf::from(config::defaults::CONFIG_FILE));
        let mut c = Config::load(&path).map_err(|e| e.to_string())?;
        if let Some(db) = &db_arg {
            c.db = db.clone();
        }
        with_paths(c, &[]).map_err(|e| format!("{e:#}"))
    });
    let rt = runtime()?;
    rt.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let shutdown =
            citewatch::wiring::termination().context("cannot listen for SIGTERM and SIGINT")?;
        let mut hup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                if tx.send(Control::Reload).await.is_err() {
                    break;
                }
            }
        });
        let deps = daemon::Deps {
            config: cfg,
            writer,
            reload,
            clock: Arc::new(SystemClock),
            notifier: Arc::new(citewatch::systemd::Notifier::from_env()),
            control: rx,
        };
        daemon::run(deps, shutdown)
            .await
            .map_err(anyhow::Error::from)
    })?;
    Ok(Outcome::Clean)
}

pub(super) fn alerts(
    cfg: Config,
    action: Option<&AlertsAction>,
    format: Format,
) -> Result<Outcome> {
    use citewatch::alert::{sink, AlertEvent};
    match action {
        Some(AlertsAction::Test) => {
            let sinks = sink::sinks_from(&cfg.alerts);
            if sinks.is_empty() {
                bail!("no alert sinks configured: add [alerts] log = true or an [[alerts.webhook]], [[alerts.email]] or [[alerts.command]]");
            }
            let event = AlertEvent::test(SystemClock.now());
            // As the daemon delivers: never through a proxy from the environment.
            let http = reqwest::Client::builder().no_proxy().build()?;
            let results = runtime()?.block_on(async {
                let mut out = Vec::new();
                for s in &sinks {
                    out.push((
                        s.describe(),
                        s.deliver(std::slice::from_ref(&event), &http).await,
                    ));
                }
                out
            });
            let mut failed = false;
            for (name, r) in results {
                match r {
                    Ok(()) => println!("ok      {name}"),
                    Err(e) => {
                        failed = true;
                        println!("failed  {name}: {}", report::sanitize(&e.to_string()));
                    }
                }
            }
            Ok(if failed {
                Outcome::Fatal
            } else {
                Outcome::Clean
            })
        }
        None => {
            let store = open_existing(&cfg)?;
            let rows = store.alerts()?;
            match format {
                Format::Json => print(&(serde_json::to_string_pretty(&rows)? + "\n"))?,
                Format::Table | Format::Csv => {
                    let mut out = String::new();
                    for a in &rows {
                        out.push_str(&format!(
                            "{}  {:<9} {} -> {}  {}  [{}]\n",
                            stamp(a.created_at),
                            a.event,
                            a.old_state.as_deref().unwrap_or("-"),
                            a.new_state,
                            report::sanitize(a.url.as_deref().unwrap_or("")),
                            a.id
                        ));
                        for d in &a.deliveries {
                            out.push_str(&format!(
                                "    {:<12} {:<9} attempts {}{}\n",
                                d.sink,
                                d.state,
                                d.attempts,
                                d.last_error
                                    .as_deref()
                                    .map(|e| format!("  last error: {}", report::sanitize(e)))
                                    .unwrap_or_default()
                            ));
                        }
                    }
                    if rows.is_empty() {
                        out.push_str("no alerts yet\n");
                    }
                    print(&out)?;
                }
            }
            Ok(Outcome::Clean)
        }
    }
}
