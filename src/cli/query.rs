//! The queries: `status`, `history`, `show`, `quotes`, `diff`, `snapshot`. Each reads the store,
//! asks the library's one rule for each fact, and prints.

use super::*;

/// `citewatch status`.
pub(super) fn status(
    cfg: &Config,
    state: &[String],
    post: Option<String>,
    format: Format,
) -> Result<Outcome> {
    let store = open_existing(cfg)?;
    let states = state
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse::<State>())
        .collect::<Result<Vec<_>, _>>()?;
    let rows = store.status(&StatusFilter {
        states,
        post,
        cited_only: true,
    })?;
    let out = match format {
        Format::Json => report::status_json(&rows) + "\n",
        Format::Csv => report::status_csv(&rows),
        Format::Table => report::status_table(&rows),
    };
    print(&out)?;
    exit_for(&store)
}

/// `citewatch history URL`.
pub(super) fn history(cfg: &Config, url: &str, format: Format) -> Result<Outcome> {
    let store = open_existing(cfg)?;
    let url = resolve_url(&store, url)?;
    let id = store.link_id(&url)?.context("link vanished")?;
    let rows = store.history(id)?;
    let out = match format {
        Format::Json => report::history_json(&rows) + "\n",
        Format::Table | Format::Csv => report::history_table(&rows),
    };
    print(&out)?;
    Ok(Outcome::Clean)
}

/// `citewatch show URL`.
pub(super) fn show_link(cfg: &Config, url: &str) -> Result<Outcome> {
    let store = open_existing(cfg)?;
    let url = resolve_url(&store, url)?;
    print(&show(&store, &url)?)?;
    Ok(Outcome::Clean)
}

/// `citewatch quotes`.
pub(super) fn quotes_of(
    cfg: &Config,
    state: Option<&str>,
    post: Option<&str>,
    format: Format,
) -> Result<Outcome> {
    let store = open_existing(cfg)?;
    print(&quotes(&store, state, post, format)?)?;
    Ok(Outcome::Clean)
}

/// `citewatch diff URL [--from T] [--to T]`.
pub(super) fn diff(
    cfg: &Config,
    url: &str,
    from: &Option<String>,
    to: &Option<String>,
) -> Result<Outcome> {
    let store = open_existing(cfg)?;
    let url = resolve_url(&store, url)?;
    let id = store.link_id(&url)?.context("link vanished")?;
    let history = store.history(id)?;
    let at = |t: &Option<String>| -> Result<Option<String>> {
        let Some(t) = t else { return Ok(None) };
        Ok(citewatch::rows::snapshot_at(&history, Some(time_arg(t)?)).map(str::to_string))
    };
    let old = match at(from)? {
        Some(h) => h,
        None if from.is_some() => bail!(
            "no snapshot of {url} at or before {}",
            from.as_deref().unwrap_or("")
        ),
        None => store
            .baseline(id)?
            .context("no baseline yet: the link was never archived in a good state")?,
    };
    let new = match at(to)? {
        Some(h) => h,
        None if to.is_some() => bail!(
            "no snapshot of {url} at or before {}",
            to.as_deref().unwrap_or("")
        ),
        None => citewatch::rows::snapshot_at(&history, None)
            .map(str::to_string)
            .context("no snapshot yet")?,
    };
    if old == new {
        println!(
            "{url}: no difference (same snapshot {})",
            &old[..old.len().min(16)]
        );
        return Ok(Outcome::Clean);
    }
    let ops = store.reads().text_diff(&old, &new)?;
    let color = std::io::stdout().is_terminal();
    // Why the link is where it is (a quoted passage gone, a retraction...), above the diff.
    if let Some(row) = store.link_status(&url)? {
        if let Some(e) = row.error.filter(|_| row.state == State::Changed) {
            print(&format!("{}: {}\n", row.state, report::sanitize(&e)))?;
        }
    }
    print(&format!(
        "--- {}\n+++ {}\n{}\n",
        &old[..old.len().min(16)],
        &new[..new.len().min(16)],
        citewatch::diff::render(&ops, color)
    ))?;
    Ok(Outcome::Clean)
}

/// `citewatch snapshot URL [--at T] [--raw]`.
pub(super) fn snapshot(cfg: &Config, url: &str, at: Option<&str>, raw: bool) -> Result<Outcome> {
    let store = open_existing(cfg)?;
    let url = resolve_url(&store, url)?;
    let id = store.link_id(&url)?.context("link vanished")?;
    let at = at.map(time_arg).transpose()?;
    let history = store.history(id)?;
    let hash = citewatch::rows::snapshot_at(&history, at)
        .map(str::to_string)
        .with_context(|| {
            format!(
                "no snapshot of {url}{}",
                if at.is_some() {
                    " at or before that time"
                } else {
                    ""
                }
            )
        })?;
    if raw {
        let body = store
            .snapshot_body(&hash)?
            .context("snapshot body missing")?;
        std::io::stdout().write_all(&body)?;
    } else {
        let meta = store.snapshot_meta(&hash)?.context("snapshot missing")?;
        let mut out = String::new();
        if let Some(t) = &meta.title {
            out.push_str(&format!("# {}\n\n", report::sanitize(t)));
        }
        let text = store.reads().snapshot_text(&hash)?.unwrap_or_default();
        out.push_str(&report::sanitize_block(&text));
        out.push('\n');
        print(&out)?;
    }
    Ok(Outcome::Clean)
}

