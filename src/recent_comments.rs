//! The recent comments of each site, kept in memory in front of the store
//! for `duplicate_content` and `flood`.
//!
//! Every check compares the comment with up to [`MAX_RECENT_COMMENTS`]
//! recent ones; reading and decoding them from sled on every check cost
//! milliseconds, most of a request. The store stays the record (so the
//! state survives restarts); this cache holds, per site, the newest
//! comments within the rules' lookback, loaded from the store on a site's
//! first check and kept up to date as comments are recorded.
//!
//! Memory bound: at most [`MAX_CACHED_SITES`] sites of at most
//! [`MAX_RECENT_COMMENTS`] + [`UNSTORED_MARGIN`] entries each (an entry is
//! about 150 bytes: ids, an address and a 64-byte fingerprint), about
//! 85 MB in the worst case.
//! When more sites are active, one is dropped and read again from the store
//! when it is next checked.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::domain::UnixMillis;
use crate::rules::{RecentComment, RecentList, MAX_RECENT_COMMENTS};
use crate::store::{Store, StoreError};

/// Sites whose recent comments are kept in memory at once.
pub const MAX_CACHED_SITES: usize = 256;

/// Entries a site keeps beyond the [`MAX_RECENT_COMMENTS`] the rules read.
/// A comment enters the list before the writer stores it, and some never
/// are stored (the call was cancelled while it waited for the writer, the
/// write failed, or a concurrent retry stored the comment first). The
/// store prunes what is older than the list's oldest entry (see
/// [`RecentComments::record`]); with this margin it still holds the newest
/// [`MAX_RECENT_COMMENTS`] stored comments while fewer than this many
/// entries of the list were never stored.
pub const UNSTORED_MARGIN: usize = 200;

/// Entries a site's list holds at most, and loads from the store.
const MAX_KEPT: usize = MAX_RECENT_COMMENTS + UNSTORED_MARGIN;

/// One site's recent comments, newest first.
#[derive(Debug, Default)]
struct SiteComments {
    comments: VecDeque<RecentComment>,
}

impl SiteComments {
    /// Where `comment` belongs in the list (newest first), and the index of
    /// the entry recorded for it (same time and comment id), if there is one.
    fn place_of(&self, comment: &RecentComment) -> (usize, Option<usize>) {
        let position = self
            .comments
            .partition_point(|existing| existing.at.0 > comment.at.0);
        let found = self
            .comments
            .range(position..)
            .take_while(|existing| existing.at == comment.at)
            .position(|existing| existing.comment_id == comment.comment_id);
        (position, found.map(|offset| position + offset))
    }
}

