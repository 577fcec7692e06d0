//! The application's wiring, built once from the configuration: the writer, the clock and the
//! HTTP client alerts go out on, and from them every check run, archive look-up queue and
//! delivery. The commands (`run`, `check`) and the daemon build their work from it alike (a
//! reload replaces the daemon's configuration in it).
//!
//! Its own layer, above the sequencers it builds (`pipeline`) and below what runs it: the
//! command line and the daemon (ARCHITECTURE.md, "Layers").

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::store::{StoreError, Writer};

use crate::pipeline::{self, CheckRun, CheckStats, CycleKind, DeliveryReport, Lookups};
use crate::state::State;

/// SIGTERM or SIGINT, whichever comes first: the stop that the daemon, the dashboard and a check
/// run from the command line all obey. Call it inside the runtime; the future is ready at the
/// first of them.
pub fn termination() -> std::io::Result<impl std::future::Future<Output = ()> + Send> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

#[derive(Clone)]
pub struct Wiring {
    pub config: Config,
    pub writer: Writer,
    pub clock: Arc<dyn Clock>,
    /// Alerts go out on it: no proxy from the environment (it would bypass the address guard).
    pub http: reqwest::Client,
}

/// The HTTP client for alert delivery could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client for alerts: {0}")]
pub struct WiringError(#[source] reqwest::Error);

impl Wiring {
    pub fn new(
        config: Config,
        writer: Writer,
        clock: Arc<dyn Clock>,
    ) -> Result<Wiring, WiringError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(WiringError)?;
        Ok(Wiring {
            config,
            writer,
            clock,
            http,
        })
    }

    /// A check run of this kind (`run`, `check`, a daemon cycle).
    pub fn check_run(&self, kind: CycleKind) -> CheckRun {
        CheckRun {
            writer: self.writer.clone(),
            check: self.config.check.clone(),
            alerts: self.config.alerts.clone(),
            clock: self.clock.clone(),
            kind,
        }
    }

    /// The archive look-up queue: for confirmed bad links only (the daemon), or for every link
    /// bad now (`run`, `check`).
    pub fn lookups(&self, confirmed_only: bool) -> Lookups {
        Lookups {
            writer: self.writer.clone(),
            archive: self.config.archive.clone(),
            user_agent: self.config.check.user_agent.clone(),
            clock: self.clock.clone(),
            confirmed_only,
        }
    }

    /// Sends the alert deliveries that are due, sinks concurrently; `progress` is called at each
    /// sign of life.
    pub async fn deliver_due(
        &self,
        progress: &(dyn Fn() + Send + Sync),
    ) -> Result<DeliveryReport, StoreError> {
        pipeline::deliver_due(
            &self.writer,
            &self.config.alerts,
            &self.http,
            &self.clock,
            progress,
        )
        .await
    }

    /// [`Wiring::deliver_due`] for at most `limit` (what `run` and `check` spend before they
    /// exit); none when the limit cut it short (the rest waits in the outbox).
    pub async fn deliver_due_within(
        &self,
        limit: std::time::Duration,
        progress: &(dyn Fn() + Send + Sync),
    ) -> Option<Result<DeliveryReport, StoreError>> {
        pipeline::deliver_due_within(
            limit,
            &self.writer,
            &self.config.alerts,
            &self.http,
            &self.clock,
            progress,
        )
        .await
    }

    /// A check run from start to end as `run` and `check` do it: the links of `ids` checked, with the
    /// archive look-ups for links bad now beside them (within `[archive] budget` after the
    /// checks), then, with `deliver`, the alerts they caused delivered within `limit` (what is
    /// not sent by then stays in the outbox). After `stop` no new check starts. Failures of the
    /// look-ups and the delivery are logged, one line each; the checks' own failure is the
    /// error.
    pub async fn check_once(
        &self,
        kind: CycleKind,
        ids: Vec<i64>,
        stop: &tokio_util::sync::CancellationToken,
        deliver: Option<std::time::Duration>,
        on_done: impl Fn(&str, State) + Send + Sync + 'static,
    ) -> Result<CheckStats, pipeline::PipelineError> {
        let run = self.check_run(kind);
        let lookups = self.lookups(false);
        let budget = self.config.archive.budget;
        let checks_done = tokio_util::sync::CancellationToken::new();
        let looking = {
            let (done, stop) = (checks_done.clone(), stop.clone());
            tokio::spawn(
                async move { pipeline::lookup_archives(&lookups, &done, budget, &stop).await },
            )
        };
        let stats = pipeline::check(&run, ids, stop, on_done).await;
        checks_done.cancel();
        match looking.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("archive look-ups: {e}"),
            Err(e) => tracing::warn!("archive look-ups failed: {e}"),
        }
        let stats = stats?;
        if let Some(limit) = deliver {
            match self.deliver_due_within(limit, &|| {}).await {
                Some(Ok(r)) if r.failed > 0 => tracing::warn!(
                    "{} alert deliveries failed; they are tried again by the next run",
                    r.failed
                ),
                Some(Ok(_)) => {}
                Some(Err(e)) => tracing::warn!("alert delivery: {e}"),
                None => tracing::warn!(
                    "alert delivery took longer than {limit:?}; the rest waits for the next run"
                ),
            }
        }
        Ok(stats)
    }
}
