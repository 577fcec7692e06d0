//! The ends of cycles: a cycle finished by its run, or cut short and finished by the next
//! start; canaries that tell citewatch's own outage.

use super::*;

/// Ends the cycles that a crash or a kill cut short: their process is gone, or they wrote nothing
/// for [`crate::store::STALE_AFTER`]. Their pending strikes are decided as at a normal end.
pub async fn finish_cut_cycles(run: &CheckRun) -> Result<(), PipelineError> {
    let now = run.clock.now();
    let own = std::process::id();
    finish_cycles(run, move |c| {
        let gone = c.pid != own && !process_alive(c.pid);
        gone || c.heartbeat_at <= now - crate::store::STALE_AFTER
    })
    .await
}

/// Ends this process's own unfinished cycles (a daemon stopping after its grace period).
pub async fn finish_own_cycles(run: &CheckRun) -> Result<(), PipelineError> {
    let own = std::process::id();
    finish_cycles(run, move |c| c.pid == own).await
}

pub(super) async fn finish_cycles(
    run: &CheckRun,
    which: impl Fn(&crate::store::OpenCycle) -> bool,
) -> Result<(), PipelineError> {
    let now = run.clock.now();
    let open = run.writer.read(|s| s.open_cycles()).await?;
    for c in open {
        if !which(&c) {
            continue;
        }
        let conf = run.confirming(c.id, false);
        let end = run
            .writer
            .run("the end of a cycle cut short", move |s| {
                s.finish_cycle(&conf, false, now)
            })
            .await?;
        tracing::info!(
            "finished {} cycle {} that was cut short: {} checks, {} confirmed transitions{}",
            c.kind,
            c.id,
            end.checks,
            end.transitions,
            end.outage
                .map(|o| format!("; no strikes counted: {}", o.describe()))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// Whether a process is running on this machine (Linux: `/proc/PID`). Elsewhere a cycle is taken
/// as cut short only when it has been silent for [`crate::store::STALE_AFTER`].
pub(super) fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// Whether any configured canary failed: then the run is our outage and counts no strikes.
pub(super) async fn canaries_fail(checker: &Checker, alerts: &AlertsConfig) -> bool {
    for url in &alerts.canaries {
        let f = checker.check(url).await;
        let v = classify::classify(&f, &classify::Context::default());
        if v.state.is_failing() {
            tracing::warn!(
                "canary {url} failed: {}; this run counts no strikes",
                v.error.unwrap_or_default()
            );
            return true;
        }
    }
    false
}