/// See the module docs. Locks are std mutexes, never held across an await:
/// a site's lock while the rules read its slice (microseconds); the map's
/// also while a site's first check loads its recent comments from the
/// store (milliseconds, once per site and run).
#[derive(Debug, Default)]
pub struct RecentComments {
    sites: Mutex<HashMap<String, Arc<Mutex<SiteComments>>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while a guard was held leaves at worst a site's list short of
    // an entry, which the rules tolerate.
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl RecentComments {
    /// Runs `read` over the site's comments since `since`, newest first,
    /// loading them from the store on the site's first use.
    pub fn with_recent<T>(
        &self,
        store: &Store,
        site_id: &str,
        since: UnixMillis,
        read: impl FnOnce(RecentList<'_>) -> T,
    ) -> Result<T, StoreError> {
        let site = {
            let mut sites = lock(&self.sites);
            match sites.get(site_id) {
                Some(site) => Arc::clone(site),
                None => {
                    let loaded = store.recent_comments(site_id, since, MAX_KEPT)?;
                    if sites.len() >= MAX_CACHED_SITES {
                        if let Some(evicted) = sites.keys().next().cloned() {
                            sites.remove(&evicted);
                        }
                    }
                    let site = Arc::new(Mutex::new(SiteComments {
                        comments: loaded.into(),
                    }));
                    sites.insert(site_id.to_string(), Arc::clone(&site));
                    site
                }
            }
        };
        let site = lock(&site);
        // Newest first: the ones within the window are a prefix, and the
        // rules read at most the newest MAX_RECENT_COMMENTS of them.
        let within = site
            .comments
            .partition_point(|comment| comment.at.0 >= since.0)
            .min(MAX_RECENT_COMMENTS);
        let (newer, older) = site.comments.as_slices();
        Ok(read(if within <= newer.len() {
            RecentList::new(&newer[..within], &[])
        } else {
            RecentList::new(newer, &older[..within - newer.len()])
        }))
    }

    /// Replaces the entry of a rechecked comment (same time and comment
    /// id) with `comment`, if the site is cached and the entry is there.
    pub fn replace(&self, site_id: &str, comment: RecentComment) {
        let Some(site) = self.cached(site_id) else {
            return;
        };
        let mut site = lock(&site);
        if let (_, Some(index)) = site.place_of(&comment) {
            site.comments[index] = comment;
        }
    }

    /// The site's comments, if they are cached.
    /// Takes a forgotten comment out of its site's list, if the list is
    /// cached (a list loaded later reads the store, which no longer has it).
    pub fn forget(&self, site_id: &str, comment_id: &str) {
        let Some(site) = self.cached(site_id) else {
            return;
        };
        lock(&site)
            .comments
            .retain(|comment| comment.comment_id != comment_id);
    }

    /// Takes out of its site's list, if the list is cached, the entry of a
    /// comment checked at `at` alone: one checked again since under the
    /// same id (a new decision) stays.
    pub fn forget_entry(&self, site_id: &str, comment_id: &str, at: UnixMillis) {
        let Some(site) = self.cached(site_id) else {
            return;
        };
        lock(&site)
            .comments
            .retain(|comment| comment.comment_id != comment_id || comment.at != at);
    }

    fn cached(&self, site_id: &str) -> Option<Arc<Mutex<SiteComments>>> {
        lock(&self.sites).get(site_id).map(Arc::clone)
    }

    /// Adds a comment about to be stored (the engine adds it before handing
    /// its decision to the store's writer), if the site is cached,
    /// and forgets what fell out of the lookback (`keep_since`) or beyond
    /// the bound.
    ///
    /// Returns the time of the oldest comment kept when the site's list is
    /// full: the store's entries older than that would not be read again
    /// (a site loads its newest entries, and the rules read the newest
    /// [`MAX_RECENT_COMMENTS`]), so the store may prune them as well as
    /// those out of the lookback. The list holds [`UNSTORED_MARGIN`] more
    /// than the rules read, for the entries that were never stored.
    pub fn record(
        &self,
        site_id: &str,
        comment: RecentComment,
        keep_since: UnixMillis,
    ) -> Option<UnixMillis> {
        let site = self.cached(site_id)?;
        let mut site = lock(&site);
        // Concurrent checks may record slightly out of order; keep the list
        // sorted newest first. A site loaded from the store just after the
        // comment was written there has it already.
        if let (position, None) = site.place_of(&comment) {
            site.comments.insert(position, comment);
        }
        while site.comments.len() > MAX_KEPT
            || site
                .comments
                .back()
                .is_some_and(|oldest| oldest.at.0 < keep_since.0)
        {
            site.comments.pop_back();
        }
        if site.comments.len() < MAX_KEPT {
            return None;
        }
        site.comments.back().map(|oldest| oldest.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recent(id: &str, at: i64) -> RecentComment {
        RecentComment {
            at: UnixMillis(at),
            comment_id: id.to_string(),
            author_key: String::new().into(),
            ip: None,
            fingerprint: None,
        }
    }

    fn ids(cache: &RecentComments, store: &Store, since: i64) -> Vec<String> {
        cache
            .with_recent(store, "s", UnixMillis(since), |comments| {
                comments.iter().map(|c| c.comment_id.clone()).collect()
            })
            .unwrap()
    }

    #[test]
    fn the_cache_loads_from_the_store_then_follows_what_is_recorded() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        store
            .record_recent_comment("s", &recent("stored", 1_000), UnixMillis(0))
            .unwrap();
        let cache = RecentComments::default();
        // Recording before the site is loaded changes nothing in memory:
        // the store has it, and the first check loads it from there.
        cache.record("s", recent("unloaded", 1_500), UnixMillis(0));
        assert_eq!(ids(&cache, &store, 0), ["stored"]);

        // The store already has this one and so does the loaded cache.
        cache.record("s", recent("stored", 1_000), UnixMillis(0));
        cache.record("s", recent("b", 3_000), UnixMillis(0));
        cache.record("s", recent("a", 2_000), UnixMillis(0));
        assert_eq!(ids(&cache, &store, 0), ["b", "a", "stored"]);
        // Only the window is handed to the rules.
        assert_eq!(ids(&cache, &store, 2_000), ["b", "a"]);
        // What falls out of the lookback is forgotten.
        cache.record("s", recent("c", 4_000), UnixMillis(2_500));
        assert_eq!(ids(&cache, &store, 0), ["c", "b"]);
    }

    #[test]
    fn a_list_split_in_its_ring_buffer_reads_newest_first_and_cuts_at_the_window() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        for (id, at) in [("c1", 1_000), ("c2", 2_000), ("c3", 3_000)] {
            store
                .record_recent_comment("s", &recent(id, at), UnixMillis(0))
                .unwrap();
        }
        let cache = RecentComments::default();
        assert_eq!(ids(&cache, &store, 0), ["c3", "c2", "c1"]);
        cache.record("s", recent("c4", 4_000), UnixMillis(0));
        cache.record("s", recent("c5", 5_000), UnixMillis(0));
        // The loaded comments sit at the start of the buffer and the newer
        // ones at its end: the list is read in two parts.
        let site = cache.cached("s").unwrap();
        let (newer, older) = {
            let site = lock(&site);
            let (newer, older) = site.comments.as_slices();
            (newer.len(), older.len())
        };
        assert_eq!((newer, older), (2, 3));
        assert_eq!(ids(&cache, &store, 0), ["c5", "c4", "c3", "c2", "c1"]);
        assert_eq!(ids(&cache, &store, 4_500), ["c5"]);
        assert_eq!(ids(&cache, &store, 4_000), ["c5", "c4"]);
        assert_eq!(ids(&cache, &store, 2_500), ["c5", "c4", "c3"]);
    }

    #[test]
    fn a_site_holds_at_most_the_bound() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let cache = RecentComments::default();
        assert!(ids(&cache, &store, 0).is_empty());
        for index in 0..(MAX_RECENT_COMMENTS as i64 + 10) {
            cache.record("s", recent(&format!("c{index}"), index), UnixMillis(0));
        }
        let kept = ids(&cache, &store, 0);
        assert_eq!(kept.len(), MAX_RECENT_COMMENTS);
        assert_eq!(kept[0], format!("c{}", MAX_RECENT_COMMENTS + 9));
    }

    /// Entries the writer never stored (up to the margin) do not let the
    /// store prune comments that a site loaded again would have read.
    #[test]
    fn comments_never_stored_do_not_shorten_what_a_reload_reads() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let cache = RecentComments::default();
        assert!(ids(&cache, &store, 0).is_empty());
        let mut stored = Vec::new();
        for index in 0..(MAX_KEPT as i64 + 500) {
            let comment = recent(&format!("c{index}"), index);
            let bound = cache.record("s", comment.clone(), UnixMillis(0));
            // One comment in twenty is cancelled before the writer stores
            // it: about 135 of those the list holds, under the margin.
            if index % 20 != 0 {
                let keep_since = bound.unwrap_or(UnixMillis(0));
                store
                    .record_recent_comment("s", &comment, keep_since)
                    .unwrap();
                stored.push(comment.comment_id);
            }
        }
        let newest_stored: Vec<String> = stored
            .iter()
            .rev()
            .take(MAX_RECENT_COMMENTS)
            .cloned()
            .collect();
        let reloaded = ids(&RecentComments::default(), &store, 0);
        // Compared whole, reported short: the lists are 2,000 long.
        assert!(
            reloaded == newest_stored,
            "a reload read {} comments, oldest {:?}; expected {}, oldest {:?}",
            reloaded.len(),
            reloaded.last(),
            newest_stored.len(),
            newest_stored.last()
        );
    }

