//! Short-lived caches for the lookups every page view makes: who the
//! session belongs to (with their subscriptions and comps), what is at a
//! slug, the pages of post lists (front page, tags, authors), and the
//! publication's settings. Without them an article view costs three to
//! five statements and a front page four; with them a hot page costs none.
//!
//! Correctness rules, because a stale entry could leak a paid body or keep a
//! revoked session alive:
//! - Entries live at most `read_cache_ms` (default one second), so a change
//!   made by another instance, the CLI or a direct SQL edit shows within that
//!   bound everywhere.
//! - Every write request handled by this instance (any method but GET and
//!   HEAD: logins, logouts, webhooks, admin edits, comps) empties both caches
//!   when it completes (see `routes::forget_cached_reads_after_writes`),
//!   and so does the scheduler when it publishes. Writes are rare next to
//!   reads, so emptying everything is cheaper than tracking what depends on
//!   what, and there is no dependency to forget.
//! - A read that was at the database while a write landed may carry what the
//!   write replaced: it is answered but not cached (a generation counter).
//! - Only inputs to the access decision are cached, never its outcome:
//!   `access::decide` still runs on every request with the current time.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use moka::sync::Cache;

use crate::{
    db::{articles::Article, users::User},
    domain::{access::Member, settings::Publication},
};

/// What a slug leads to, as the article lookup found it.
#[derive(Clone)]
pub enum AtSlug {
    Live(Arc<Article>),
    /// The article was renamed; it lives there now.
    Moved(crate::db::articles::MovedTo),
    Missing,
}

/// A session's owner with what the access policy needs of them; `None` for
/// an unknown or expired token.
pub type SessionOwner = Option<Arc<(User, Member)>>;

pub struct ReadCache {
    /// By the session token's SHA-256, never the token itself.
    sessions: Option<Cache<String, SessionOwner>>,
    articles: Option<Cache<String, AtSlug>>,
    /// A page of a list of posts by its key (`ListKey`), whole articles in
    /// order: what the front, tag and author pages show.
    lists: Option<Cache<String, ListedArticles>>,
    /// One entry (key ""): the settings every page shows.
    publication: Option<Cache<String, Arc<Publication>>>,
    /// The settings last loaded, for when the database cannot be reached.
    last_publication: std::sync::RwLock<Option<Arc<Publication>>>,
    /// Bumped by every `clear`. A load that began before a clear may have
    /// read what the write replaced; it is answered but not cached.
    generation: AtomicU64,
}

/// A page of a list of posts, as loaded.
pub type ListedArticles = Arc<Vec<Arc<Article>>>;

/// Bounds memory: a flood of made-up slugs or tokens evicts old entries
/// rather than growing the cache.
const MAX_ENTRIES: u64 = 10_000;
/// A list entry holds up to 31 whole articles: far fewer of them. Readers
/// crowd the first pages; a crawler walking the archive pages evicts its
/// own entries.
const MAX_LISTS: u64 = 64;

impl ReadCache {
    /// Entries live `ttl`; a zero `ttl` turns caching off.
    pub fn new(ttl: Duration) -> Self {
        Self {
            sessions: short_lived(ttl, MAX_ENTRIES),
            articles: short_lived(ttl, MAX_ENTRIES),
            lists: short_lived(ttl, MAX_LISTS),
            publication: short_lived(ttl, MAX_ENTRIES),
            last_publication: std::sync::RwLock::new(None),
            generation: AtomicU64::new(0),
        }
    }

    /// The cached owner of a session, or `load`'s answer (then cached).
    pub async fn session<E>(
        &self,
        token_hash: &str,
        load: impl Future<Output = Result<SessionOwner, E>>,
    ) -> Result<SessionOwner, E> {
        self.cached(self.sessions.as_ref(), token_hash, load).await
    }

    /// What is cached at `slug`, or `load`'s answer (then cached).
    pub async fn article<E>(
        &self,
        slug: &str,
        load: impl Future<Output = Result<AtSlug, E>>,
    ) -> Result<AtSlug, E> {
        self.cached(self.articles.as_ref(), slug, load).await
    }

    /// The cached page of a list (`key` names the list and the slice), or
    /// `load`'s answer (then cached).
    pub async fn list<E>(
        &self,
        key: &str,
        load: impl Future<Output = Result<ListedArticles, E>>,
    ) -> Result<ListedArticles, E> {
        self.cached(self.lists.as_ref(), key, load).await
    }

