//! What citewatch learns about sites and keeps for the verdicts: each origin's memory of its
//! pages (from which its boilerplate is learned, see [`crate::drift::SiteMemory`]), and archived
//! pages' readable text as the current extraction reads it.

use super::*;

use crate::drift::SiteMemory;

impl Reads<'_> {
    /// What is remembered of a site's pages (empty when nothing yet, or when the stored memory
    /// cannot be read: it is relearned).
    pub fn site_memory(&self, origin: &str) -> Result<SiteMemory> {
        let json: Option<String> = self
            .conn
            .prepare_cached("SELECT memory FROM sites WHERE origin = ?1")?
            .query_row(params![origin], |r| r.get(0))
            .optional()?;
        Ok(json
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default())
    }

    /// A snapshot's title and readable text as this version of [`crate::readable`] extracts
    /// them, and whether they were extracted now (the stored text is of an older version, or
    /// missing: keep the new one with [`Store::keep_readable_text`]). An upgrade that improves
    /// extraction must not make every baseline look changed against pages read the new way.
    pub fn readable_text(&self, hash: &str) -> Result<Option<(Option<String>, String, bool)>> {
        type Row = (Option<String>, Option<String>, Option<i64>, Option<String>);
        let row: Option<Row> = self
            .conn
            .prepare_cached(
                "SELECT title, text, text_version, content_type FROM snapshots WHERE hash = ?1",
            )?
            .query_row(params![hash], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let Some((title, text, version, content_type)) = row else {
            return Ok(None);
        };
        if let (Some(text), Some(crate::readable::VERSION)) = (&text, version) {
            return Ok(Some((title, text.clone(), false)));
        }
        let blob: Vec<u8> = self
            .conn
            .prepare_cached("SELECT body FROM snapshots WHERE hash = ?1")?
            .query_row(params![hash], |r| r.get(0))?;
        let Ok(body) = zstd::decode_all(&blob[..]) else {
            // A damaged archive: the stored text is all there is.
            return Ok(text.map(|t| (title, t, false)));
        };
        let page = crate::readable::readable(&body, content_type.as_deref());
        Ok(Some((page.title.or(title), page.text, true)))
    }
}

impl Store {
    /// See [`Reads::site_memory`].
    pub fn site_memory(&self, origin: &str) -> Result<SiteMemory> {
        self.reads().site_memory(origin)
    }

    /// Keeps a site's memory (what [`crate::verdict::Judgement::site`] returns).
    pub fn save_site_memory(
        &mut self,
        origin: &str,
        memory: &SiteMemory,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let json = serde_json::to_string(memory).unwrap_or_else(|_| "{\"pages\":[]}".into());
        self.conn
            .prepare_cached(
                "INSERT INTO sites (origin, updated_at, memory) VALUES (?1, ?2, ?3)
                 ON CONFLICT (origin) DO UPDATE SET updated_at = excluded.updated_at,
                   memory = excluded.memory",
            )?
            .execute(params![origin, ts(now), json])?;
        Ok(())
    }

    /// See [`Reads::readable_text`]; text extracted now is kept.
    pub fn readable_text(&mut self, hash: &str) -> Result<Option<(Option<String>, String)>> {
        let found = self.reads().readable_text(hash)?;
        if let Some((_, text, true)) = &found {
            self.keep_readable_text(hash, text)?;
        }
        Ok(found.map(|(title, text, _)| (title, text)))
    }

    /// Keeps a snapshot's text as this version of [`crate::readable`] extracted it.
    pub fn keep_readable_text(&mut self, hash: &str, text: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE snapshots SET text = ?2, text_version = ?3 WHERE hash = ?1")?
            .execute(params![hash, text, crate::readable::VERSION])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("t.db")).unwrap();
        (dir, s)
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn site_memory_round_trips_and_starts_empty() {
        let (_d, mut s) = store();
        assert_eq!(
            s.site_memory("https://a.org").unwrap(),
            SiteMemory::default()
        );
        let mut m = SiteMemory::default();
        assert!(m.remember(7, "Home\nAbout us\nAn article line"));
        s.save_site_memory("https://a.org", &m, now()).unwrap();
        assert_eq!(s.site_memory("https://a.org").unwrap(), m);
        assert!(m.remember(8, "Home\nAbout us\nAnother article"));
        s.save_site_memory("https://a.org", &m, now()).unwrap();
        assert_eq!(s.site_memory("https://a.org").unwrap().pages.len(), 2);
        assert_eq!(
            s.site_memory("https://b.org").unwrap(),
            SiteMemory::default()
        );
    }

    /// Text stored by an older extraction (no version) is read again from the archived body.
    #[test]
    fn old_text_is_extracted_again_from_the_body() {
        let (_d, mut s) = store();
        let body = b"<html><title>T</title><body><nav><a href=/>Home</a> <a href=/x>Menu</a></nav><article><p>The article text, long enough to be prose here.</p></article></body></html>";
        s.conn
            .execute(
                "INSERT INTO snapshots (hash, size, body, content_type, headers, title, text, truncated, created_at)
                 VALUES ('h1', 1, ?1, 'text/html', '[]', 'T', 'Home Menu The article text', 0, '2026-01-01T00:00:00Z')",
                params![crate::snapshot::compress(body)],
            )
            .unwrap();
        let (title, text) = s.readable_text("h1").unwrap().unwrap();
        assert_eq!(title.as_deref(), Some("T"));
        assert_eq!(text, "The article text, long enough to be prose here.");
        // Kept, with the version: the next read takes it as stored.
        let (t, v): (String, i64) = s
            .conn
            .query_row(
                "SELECT text, text_version FROM snapshots WHERE hash = 'h1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((t.as_str(), v), (text.as_str(), crate::readable::VERSION));
        assert_eq!(
            s.reads().readable_text("h1").unwrap(),
            Some((Some("T".into()), text, false)),
            "read as stored now"
        );
        assert!(s.readable_text("missing").unwrap().is_none());
    }
}
