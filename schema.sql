-- citewatch database schema.
--
-- Numbered, append-only migration blocks. A block starts with a line `-- migration N` and is applied
-- once, in one transaction, when `PRAGMA user_version` is below N; user_version is then set to N.
-- A shipped block is never edited: change the schema by appending a new block.
-- Times are RFC 3339 UTC text (`2026-11-22T10:00:00Z`), so they sort as text and read in the CLI.

-- migration 1
-- One row per post file of a source.
CREATE TABLE posts (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,              -- the source folder as configured
    path        TEXT NOT NULL,              -- relative to the source, '/' separated
    title       TEXT,
    date        TEXT,
    draft       INTEGER NOT NULL DEFAULT 0,
    url         TEXT,                       -- the post's published URL when known
    size        INTEGER NOT NULL DEFAULT 0, -- for skipping unchanged files
    mtime_ns    INTEGER NOT NULL DEFAULT 0,
    hash        TEXT,                       -- blake3 of the file's bytes
    scanned_at  TEXT NOT NULL,
    present     INTEGER NOT NULL DEFAULT 1, -- 0 once the file is gone; its history stays
    UNIQUE (source, path)
);

-- One row per distinct cited target (a normalized URL without fragment, or a skipped/invalid key).
CREATE TABLE links (
    id           INTEGER PRIMARY KEY,
    url          TEXT NOT NULL UNIQUE,
    state        TEXT NOT NULL DEFAULT 'unchecked',
    since        TEXT NOT NULL,             -- when it entered `state`
    streak       INTEGER NOT NULL DEFAULT 0,-- consecutive checks that found it in `state`
    checked_at   TEXT,                      -- last check
    http_status  INTEGER,
    final_url    TEXT,
    error        TEXT,
    -- Decided without the network at scan time (skipped scheme, invalid URL, missing post ref):
    -- such links are never fetched and their state comes from here.
    static_state  TEXT,
    static_reason TEXT,
    baseline     TEXT REFERENCES snapshots(hash), -- the "as cited" snapshot
    first_seen   TEXT NOT NULL
);
CREATE INDEX links_state ON links(state);

-- One row per place a post cites a link.
CREATE TABLE citations (
    id        INTEGER PRIMARY KEY,
    post_id   INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    link_id   INTEGER NOT NULL REFERENCES links(id),
    line      INTEGER NOT NULL,
    text      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    raw       TEXT NOT NULL,                -- the target exactly as written
    fragment  TEXT
);
CREATE INDEX citations_post ON citations(post_id);
CREATE INDEX citations_link ON citations(link_id);