    #[test]
    fn a_full_site_tells_the_time_of_its_oldest_comment() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let cache = RecentComments::default();
        assert!(ids(&cache, &store, 0).is_empty());
        let mut bounds = Vec::new();
        for index in 0..(MAX_KEPT as i64 + 2) {
            bounds.push(cache.record("s", recent(&format!("c{index}"), index), UnixMillis(0)));
        }
        // Not full yet: the store keeps what the lookback keeps.
        assert!(bounds[..MAX_KEPT - 1].iter().all(Option::is_none));
        // Full: the oldest kept is c0, then c1, then c2.
        assert_eq!(
            bounds[MAX_KEPT - 1..],
            [
                Some(UnixMillis(0)),
                Some(UnixMillis(1)),
                Some(UnixMillis(2))
            ]
        );
        // The rules read the newest MAX_RECENT_COMMENTS; the margin is
        // older (c2 to c201 after those two more).
        let read = ids(&cache, &store, 0);
        assert_eq!(read.len(), MAX_RECENT_COMMENTS);
        assert_eq!(read.last().unwrap(), &format!("c{}", UNSTORED_MARGIN + 2));
        // A site not cached tells nothing.
        assert_eq!(cache.record("other", recent("x", 5), UnixMillis(0)), None);
    }

    #[test]
    fn a_replaced_comment_keeps_its_place_and_an_unknown_one_is_not_added() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let cache = RecentComments::default();
        assert!(ids(&cache, &store, 0).is_empty());
        for (id, at) in [("a", 1_000), ("b", 2_000), ("c", 2_000)] {
            cache.record("s", recent(id, at), UnixMillis(0));
        }
        let address: std::net::IpAddr = "192.0.2.7".parse().unwrap();
        cache.replace(
            "s",
            RecentComment {
                ip: Some(address),
                ..recent("b", 2_000)
            },
        );
        // Another time is another entry: nothing to replace.
        cache.replace("s", recent("a", 5_000));
        let seen: Vec<(String, Option<std::net::IpAddr>)> = cache
            .with_recent(&store, "s", UnixMillis(0), |comments| {
                comments
                    .iter()
                    .map(|comment| (comment.comment_id.clone(), comment.ip))
                    .collect()
            })
            .unwrap();
        let expected_b = ("b".to_string(), Some(address));
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(seen.contains(&expected_b), "{seen:?}");
        assert_eq!(seen[2], ("a".to_string(), None));
    }

    /// An expiry finished late takes out the entry of the decision that
    /// expired, not that of the same comment checked again since.
    #[test]
    fn an_entry_is_forgotten_by_its_time_too() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let cache = RecentComments::default();
        assert!(ids(&cache, &store, 0).is_empty());
        for (id, at) in [("a", 1_000), ("b", 2_000), ("a", 3_000)] {
            cache.record("s", recent(id, at), UnixMillis(0));
        }
        cache.forget_entry("s", "a", UnixMillis(1_000));
        let left: Vec<(String, i64)> = cache
            .with_recent(&store, "s", UnixMillis(0), |comments| {
                comments
                    .iter()
                    .map(|comment| (comment.comment_id.clone(), comment.at.0))
                    .collect()
            })
            .unwrap();
        assert_eq!(left, [("a".to_string(), 3_000), ("b".to_string(), 2_000)]);
    }
}