fn show(store: &Store, url: &str) -> Result<String> {
    use std::fmt::Write as _;
    let row = store.link_status(url)?.context("link vanished")?;
    let mut out = String::new();
    writeln!(out, "{}", report::sanitize(&row.url))?;
    writeln!(
        out,
        "  state:      {} since {} ({} checks)",
        row.shown_state(),
        stamp(row.since),
        row.streak
    )?;
    if let Some(c) = row.checked_at {
        writeln!(out, "  checked:    {}", stamp(c))?;
    }
    if let Some(s) = row.http_status {
        writeln!(out, "  http:       {s}")?;
    }
    if let Some(f) = &row.final_url {
        writeln!(out, "  final url:  {}", report::sanitize(f))?;
    }
    if let Some(e) = &row.error {
        writeln!(out, "  error:      {}", report::sanitize(e))?;
    }
    if let Some(a) = &row.archived_url {
        writeln!(out, "  archived:   {}", report::sanitize(a))?;
    }
    let history = store.history(row.id)?;
    // The quotes stand or not on the latest archived page, by the rule `quotes` and the verdict use.
    let latest = history.iter().rev().find_map(|c| c.snapshot.clone());
    let mut judge = citewatch::store::QuoteJudge::new(store, usize::MAX);
    writeln!(out, "  cited by:")?;
    for c in &row.citations {
        writeln!(
            out,
            "    {}:{}  {}",
            report::sanitize(&c.post),
            c.line,
            report::sanitize(&c.text)
        )?;
        if let (Some(f), Some(st)) = (&c.fragment, &c.fragment_standing) {
            writeln!(
                out,
                "      #{}: {st}{}",
                report::sanitize(&truncate_chars(f, 80)),
                c.fragment_reason
                    .as_deref()
                    .map(|r| format!(" ({})", report::sanitize(r)))
                    .unwrap_or_default()
            )?;
        }
        if let Some(q) = &c.quote {
            writeln!(
                out,
                "      quotes: “{}”",
                report::sanitize(&truncate_chars(q, 160))
            )?;
            let standing = judge.standing(q, latest.as_deref())?;
            match standing.reason() {
                Some(r) => writeln!(out, "      {}: {}", standing.name(), report::sanitize(r))?,
                None => writeln!(out, "      {}", standing.name())?,
            }
        }
    }
    if let Some(chain) = history.iter().rev().find_map(|c| c.redirects.as_ref()) {
        writeln!(out, "  redirects (last check that had any):")?;
        for h in chain.hops() {
            writeln!(
                out,
                "    {} {} → {}",
                h.status,
                report::sanitize(h.url.as_str()),
                report::sanitize(&h.location)
            )?;
        }
    }
    let baseline = store.baseline(row.id)?;
    let mut seen = std::collections::HashSet::new();
    writeln!(out, "  snapshots:")?;
    for c in &history {
        if let Some(h) = &c.snapshot {
            if seen.insert(h.clone()) {
                let meta = store.snapshot_meta(h)?;
                let (size, title) = meta
                    .map(|m| (m.size, m.title.unwrap_or_default()))
                    .unwrap_or((0, String::new()));
                writeln!(
                    out,
                    "    {}  {}  {} bytes{}  {}",
                    stamp(c.checked_at),
                    &h[..h.len().min(16)],
                    size,
                    if baseline.as_deref() == Some(h.as_str()) {
                        " (baseline)"
                    } else {
                        ""
                    },
                    report::sanitize(&title)
                )?;
            }
        }
    }
    if seen.is_empty() {
        writeln!(out, "    none")?;
    }
    Ok(out)
}

/// `citewatch quotes`: each quote with its standing on the link's latest archived page, by the
/// one rule the verdict and the dashboard use (`QuoteJudge`).
fn quotes(store: &Store, only: Option<&str>, post: Option<&str>, format: Format) -> Result<String> {
    use std::fmt::Write as _;
    let mut judge = citewatch::store::QuoteJudge::new(store, usize::MAX);
    let mut rows = Vec::new();
    for q in store.quotes(post)? {
        let standing = judge.standing(&q.quote, q.snapshot.as_deref())?;
        if only.is_some_and(|o| o != standing.name()) {
            continue;
        }
        rows.push((q, standing));
    }
    let mut out = String::new();
    match format {
        Format::Json => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|(q, s)| {
                    serde_json::json!({
                        "post": q.post, "line": q.line, "url": q.url, "state": q.state,
                        "quote": q.quote, "standing": s.name(), "reason": s.reason(),
                        "checked_at": q.fetched_at.map(stamp),
                    })
                })
                .collect();
            out = serde_json::to_string_pretty(&v)? + "\n";
        }
        Format::Table | Format::Csv => {
            for (q, s) in &rows {
                writeln!(
                    out,
                    "{:<8} {}:{}  {}",
                    s.name(),
                    report::sanitize(&q.post),
                    q.line,
                    report::sanitize(&q.url)
                )?;
                writeln!(
                    out,
                    "         “{}”",
                    report::sanitize(&truncate_chars(&q.quote, 160))
                )?;
                if let Some(r) = s.reason() {
                    writeln!(out, "         {}", report::sanitize(r))?;
                }
            }
            if rows.is_empty() {
                out.push_str("no quotes\n");
            }
        }
    }
    Ok(out)
}