    /// The cached settings, or `load`'s answer (then cached).
    pub async fn publication<E>(
        &self,
        load: impl Future<Output = Result<Arc<Publication>, E>>,
    ) -> Result<Arc<Publication>, E> {
        self.cached(self.publication.as_ref(), "", load).await
    }

    pub fn remember_publication(&self, publication: Arc<Publication>) {
        if let Ok(mut last) = self.last_publication.write() {
            *last = Some(publication);
        }
    }

    pub fn last_publication(&self) -> Option<Arc<Publication>> {
        self.last_publication.read().ok().and_then(|last| last.clone())
    }

    /// A hit never leaves the async thread; only a miss runs `load` (which
    /// goes to the database). Two concurrent misses both load; the later
    /// insert wins, which is harmless for values this short-lived.
    async fn cached<V: Clone + Send + Sync + 'static, E>(
        &self,
        cache: Option<&Cache<String, V>>,
        key: &str,
        load: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E> {
        let Some(cache) = cache else {
            return load.await;
        };
        if let Some(hit) = cache.get(key) {
            return Ok(hit);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let value = load.await?;
        if self.generation.load(Ordering::SeqCst) == generation {
            cache.insert(key.to_owned(), value.clone());
        }
        Ok(value)
    }

    /// Forgets everything: called after any write on this instance.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(sessions) = &self.sessions {
            sessions.invalidate_all();
        }
        if let Some(articles) = &self.articles {
            articles.invalidate_all();
        }
        if let Some(lists) = &self.lists {
            lists.invalidate_all();
        }
        if let Some(publication) = &self.publication {
            publication.invalidate_all();
        }
    }
}

fn short_lived<V: Clone + Send + Sync + 'static>(
    ttl: Duration,
    max_entries: u64,
) -> Option<Cache<String, V>> {
    (!ttl.is_zero()).then(|| {
        Cache::builder()
            .max_capacity(max_entries)
            .time_to_live(ttl)
            .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::cell::Cell;

    async fn missing(loads: &Cell<u32>) -> Result<AtSlug, ()> {
        loads.set(loads.get() + 1);
        Ok(AtSlug::Missing)
    }

    #[tokio::test]
    async fn a_cached_slug_is_loaded_once_until_cleared() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let loads = Cell::new(0);
        for _ in 0..3 {
            let found = cache.article("a", missing(&loads)).await;
            assert!(matches!(found, Ok(AtSlug::Missing)));
        }
        assert_eq!(loads.get(), 1);
        cache.clear();
        let _ = cache.article("a", missing(&loads)).await;
        assert_eq!(loads.get(), 2);
    }

    #[tokio::test]
    async fn a_cached_list_is_loaded_once_until_cleared_and_each_slice_on_its_own() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let loads = Cell::new(0);
        let empty = || async {
            loads.set(loads.get() + 1);
            Ok::<ListedArticles, ()>(Arc::new(Vec::new()))
        };
        for _ in 0..3 {
            cache.list("all:31:0", empty()).await.unwrap();
        }
        assert_eq!(loads.get(), 1);
        cache.list("all:31:30", empty()).await.unwrap();
        assert_eq!(loads.get(), 2, "another page is another entry");
        cache.clear();
        cache.list("all:31:0", empty()).await.unwrap();
        assert_eq!(loads.get(), 3, "a write empties the lists too");
    }

    #[tokio::test]
    async fn a_load_overtaken_by_a_write_is_answered_but_not_cached() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let loads = Cell::new(0);
        let stale = async {
            loads.set(loads.get() + 1);
            cache.clear(); // a write lands while this read is at the database
            Ok::<_, ()>(AtSlug::Missing)
        };
        assert!(matches!(cache.article("a", stale).await, Ok(AtSlug::Missing)));
        let _ = cache.article("a", missing(&loads)).await;
        assert_eq!(loads.get(), 2, "the overtaken answer was not kept");
    }

    #[tokio::test]
    async fn a_zero_lifetime_turns_caching_off() {
        let cache = ReadCache::new(Duration::ZERO);
        let loads = Cell::new(0);
        for _ in 0..3 {
            let _ = cache.article("a", missing(&loads)).await;
        }
        assert_eq!(loads.get(), 3);
    }

    #[tokio::test]
    async fn a_failed_load_is_not_cached() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let failed = cache.session("h", async { Err("database down") }).await;
        assert!(failed.is_err());
        let found = cache.session("h", async { Ok::<_, &str>(None) }).await;
        assert!(matches!(found, Ok(None)));
    }
}