-- Archived bodies, content-addressed by blake3 of the raw (decoded) body; stored once.
CREATE TABLE snapshots (
    hash          TEXT PRIMARY KEY,
    size          INTEGER NOT NULL,         -- uncompressed body length
    body          BLOB NOT NULL,            -- zstd
    content_type  TEXT,
    headers       TEXT NOT NULL,            -- JSON [[name, value], ...] of the first response seen
    title         TEXT,
    text          TEXT,                     -- extracted readable text
    truncated     INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

-- Every check is history.
CREATE TABLE checks (
    id           INTEGER PRIMARY KEY,
    link_id      INTEGER NOT NULL REFERENCES links(id),
    checked_at   TEXT NOT NULL,
    state        TEXT NOT NULL,
    http_status  INTEGER,
    final_url    TEXT,
    redirects    TEXT,                      -- JSON [{url, status, location}, ...] or NULL
    error        TEXT,
    elapsed_ms   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 1,
    snapshot     TEXT REFERENCES snapshots(hash),
    similarity   REAL                       -- to the baseline, when measured
);
CREATE INDEX checks_link_time ON checks(link_id, checked_at);

-- migration 2
-- Confirmation of each link's verdicts (see src/confirm.rs): what was last confirmed and the
-- current streak of bad checks.
CREATE TABLE confirmations (
    link_id       INTEGER PRIMARY KEY REFERENCES links(id),
    confirmed     TEXT,                     -- last confirmed bad state, NULL while healthy
    streak_state  TEXT,
    streak_count  INTEGER NOT NULL DEFAULT 0,
    streak_since  TEXT
);

-- The alert outbox: an event is written in the same transaction as the confirmation that caused
-- it, with one delivery row per sink; deliveries are retried until they succeed.
CREATE TABLE alert_events (
    id          INTEGER PRIMARY KEY,
    uid         TEXT NOT NULL UNIQUE,       -- the id receivers deduplicate on
    link_id     INTEGER REFERENCES links(id),
    created_at  TEXT NOT NULL,
    event       TEXT NOT NULL,              -- confirmed | recovered
    old_state   TEXT,
    new_state   TEXT NOT NULL,
    payload     TEXT NOT NULL               -- the event JSON as sent
);

CREATE TABLE alert_deliveries (
    event_id      INTEGER NOT NULL REFERENCES alert_events(id),
    sink          TEXT NOT NULL,            -- "log", "webhook:0", "email:0", "command:0"
    state         TEXT NOT NULL DEFAULT 'pending', -- pending | delivered
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  TEXT NOT NULL,
    last_error    TEXT,
    delivered_at  TEXT,
    PRIMARY KEY (event_id, sink)
);
CREATE INDEX alert_deliveries_pending ON alert_deliveries(state, next_attempt);

-- migration 3
-- Soft-404 probes: what each origin answers for a path that cannot exist, cached for a day.
CREATE TABLE probes (
    origin      TEXT PRIMARY KEY,           -- scheme://host:port
    fetched_at  TEXT NOT NULL,
    status      INTEGER,                    -- NULL when no HTTP answer
    final_url   TEXT,
    text        TEXT
);

-- Lines of a page that differed between its baseline and its first re-check while the page was
-- otherwise the same (rotating widgets, "most read" boxes): left out of later comparisons.
ALTER TABLE links ADD COLUMN volatile TEXT;    -- JSON array of line keys, NULL until learned

-- Save Page Now requests for newly cited links (when enabled), so each is asked for once.
CREATE TABLE save_requests (
    link_id       INTEGER PRIMARY KEY REFERENCES links(id),
    requested_at  TEXT NOT NULL,
    outcome       TEXT NOT NULL             -- "HTTP 200", or the error
);

-- Wayback Machine look-ups: the closest archived copy of a link, cached.
CREATE TABLE wayback (
    link_id       INTEGER PRIMARY KEY REFERENCES links(id),
    looked_up_at  TEXT NOT NULL,
    archived_url  TEXT,                     -- NULL when the archive has none
    timestamp     TEXT
);

-- migration 4
-- The set of post files each source had at its last scan (blake3 of the sorted paths): when it
-- changes, posts that reference other posts are read again so their references resolve anew.
-- Kept apart from `posts` because files that could not be read have no row there.
CREATE TABLE source_files (
    source       TEXT PRIMARY KEY,
    fingerprint  TEXT NOT NULL,
    scanned_at   TEXT NOT NULL
);

-- migration 5
-- Check cycles: one daemon cycle, one `run`, one `check`. A check that got no HTTP answer is a
-- strike only once its cycle is known not to be citewatch's own outage, so its confirmation step
-- waits in `confirmations.pending_*` (written with the check) until the cycle ends; a cycle cut
-- short (kill -9) is decided from its recorded checks by the next process that finds it stale.
CREATE TABLE cycles (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,            -- daemon | run | check
    pid           INTEGER NOT NULL,         -- the process that ran it, to tell a crash from a run
    started_at    TEXT NOT NULL,
    heartbeat_at  TEXT NOT NULL,            -- the last commit of one of its checks
    finished_at   TEXT,                     -- NULL while it runs, or when it was cut short
    outage        TEXT                      -- why it counted no strikes (canary, no_answers), else NULL
);
ALTER TABLE checks ADD COLUMN cycle_id INTEGER REFERENCES cycles(id);
-- Why no HTTP answer came: 'local' (no route, no DNS at all), 'remote' (refused, reset, no such
-- host, timeout); NULL when one came.
ALTER TABLE checks ADD COLUMN network TEXT;
ALTER TABLE confirmations ADD COLUMN pending_state TEXT;
ALTER TABLE confirmations ADD COLUMN pending_at TEXT;
ALTER TABLE confirmations ADD COLUMN pending_cycle INTEGER REFERENCES cycles(id);
CREATE INDEX confirmations_pending ON confirmations(pending_cycle) WHERE pending_cycle IS NOT NULL;
-- alert_deliveries.state gains 'dropped': the sink left the configuration; never sent elsewhere.
-- Sinks are keyed by name (or by their target), no longer by position; older keys such as
-- 'webhook:0' are adopted by the sink at that position once, at the first start that sees them.

-- Citations (issue 12): the byte span of the target as written in the post file, for rewriting a
-- citation in place, and the passage the post quotes from the cited page. NULL in rows written
-- before; the scan fills them when it reads a post again.
ALTER TABLE citations ADD COLUMN span_start INTEGER;
ALTER TABLE citations ADD COLUMN span_end INTEGER;
ALTER TABLE citations ADD COLUMN quote TEXT;
-- What citewatch has seen of each site (origin): the line keys of a few of its pages, from which
-- its boilerplate (lines on two or more of its pages) is learned; see drift::SiteMemory.
CREATE TABLE sites (
    origin      TEXT PRIMARY KEY,           -- scheme://host:port
    updated_at  TEXT NOT NULL,
    memory      TEXT NOT NULL               -- JSON {"pages": [{"page": <u64>, "lines": [<u32>, ...]}]}
);
-- The version of the readable-text extraction (readable::VERSION) that wrote snapshots.text; text
-- of an older or unknown version is extracted again from the archived body when compared.
ALTER TABLE snapshots ADD COLUMN text_version INTEGER;
-- Checks by cycle: the end of a cycle reads its checks, and `/metrics` counts the last cycle's;
-- without it both scan every check.
CREATE INDEX checks_cycle ON checks(cycle_id) WHERE cycle_id IS NOT NULL;

-- migration 6
-- Fragments (issue 22): what the latest check found of each `#fragment` a link's citations carry
-- (an anchor, a text fragment), and whether any check ever found it: an anchor seen and then gone
-- makes the link `changed`; one never seen is a broken citation.
CREATE TABLE fragments (
    link_id       INTEGER NOT NULL REFERENCES links(id) ON DELETE CASCADE,
    fragment      TEXT NOT NULL,            -- as written after '#'
    standing      TEXT NOT NULL,            -- present | missing | unknown
    reason        TEXT,                     -- why missing or unknown, for people
    seen_present  INTEGER NOT NULL DEFAULT 0,
    checked_at    TEXT NOT NULL,
    PRIMARY KEY (link_id, fragment)
);
-- migration 7
-- The citations that quote a passage or carry a #fragment, found without reading every citation:
-- a check run asks for them before its first request (a full scan of the citations cost a
-- 5,000-link run 8 ms before any check could start).
CREATE INDEX citations_quoted ON citations(link_id) WHERE quote IS NOT NULL;
CREATE INDEX citations_fragment ON citations(link_id, fragment, post_id)
    WHERE fragment IS NOT NULL AND fragment <> '';
-- The links a run checks, listed without reading every link's row.
CREATE INDEX links_checkable ON links(id) WHERE static_state IS NULL;
-- A cycle's checks with whether each got an HTTP answer: the end of a cycle counts them and reads
-- only those without one. It replaces checks_cycle (migration 5), whose queries it serves.
CREATE INDEX checks_cycle_network ON checks(cycle_id, network) WHERE cycle_id IS NOT NULL;
DROP INDEX checks_cycle;
