//! Confirmed redirects: whether a link's check history shows a permanent redirect, the same on
//! every check of a confirmation, and the address it leads to. Pure: the checks are values.
//!
//! The store keeps no confirmed `redirected` state (confirmation is about rot); it is decided
//! here from the last `confirm_checks` checks, which must all be `redirected`, spread over at
//! least `confirm_period`, and lead to the same permanent address. The permanent address is
//! where the leading run of permanent redirects (301, 308) ends: the final URL when every hop is
//! permanent; when a temporary hop (302, 303, 307) follows, the site decides where readers land
//! from there on, and the URL that hop starts from is the one to cite. A chain whose first hop
//! is temporary moved nothing. A target that is a front page, a login, search or not-found page,
//! a section index or a consent wall is not the cited page, whatever the codes say; nor is a
//! downgrade from https to http.

use url::Url;

use crate::classify::{self, UrlHint};
use crate::confirm;
use crate::state::State;

/// One recorded check, as the store gives it back.
pub use crate::rows::RecordedCheck as Check;

fn permanent(status: u16) -> bool {
    matches!(status, 301 | 308)
}

/// Where one check's chain leads permanently, or why it does not.
fn target_of(check: &Check) -> Result<String, String> {
    let hops = check
        .redirects
        .as_ref()
        .map(|r| r.hops())
        .ok_or_else(|| "no redirect chain was recorded".to_string())?;
    let lead = hops.iter().take_while(|h| permanent(h.status)).count();
    match hops.get(lead) {
        None if lead > 0 => check
            .final_url
            .clone()
            .ok_or_else(|| "the chain's final URL was not recorded".to_string()),
        None => Err("no redirect chain was recorded".to_string()),
        Some(h) if lead == 0 => Err(format!(
            "the first redirect is temporary (HTTP {}): the page has not moved",
            h.status
        )),
        Some(h) => Ok(h.url.to_string()),
    }
}

/// The address a link has moved to for good, or why it is not replaced.
pub fn confirmed_target(
    asked: &Url,
    checks: &[Check],
    settings: &confirm::Settings,
) -> Result<Url, String> {
    let n = settings.confirm_checks.max(1) as usize;
    if checks.len() < n {
        return Err(format!(
            "not confirmed yet: {} of the {n} checks a confirmation needs",
            checks.len()
        ));
    }
    let last = &checks[checks.len() - n..];
    if let Some(c) = last.iter().find(|c| c.state != State::Redirected) {
        return Err(format!(
            "not redirected on every one of the last {n} checks (one found it {})",
            c.state
        ));
    }
    let mut target: Option<String> = None;
    for c in last {
        let t = target_of(c)?;
        match &target {
            Some(prev) if prev != &t => {
                return Err(format!(
                    "the last {n} checks were redirected to different addresses ({prev}, {t})"
                ))
            }
            _ => target = Some(t),
        }
    }
    let (first, end) = (last[0].checked_at, last[n - 1].checked_at);
    let period =
        chrono::Duration::from_std(settings.confirm_period).unwrap_or(chrono::Duration::MAX);
    if end - first < period {
        return Err(format!(
            "not confirmed yet: seen over {}, less than confirm_period ({})",
            humanize(end - first),
            humanize(period)
        ));
    }
    let target = target.unwrap_or_default();
    let url =
        Url::parse(&target).map_err(|e| format!("the new address {target:?} is invalid: {e}"))?;
    judge(asked, &url)?;
    // The final page too: a permanent move to a page that then sends readers to a login is not
    // the cited page either.
    if let Some(f) = last[n - 1]
        .final_url
        .as_deref()
        .and_then(|f| Url::parse(f).ok())
    {
        if f != url {
            judge(asked, &f)?;
        }
    }
    Ok(url)
}

/// Whether `to` can stand for `asked` in a citation.
fn judge(asked: &Url, to: &Url) -> Result<(), String> {
    if !matches!(to.scheme(), "http" | "https") {
        return Err(format!("the new address {to} is not a web page"));
    }
    if asked.scheme() == "https" && to.scheme() == "http" {
        return Err(format!("a downgrade from https to http ({to})"));
    }
    let mut same = to.clone();
    same.set_fragment(None);
    if &same == asked {
        return Err("the redirect leads back to the same address".to_string());
    }
    let what = match classify::url_hint(asked, to) {
        None => return Ok(()),
        Some(UrlHint::FrontPage) if !classify::is_deep(asked) => return Ok(()),
        Some(UrlHint::FrontPage) => "the site's front page",
        Some(UrlHint::Login) => "a login or sign-up page",
        Some(UrlHint::Search) => "a search page",
        Some(UrlHint::NotFoundPath) => "the site's not-found page",
        Some(UrlHint::ConsentWall) => "a consent wall",
        Some(UrlHint::Index { .. }) => "a section, tag or archive index",
    };
    Err(format!(
        "it redirects to {what} ({to}), not to the cited page"
    ))
}

