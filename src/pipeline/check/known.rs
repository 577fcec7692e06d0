//! What judging a check needs to know of the whole run: probes, quoted and fragment-cited
//! links, and each site's memory (read once, kept up to date, written once at the end).

use super::*;

/// What judging a check needs to know of the whole run.
pub(super) struct Known {
    pub(super) probes: Probes,
    pub(super) quoted: HashSet<i64>,
    /// Links cited with a `#fragment`, with their fragments: their page's anchors or text are
    /// read after the fetch.
    pub(super) fragmented: HashMap<i64, Vec<String>>,
    pub(super) cycle: i64,
    /// What is remembered of each site met in this run, read once, kept up to date, and whether
    /// this run changed it (written once at the end of the run).
    pub(super) sites: std::sync::Mutex<HashMap<String, (Arc<crate::drift::SiteMemory>, bool)>>,
}

impl Known {
    pub(super) fn new(
        probes: Probes,
        quoted: HashSet<i64>,
        fragmented: HashMap<i64, Vec<String>>,
        cycle: i64,
    ) -> Known {
        Known {
            probes,
            quoted,
            fragmented,
            cycle,
            sites: Default::default(),
        }
    }

    /// A site's memory: from this run's cache, else from the store.
    pub(super) fn site(
        &self,
        reads: &Reads<'_>,
        origin: &str,
    ) -> Result<Arc<crate::drift::SiteMemory>, StoreError> {
        if let Some((m, _)) = self
            .sites
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(origin)
        {
            return Ok(m.clone());
        }
        let m = Arc::new(reads.site_memory(origin)?);
        let mut sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        Ok(sites
            .entry(origin.to_string())
            .or_insert((m, false))
            .0
            .clone())
    }

    pub(super) fn remember(&self, origin: &str, m: crate::drift::SiteMemory) {
        let mut sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        sites.insert(origin.to_string(), (Arc::new(m), true));
    }

    /// The site memories this run changed.
    pub(super) fn learned(&self) -> Vec<(String, crate::drift::SiteMemory)> {
        let sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        sites
            .iter()
            .filter(|(_, (_, changed))| *changed)
            .map(|(o, (m, _))| (o.clone(), (**m).clone()))
            .collect()
    }
}
