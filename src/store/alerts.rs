//! The alert outbox: events (written with the confirmation that caused them, see `cycles`) and their
//! deliveries, one per sink, marked as they succeed, fail or are dropped.

use super::*;

impl Store {
    /// Deliveries due at `now`, oldest event first.
    pub fn pending_deliveries(&self, now: DateTime<Utc>) -> Result<Vec<PendingDelivery>> {
        let mut stmt = self.conn.prepare(
            "SELECT d.event_id, d.sink, d.attempts, e.payload FROM alert_deliveries d JOIN alert_events e ON e.id = d.event_id
             WHERE d.state = 'pending' AND d.next_attempt <= ?1 ORDER BY d.event_id, d.sink",
        )?;
        let rows = stmt.query_map(params![ts(now)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (event_id, sink, attempts, payload) = row?;
            // A payload that no longer parses is left pending and reported, not dropped.
            match serde_json::from_str(&payload) {
                Ok(event) => out.push(PendingDelivery {
                    event_id,
                    sink,
                    attempts: attempts.max(0) as u32,
                    event,
                }),
                Err(e) => tracing::error!("alert event {event_id} cannot be read: {e}"),
            }
        }
        Ok(out)
    }

    /// The earliest time a pending delivery is due, for the daemon's wake-up.
    pub fn next_delivery_due(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self.conn.query_row(
            "SELECT MIN(next_attempt) FROM alert_deliveries WHERE state = 'pending'",
            [],
            |r| opt_time_col(r, 0),
        )?)
    }

    pub fn mark_delivered(&mut self, event_id: i64, sink: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE alert_deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = ?3, last_error = NULL
             WHERE event_id = ?1 AND sink = ?2",
            params![event_id, sink, ts(now)],
        )?;
        Ok(())
    }

    pub fn mark_failed(
        &mut self,
        event_id: i64,
        sink: &str,
        error: &str,
        next: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE alert_deliveries SET attempts = attempts + 1, last_error = ?3, next_attempt = ?4
             WHERE event_id = ?1 AND sink = ?2",
            params![event_id, sink, error, ts(next)],
        )?;
        Ok(())
    }

    /// Marks the pending deliveries to sinks that are no longer configured as `dropped`: they are
    /// never sent elsewhere. Returns how many.
    pub fn drop_deliveries(&mut self, configured: &[String], now: DateTime<Utc>) -> Result<usize> {
        let keys = json_list(configured);
        Ok(self.conn.execute(
            "UPDATE alert_deliveries SET state = 'dropped', last_error = 'sink no longer configured', delivered_at = ?2
             WHERE state = 'pending' AND sink NOT IN (SELECT value FROM json_each(?1))",
            params![keys, ts(now)],
        )?)
    }

    /// Renames deliveries kept under a sink's old key (`webhook:0`, by position, as written before
    /// sinks had stable keys) to the key of the sink now at that position. Returns how many.
    pub fn adopt_sink_keys(&mut self, renames: &[(String, String)]) -> Result<usize> {
        let tx = self.write_tx()?;
        let mut n = 0;
        for (old, new) in renames {
            n += tx.execute(
                "UPDATE alert_deliveries SET sink = ?2 WHERE sink = ?1",
                params![old, new],
            )?;
        }
        tx.commit()?;
        Ok(n)
    }
    /// Every alert event with its deliveries, newest first.
    pub fn alerts(&self) -> Result<Vec<AlertRow>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {ALERT_COLUMNS} ORDER BY e.id DESC"))?;
        let rows = stmt.query_map([], alert_row)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, mut a) = row?;
            let mut ds = self.conn.prepare_cached(
                "SELECT sink, state, attempts, last_error, delivered_at, next_attempt FROM alert_deliveries WHERE event_id = ?1 ORDER BY sink",
            )?;
            let d = ds.query_map(params![id], |r| {
                let state: String = r.get(1)?;
                Ok(DeliveryRow {
                    sink: r.get(0)?,
                    attempts: r.get::<_, i64>(2)?.max(0) as u32,
                    last_error: r.get(3)?,
                    delivered_at: opt_time_col(r, 4)?,
                    next_attempt: if state == "pending" {
                        opt_time_col(r, 5)?
                    } else {
                        None
                    },
                    state,
                })
            })?;
            a.deliveries = d.collect::<rusqlite::Result<_>>()?;
            out.push(a);
        }
        Ok(out)
    }
}

pub(super) fn insert_event(
    tx: &Transaction<'_>,
    link_id: Option<i64>,
    e: &crate::alert::AlertEvent,
    sinks: &[String],
    now: DateTime<Utc>,
) -> Result<()> {
    let payload = serde_json::to_string(e).unwrap_or_default();
    tx.prepare_cached(
        "INSERT INTO alert_events (uid, link_id, created_at, event, old_state, new_state, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.id,
        link_id,
        ts(now),
        e.event,
        e.old_state.map(State::as_str),
        e.new_state.as_str(),
        payload
    ])?;
    let event_id = tx.last_insert_rowid();
    for s in sinks {
        tx.prepare_cached(
            "INSERT INTO alert_deliveries (event_id, sink, next_attempt) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![event_id, s, ts(now)])?;
    }
    Ok(())
}

/// The columns `alert_row` reads, with the join they come from.
pub(super) const ALERT_COLUMNS: &str =
    "e.id, e.uid, e.created_at, e.event, l.url, e.old_state, e.new_state
     FROM alert_events e LEFT JOIN links l ON l.id = e.link_id";

/// An event's row id and its `AlertRow` (deliveries not yet read) from `ALERT_COLUMNS`.
pub(super) fn alert_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, AlertRow)> {
    Ok((
        r.get(0)?,
        AlertRow {
            id: r.get(1)?,
            created_at: time_col(r, 2)?,
            event: r.get(3)?,
            url: r.get(4)?,
            old_state: r.get(5)?,
            new_state: r.get(6)?,
            deliveries: Vec::new(),
        },
    ))
}
