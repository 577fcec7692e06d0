//! Verdicts and cycles: a check written with everything that follows from it (the snapshot, the
//! link's new state, its confirmation step, the alert event it causes), in one transaction; and
//! the cycles (a daemon cycle, a `run`, a `check`) checks belong to.
//!
//! A check that got no HTTP answer is a strike only once its cycle is known not to be citewatch's
//! own outage: its step waits in `confirmations.pending_*`, written with the check, and is taken
//! (or dropped) when the cycle ends, or by the next process that finds the cycle cut short.

use super::*;
use crate::confirm::{self, Confirmation, Observation, Outage, Transition};
use crate::fetch::NetworkFailure;

/// A cycle whose process still runs but which wrote nothing for this long is taken as dead.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::hours(6);

/// How checks become strikes and alerts.
#[derive(Debug, Clone)]
pub struct Confirming {
    /// The cycle the checks belong to.
    pub cycle: i64,
    pub settings: confirm::Settings,
    /// The keys of the sinks each alert event is owed to.
    pub sinks: Vec<String>,
    /// Known from the start to be our own outage (a canary failed): bad checks are no strikes.
    pub no_strikes: bool,
}

/// What writing one verdict did.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub link_id: i64,
    pub state: State,
    pub network: Option<NetworkFailure>,
    /// A confirmed transition written with it, with its alert event.
    pub transition: Option<Transition>,
}

/// How a cycle ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CycleEnd {
    pub checks: usize,
    /// Why it counted no strikes, when it was our own outage.
    pub outage: Option<Outage>,
    /// Confirmed transitions taken when it ended (pending strikes that confirmed).
    pub transitions: usize,
}

/// A cycle that did not finish.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenCycle {
    pub id: i64,
    pub kind: String,
    pub pid: u32,
    pub heartbeat_at: DateTime<Utc>,
}