/// A duration as a person reads it ("2d 3h", "45m", "0s").
fn humanize(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, hours, mins) = (s / 86400, s % 86400 / 3600, s % 3600 / 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use chrono::{DateTime, Utc};

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::days(day)
    }

    fn chain(hops: &[(&str, u16)], final_url: &str, day: i64) -> Check {
        let hops: Vec<crate::fetch::Hop> = hops
            .iter()
            .map(|(u, s)| crate::fetch::Hop {
                url: Url::parse(u).unwrap(),
                status: *s,
                location: String::new(),
            })
            .collect();
        Check {
            checked_at: at(day),
            state: State::Redirected,
            final_url: Some(final_url.to_string()),
            redirects: crate::fetch::Redirects::of(&hops),
        }
    }

    fn settings(n: u32, hours: u64) -> confirm::Settings {
        confirm::Settings {
            confirm_checks: n,
            confirm_period: Duration::from_secs(hours * 3600),
        }
    }

    const OLD: &str = "https://old.example.org/2019/post";
    const NEW: &str = "https://new.example.org/2019/post";

    fn decide(checks: &[Check], s: &confirm::Settings) -> Result<String, String> {
        confirmed_target(&Url::parse(OLD).unwrap(), checks, s).map(|u| u.to_string())
    }

    #[test]
    fn a_permanent_move_seen_on_every_check_is_confirmed() {
        let c = |d| chain(&[(OLD, 301)], NEW, d);
        assert_eq!(
            decide(&[c(0), c(1), c(2)], &settings(3, 48)),
            Ok(NEW.into())
        );
        // Older checks before the confirmation's window do not matter.
        let mut older = chain(&[(OLD, 302)], NEW, -5);
        older.state = State::Broken;
        assert_eq!(
            decide(&[older, c(0), c(1), c(2)], &settings(3, 48)),
            Ok(NEW.into())
        );
        // 308 counts; http → https, then the move: every hop permanent.
        let http = "http://old.example.org/2019/post";
        let c2 = |d| chain(&[(http, 308), (OLD, 301)], NEW, d);
        assert_eq!(decide(&[c2(0), c2(3)], &settings(2, 48)), Ok(NEW.into()));
    }

    #[test]
    fn not_confirmed_until_enough_checks_over_the_period() {
        let c = |d| chain(&[(OLD, 301)], NEW, d);
        let e = decide(&[c(0), c(1)], &settings(3, 48)).unwrap_err();
        assert!(e.contains("2 of the 3"), "{e}");
        let e = decide(&[c(0), c(0), c(1)], &settings(3, 72)).unwrap_err();
        assert!(e.contains("less than confirm_period"), "{e}");
        let mut ok = c(1);
        ok.state = State::Ok;
        let e = decide(&[c(0), ok, c(2)], &settings(3, 0)).unwrap_err();
        assert!(e.contains("found it ok"), "{e}");
    }

    #[test]
    fn temporary_hops_and_changing_targets() {
        // A temporary first hop moved nothing.
        let t = |d| chain(&[(OLD, 302)], NEW, d);
        let e = decide(&[t(0), t(1), t(2)], &settings(3, 0)).unwrap_err();
        assert!(e.contains("temporary"), "{e}");
        // Permanent, then temporary: the permanent address is where the temporary hop starts.
        let mid = "https://new.example.org/2019/post/";
        let p = |d| {
            chain(
                &[(OLD, 301), (mid, 302)],
                "https://new.example.org/2019/post/?s=1",
                d,
            )
        };
        assert_eq!(decide(&[p(0), p(1), p(2)], &settings(3, 0)), Ok(mid.into()));
        // Different targets on different checks.
        let other = chain(&[(OLD, 301)], "https://new.example.org/2019/other", 2);
        let c = |d| chain(&[(OLD, 301)], NEW, d);
        let e = decide(&[c(0), c(1), other], &settings(3, 0)).unwrap_err();
        assert!(e.contains("different addresses"), "{e}");
    }

    #[test]
    fn targets_that_are_not_the_cited_page_are_refused() {
        for (to, why) in [
            ("https://old.example.org/", "front page"),
            ("https://old.example.org/login?next=/2019/post", "login"),
            ("https://old.example.org/search?q=post", "search"),
            ("http://new.example.org/2019/post", "downgrade"),
            ("https://old.example.org/404", "not-found"),
        ] {
            let c = |d| chain(&[(OLD, 301)], to, d);
            let e = decide(&[c(0), c(1), c(2)], &settings(3, 0)).unwrap_err();
            assert!(e.contains(why), "{to}: {e}");
        }
        // The final page counts too: a permanent move that ends at a login page.
        let c = |d| {
            chain(
                &[(OLD, 301), (NEW, 302)],
                "https://new.example.org/login",
                d,
            )
        };
        let e = decide(&[c(0), c(1), c(2)], &settings(3, 0)).unwrap_err();
        assert!(e.contains("login"), "{e}");
        // A front page moving to another front page is fine.
        let home = "https://old.example.org/";
        let c = |d| chain(&[(home, 301)], "https://new.example.org/", d);
        assert_eq!(
            confirmed_target(&Url::parse(home).unwrap(), &[c(0)], &settings(1, 0))
                .map(|u| u.to_string()),
            Ok("https://new.example.org/".into())
        );
    }

    #[test]
    fn damaged_history_is_a_refusal_not_a_panic() {
        let mut c = chain(&[(OLD, 301)], NEW, 0);
        c.redirects = crate::fetch::Redirects::from_json("not json");
        assert!(decide(&[c.clone()], &settings(1, 0)).is_err());
        c.redirects = crate::fetch::Redirects::from_json(r#"[{"url": "::bad::", "status": 301}]"#);
        assert!(decide(&[c.clone()], &settings(1, 0)).is_err());
        c.redirects = None;
        assert!(decide(&[c.clone()], &settings(1, 0)).is_err());
        let mut c = chain(&[(OLD, 301)], "::bad::", 0);
        c.final_url = Some("::bad::".into());
        assert!(decide(&[c], &settings(1, 0)).is_err());
        assert!(decide(&[], &settings(0, 0)).is_err());
    }
}