impl Reads<'_> {
    /// A snapshot's readable text as the current extraction reads it (see
    /// [`Reads::readable_text`]).
    pub fn snapshot_text(&self, hash: &str) -> Result<Option<String>> {
        Ok(self.readable_text(hash)?.map(|(_, text, _)| text))
    }

    /// The word diff between two archived pages' readable text, as `citewatch diff` prints it and
    /// the dashboard shows it (the baseline → latest diff of both). Scraped text is data:
    /// control characters are neutralised before anyone renders it.
    pub fn text_diff(&self, old: &str, new: &str) -> Result<Vec<crate::rows::DiffOp>> {
        let old = self.snapshot_text(old)?.unwrap_or_default();
        let new = self.snapshot_text(new)?.unwrap_or_default();
        Ok(crate::diff::word_diff(
            &crate::text::sanitize_block(&old),
            &crate::text::sanitize_block(&new),
        ))
    }

    /// The fragments present posts cite a link with, once each, and whether any check found each.
    pub fn fragments(&self, link_id: i64) -> Result<Vec<(String, bool)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT c.fragment, COALESCE(f.seen_present, 0)
             FROM citations c JOIN posts p ON p.id = c.post_id
             LEFT JOIN fragments f ON f.link_id = c.link_id AND f.fragment = c.fragment
             WHERE c.link_id = ?1 AND c.fragment IS NOT NULL AND c.fragment <> '' AND p.present = 1
             ORDER BY c.fragment",
        )?;
        let rows = stmt.query_map(params![link_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The passages posts quote from a link, once each.
    pub fn quotes(&self, link_id: i64) -> Result<Vec<String>> {
        let mut quotes: Vec<String> = self
            .citations_of(link_id)?
            .into_iter()
            .filter_map(|c| c.quote)
            .collect();
        quotes.sort();
        quotes.dedup();
        Ok(quotes)
    }

    fn confirmation(&self, link_id: i64) -> Result<Confirmation> {
        Ok(self
            .conn
            .prepare_cached("SELECT confirmed, streak_state, streak_count, streak_since FROM confirmations WHERE link_id = ?1")?
            .query_row(params![link_id], |r| {
                Ok(Confirmation {
                    confirmed: r.get::<_, Option<String>>(0)?.map(|s| state_col(&s)),
                    streak_state: r.get::<_, Option<String>>(1)?.map(|s| state_col(&s)),
                    streak_count: r.get::<_, i64>(2)?.max(0) as u32,
                    streak_since: opt_time_col(r, 3)?,
                })
            })
            .optional()?
            .unwrap_or_default())
    }
}

impl Store {
    /// Starts a cycle of `kind` run by process `pid`.
    pub fn begin_cycle(&mut self, kind: &str, pid: u32, now: DateTime<Utc>) -> Result<i64> {
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO cycles (kind, pid, started_at, heartbeat_at) VALUES (?1, ?2, ?3, ?3)",
            params![kind, pid, ts(now)],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Cycles that never finished, oldest first.
    pub fn open_cycles(&self) -> Result<Vec<OpenCycle>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, kind, pid, heartbeat_at FROM cycles WHERE finished_at IS NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(OpenCycle {
                id: r.get(0)?,
                kind: r.get(1)?,
                pid: r.get::<_, i64>(2)?.max(0) as u32,
                heartbeat_at: time_col(r, 3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Writes a batch of checks in one transaction, each with everything that follows from it:
    /// its snapshot, the link's new state, its confirmation step and any alert event (with one
    /// pending delivery per sink). A check without an HTTP answer leaves its step pending until
    /// the cycle ends.
    pub fn record_verdicts(
        &mut self,
        records: &[CheckRecord],
        conf: &Confirming,
    ) -> Result<Vec<Recorded>> {
        let tx = self.write_tx()?;
        let mut out = Vec::with_capacity(records.len());
        let mut last = None;
        for rec in records {
            checks::write_check(&tx, rec)?;
            let transition = confirm_one(&tx, rec, conf)?;
            last = Some(rec.checked_at);
            out.push(Recorded {
                link_id: rec.link_id,
                state: rec.state,
                network: rec.network,
                transition,
            });
        }
        if let Some(t) = last {
            tx.execute(
                "UPDATE cycles SET heartbeat_at = ?2 WHERE id = ?1",
                params![conf.cycle, ts(t)],
            )?;
        }
        tx.commit()?;
        Ok(out)
    }

    /// Ends a cycle: decides from its recorded checks whether it was our own outage, then takes
    /// the strikes it left pending (or drops them, in an outage), writing any alert events, all in
    /// one transaction. Ending a cycle twice does nothing the second time.
    pub fn finish_cycle(
        &mut self,
        conf: &Confirming,
        canary_failed: bool,
        now: DateTime<Utc>,
    ) -> Result<CycleEnd> {
        let tx = self.write_tx()?;
        let finished: Option<Option<String>> = tx
            .query_row(
                "SELECT finished_at FROM cycles WHERE id = ?1",
                params![conf.cycle],
                |r| r.get(0),
            )
            .optional()?;
        if !matches!(finished, Some(None)) {
            return Ok(CycleEnd::default());
        }
        // The cycle's checks counted on its index; only those that got no HTTP answer are read
        // (reading every check of a 5,000-link cycle was most of the end of a run).
        let checked: i64 = tx.query_row(
            "SELECT COUNT(*) FROM checks WHERE cycle_id = ?1",
            params![conf.cycle],
            |r| r.get(0),
        )?;
        let observed: Vec<Observation> = {
            let mut stmt = tx.prepare(
                "SELECT l.url, c.network FROM checks c JOIN links l ON l.id = c.link_id
                 WHERE c.cycle_id = ?1 AND c.network IS NOT NULL",
            )?;
            let rows = stmt.query_map(params![conf.cycle], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })?;
            rows.map(|r| {
                r.map(|(url, net)| Observation {
                    host: url::Url::parse(&url)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
                        .unwrap_or_default(),
                    network: net.as_deref().and_then(NetworkFailure::parse),
                })
            })
            .collect::<rusqlite::Result<_>>()?
        };
        let outage = confirm::is_outage(&observed, checked.max(0) as usize, canary_failed);
        let pending: Vec<(i64, String, DateTime<Utc>)> = {
            let mut stmt = tx.prepare(
                "SELECT link_id, pending_state, pending_at FROM confirmations
                 WHERE pending_cycle = ?1 ORDER BY pending_at, link_id",
            )?;
            let rows = stmt.query_map(params![conf.cycle], |r| {
                Ok((r.get(0)?, r.get(1)?, time_col(r, 2)?))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut transitions = 0;
        for (link_id, state, at) in pending {
            tx.execute(
                "UPDATE confirmations SET pending_state = NULL, pending_at = NULL, pending_cycle = NULL WHERE link_id = ?1",
                params![link_id],
            )?;
            if outage.is_some() {
                continue;
            }
            if step(&tx, link_id, state_col(&state), at, conf)?.is_some() {
                transitions += 1;
            }
        }
        tx.execute(
            "UPDATE cycles SET finished_at = ?2, outage = ?3 WHERE id = ?1",
            params![
                conf.cycle,
                ts(now),
                outage.map(|o| match o {
                    Outage::Canary => "canary",
                    Outage::NoAnswers => "no_answers",
                })
            ],
        )?;
        tx.commit()?;
        Ok(CycleEnd {
            checks: observed.len(),
            outage,
            transitions,
        })
    }
}

/// The confirmation step of one recorded check: taken now when an HTTP answer came (or the link
/// is fine), left pending for the cycle's end when none came.
fn confirm_one(
    tx: &Transaction<'_>,
    rec: &CheckRecord,
    conf: &Confirming,
) -> Result<Option<Transition>> {
    if conf.no_strikes && confirm::is_bad(rec.state) {
        return Ok(None);
    }
    if rec.network.is_some() && confirm::is_bad(rec.state) {
        tx.prepare_cached(
            "INSERT INTO confirmations (link_id, pending_state, pending_at, pending_cycle) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (link_id) DO UPDATE SET pending_state = excluded.pending_state,
               pending_at = excluded.pending_at, pending_cycle = excluded.pending_cycle",
        )?
        .execute(params![rec.link_id, rec.state.as_str(), ts(rec.checked_at), conf.cycle])?;
        return Ok(None);
    }
    step(tx, rec.link_id, rec.state, rec.checked_at, conf)
}

/// One confirmation step of a link, written with the alert event it causes.
fn step(
    tx: &Transaction<'_>,
    link_id: i64,
    observed: State,
    at: DateTime<Utc>,
    conf: &Confirming,
) -> Result<Option<Transition>> {
    let reads = Reads::new(tx);
    let prev = reads.confirmation(link_id)?;
    let (next, transition) = confirm::step(&prev, observed, at, &conf.settings, false);
    if next != prev {
        tx.prepare_cached(
            "INSERT INTO confirmations (link_id, confirmed, streak_state, streak_count, streak_since) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (link_id) DO UPDATE SET confirmed = excluded.confirmed, streak_state = excluded.streak_state,
               streak_count = excluded.streak_count, streak_since = excluded.streak_since",
        )?
        .execute(params![
            link_id,
            next.confirmed.map(State::as_str),
            next.streak_state.map(State::as_str),
            next.streak_count,
            next.streak_since.map(ts)
        ])?;
    }
    if let Some(t) = transition {
        let row = reads.link_status_by_id(link_id)?;
        let event = crate::alert::event_for(link_id, row.as_ref(), t, at);
        alerts::insert_event(tx, Some(link_id), &event, &conf.sinks, at)?;
    }
    Ok(transition)
}
