//! Short-lived caches for the lookups every page view makes: who the
//! session belongs to (with their subscriptions and comps), what is at a
//! slug and at a tag's slug, the pages of post lists (front page, tags,
//! authors) and of the archive, a search's matches, and the publication's
//! settings. Without them an article view costs three to
//! five statements and a front page four; with them a hot page costs none.
//! Beside them, pages rendered for anonymous readers (`RenderedPage`), keyed
//! by everything they were rendered from (`web::page_cache`).
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
//! - Misses are coalesced: when an entry lapses under load, one request per
//!   key goes to the database and the others wait for its answer
//!   (`Entries::loading`). Without this, every connection in flight missed
//!   at the same moment once a second and queued for the pool. (moka's own
//!   `future::Cache::try_get_with` coalesces too, but measured under a
//!   thousand connections it stretched the p99 from 0.3 s to 5 s.)
//! - Only inputs to the access decision are cached, never its outcome:
//!   `access::decide` still runs on every request with the current time.

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use moka::sync::Cache;
use tokio::sync::watch;

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
    sessions: Entries<SessionOwner>,
    articles: Entries<AtSlug>,
    /// A page of a list of posts by its key (`ListKey`), whole articles in
    /// order: what the front, tag and author pages show.
    lists: Entries<ListedArticles>,
    /// A page of the archive (titles and dates) by its key.
    archive: Entries<ArchiveSlice>,
    /// What is at a tag's slug.
    tags: Entries<TagAtSlug>,
    /// A search's matches by its query (every reader's own decision is
    /// made afresh on them).
    searches: Entries<SearchLoad>,
    /// One entry (key ""): the settings every page shows.
    publication: Entries<Arc<Publication>>,
    /// Whole pages as anonymous readers get them, by `web::page_cache::PageKey`.
    pages: Entries<RenderedPage>,
    /// The settings last loaded, for when the database cannot be reached.
    last_publication: std::sync::RwLock<Option<Arc<Publication>>>,
    /// Bumped by every `clear`. A load that began before a clear may have
    /// read what the write replaced; it is answered but not cached.
    generation: AtomicU64,
}

/// One kind of entry, and the loads of it under way.
struct Entries<V> {
    /// `None` when caching is off.
    cache: Option<Cache<String, Timed<V>>>,
    /// Half the lifetime: an older entry is renewed by the next request.
    refresh_after: Duration,
    /// Per key being loaded, where its answer will be announced. Locked
    /// only to look up or change the map, never across an await.
    loading: std::sync::Mutex<HashMap<String, Flight<V>>>,
}

/// A cached value and when it was loaded.
#[derive(Clone)]
struct Timed<V> {
    value: V,
    loaded: Instant,
}

/// A load under way.
struct Flight<V> {
    /// The cache generation it began in: a request that comes after a
    /// write does not wait for a load that began before it.
    generation: u64,
    answer: watch::Receiver<Option<Answer<V>>>,
}

/// A load's outcome as its waiters see it: they share the error as text.
type Answer<V> = Result<V, Arc<str>>;

/// What a request does on a miss.
enum Role<V> {
    /// Nobody is loading this key: this request loads it and announces.
    Load(watch::Sender<Option<Answer<V>>>),
    /// Another request is loading it: wait for its answer.
    Wait(watch::Receiver<Option<Answer<V>>>),
}

/// Takes a finished (or abandoned) load off the map, so that the next miss
/// loads again; a newer load of the key that replaced it stays.
struct LoadingGuard<'a, V> {
    loading: &'a std::sync::Mutex<HashMap<String, Flight<V>>>,
    key: &'a str,
    /// This load's own channel, to tell it from a newer one.
    own: watch::Receiver<Option<Answer<V>>>,
}

impl<V> Drop for LoadingGuard<'_, V> {
    fn drop(&mut self) {
        let mut loading = self
            .loading
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if loading
            .get(self.key)
            .is_some_and(|flight| self.own.same_channel(&flight.answer))
        {
            loading.remove(self.key);
        }
    }
}

/// A page of a list of posts, as loaded.
pub type ListedArticles = Arc<Vec<Arc<Article>>>;

/// A slice of the archive, as loaded (no bodies).
pub type ArchiveSlice = Arc<Vec<crate::db::articles::ArchiveEntry>>;

/// What a search found: the matches in what everyone may read, the
/// candidates from whole bodies, and the matched articles, best first.
pub type SearchLoad = Arc<SearchMatches>;

pub struct SearchMatches {
    pub open: Vec<crate::db::search::OpenHit>,
    pub full: Vec<crate::db::search::FullHit>,
    pub articles: Vec<Arc<Article>>,
}

/// What a tag's slug leads to.
#[derive(Clone)]
pub enum TagAtSlug {
    Found(Arc<crate::db::tags::Tag>),
    /// The tag was renamed; it lives at this slug now.
    Moved(Arc<str>),
    Missing,
}

/// A page's HTML as rendered for anonymous readers, holding the loaded
/// inputs it was rendered from (an article, the settings). Their addresses
/// are part of its key, so the page is reused only while the read cache
/// still hands out those very loads, never past them; holding them keeps a
/// newer load from being allocated at an address a key still names.
#[derive(Clone)]
pub struct RenderedPage {
    pub html: bytes::Bytes,
    _inputs: Arc<[Arc<dyn std::any::Any + Send + Sync>]>,
}

impl RenderedPage {
    pub fn new(html: bytes::Bytes, inputs: Vec<Arc<dyn std::any::Any + Send + Sync>>) -> Self {
        Self {
            html,
            _inputs: inputs.into(),
        }
    }
}

/// Bounds memory: a flood of made-up slugs or tokens evicts old entries
/// rather than growing the cache.
const MAX_ENTRIES: u64 = 10_000;
/// A list entry holds up to 31 whole articles: far fewer of them. Readers
/// crowd the first pages; a crawler walking the archive pages evicts its
/// own entries.
const MAX_LISTS: u64 = 64;
/// A rendered page is 10–40 KB: a few MB at most. The hot pages of a
/// publication are few; a crawler's long tail evicts its own entries.
const MAX_PAGES: u64 = 128;

impl ReadCache {
    /// Entries live `ttl`; a zero `ttl` turns caching off.
    pub fn new(ttl: Duration) -> Self {
        Self {
            sessions: Entries::new(ttl, MAX_ENTRIES),
            articles: Entries::new(ttl, MAX_ENTRIES),
            lists: Entries::new(ttl, MAX_LISTS),
            archive: Entries::new(ttl, MAX_LISTS),
            tags: Entries::new(ttl, MAX_ENTRIES),
            searches: Entries::new(ttl, MAX_LISTS),
            publication: Entries::new(ttl, MAX_ENTRIES),
            pages: Entries::new(ttl, MAX_PAGES),
            last_publication: std::sync::RwLock::new(None),
            generation: AtomicU64::new(0),
        }
    }

    /// The cached owner of a session, or `load`'s answer (then cached).
    pub async fn session(
        &self,
        token_hash: &str,
        load: impl Future<Output = anyhow::Result<SessionOwner>>,
    ) -> anyhow::Result<SessionOwner> {
        self.cached(&self.sessions, token_hash, load).await
    }

    /// What is cached at `slug`, or `load`'s answer (then cached).
    pub async fn article(
        &self,
        slug: &str,
        load: impl Future<Output = anyhow::Result<AtSlug>>,
    ) -> anyhow::Result<AtSlug> {
        self.cached(&self.articles, slug, load).await
    }

    /// The cached page of a list (`key` names the list and the slice), or
    /// `load`'s answer (then cached).
    pub async fn list(
        &self,
        key: &str,
        load: impl Future<Output = anyhow::Result<ListedArticles>>,
    ) -> anyhow::Result<ListedArticles> {
        self.cached(&self.lists, key, load).await
    }

    /// The cached slice of the archive, or `load`'s answer (then cached).
    pub async fn archive(
        &self,
        key: &str,
        load: impl Future<Output = anyhow::Result<ArchiveSlice>>,
    ) -> anyhow::Result<ArchiveSlice> {
        self.cached(&self.archive, key, load).await
    }

    /// What is cached at a tag's `slug`, or `load`'s answer (then cached).
    pub async fn tag(
        &self,
        slug: &str,
        load: impl Future<Output = anyhow::Result<TagAtSlug>>,
    ) -> anyhow::Result<TagAtSlug> {
        self.cached(&self.tags, slug, load).await
    }

    /// The cached matches of a search (`key`: the query as the engine
    /// reads it), or `load`'s answer (then cached).
    pub async fn search(
        &self,
        key: &str,
        load: impl Future<Output = anyhow::Result<SearchLoad>>,
    ) -> anyhow::Result<SearchLoad> {
        self.cached(&self.searches, key, load).await
    }

    /// The cached settings, or `load`'s answer (then cached).
    pub async fn publication(
        &self,
        load: impl Future<Output = anyhow::Result<Arc<Publication>>>,
    ) -> anyhow::Result<Arc<Publication>> {
        self.cached(&self.publication, "", load).await
    }

    /// The page cached at `key`, or `render`'s (then cached): one render
    /// per key however many readers arrive at once.
    pub async fn page(
        &self,
        key: &str,
        render: impl Future<Output = anyhow::Result<RenderedPage>>,
    ) -> anyhow::Result<RenderedPage> {
        self.cached(&self.pages, key, render).await
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
    /// goes to the database), and concurrent misses of one key share one
    /// `load`. An entry past half its lifetime is refreshed by the first
    /// request that sees it while the others are still answered from it, so
    /// under steady traffic entries are renewed before they lapse and nobody
    /// waits. A load overtaken by a write (`clear`) answers everyone who
    /// waited for it but is not kept.
    async fn cached<V: Clone + Send + Sync + 'static>(
        &self,
        entries: &Entries<V>,
        key: &str,
        load: impl Future<Output = anyhow::Result<V>>,
    ) -> anyhow::Result<V> {
        let Some(cache) = &entries.cache else {
            return load.await;
        };
        loop {
            let generation = self.generation.load(Ordering::SeqCst);
            let hit = cache.get(key);
            if let Some(hit) = &hit
                && hit.loaded.elapsed() < entries.refresh_after
            {
                return Ok(hit.value.clone());
            }
            match (entries.role(key, generation), hit) {
                // Someone is already refreshing it: the entry is still good.
                (Role::Wait(_), Some(hit)) => return Ok(hit.value),
                (Role::Wait(mut answer), None) => match answer.wait_for(Option::is_some).await {
                    Ok(answer) => {
                        let answer = answer.clone().expect("waited for an answer");
                        return answer.map_err(|e| anyhow::anyhow!("{e}"));
                    }
                    // The loading request was dropped (its client went
                    // away) before answering: look again.
                    Err(_) => continue,
                },
                (Role::Load(announce), hit) => {
                    let loaded = self
                        .load_and_announce(entries, cache, key, generation, announce, load)
                        .await;
                    return match (loaded, hit) {
                        (Ok(value), _) => Ok(value),
                        // A failed refresh: the entry is still within its
                        // lifetime.
                        (Err(e), Some(hit)) => {
                            tracing::warn!(error = %format!("{e:#}"), "refreshing a cached read failed; serving the entry");
                            Ok(hit.value)
                        }
                        (Err(e), None) => Err(e),
                    };
                }
            }
        }
    }

    /// Runs `load` as the one load of `key` under way, keeps its answer
    /// unless a write overtook it, and hands it to whoever waited.
    async fn load_and_announce<V: Clone + Send + Sync + 'static>(
        &self,
        entries: &Entries<V>,
        cache: &Cache<String, Timed<V>>,
        key: &str,
        generation: u64,
        announce: watch::Sender<Option<Answer<V>>>,
        load: impl Future<Output = anyhow::Result<V>>,
    ) -> anyhow::Result<V> {
        let _loading = LoadingGuard {
            loading: &entries.loading,
            key,
            own: announce.subscribe(),
        };
        let loaded = load.await;
        if let Ok(value) = &loaded
            && self.generation.load(Ordering::SeqCst) == generation
        {
            let entry = Timed {
                value: value.clone(),
                loaded: Instant::now(),
            };
            cache.insert(key.to_owned(), entry);
        }
        let shared = match &loaded {
            Ok(value) => Ok(value.clone()),
            Err(e) => Err(Arc::from(format!("{e:#}"))),
        };
        announce.send_replace(Some(shared));
        loaded
    }

    /// Forgets everything: called after any write on this instance.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.sessions.clear();
        self.articles.clear();
        self.lists.clear();
        self.archive.clear();
        self.tags.clear();
        self.searches.clear();
        self.publication.clear();
        self.pages.clear();
    }
}

impl<V: Clone + Send + Sync + 'static> Entries<V> {
    /// Entries that live `ttl` (none when it is zero), at most `max_entries`.
    fn new(ttl: Duration, max_entries: u64) -> Self {
        let cache = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(ttl)
                .build()
        });
        Self {
            cache,
            refresh_after: ttl / 2,
            loading: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Whether this miss loads `key` or waits for the load under way (one
    /// that began in this `generation`, after the last write).
    fn role(&self, key: &str, generation: u64) -> Role<V> {
        let mut loading = self
            .loading
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(flight) = loading.get(key)
            && flight.generation == generation
        {
            return Role::Wait(flight.answer.clone());
        }
        let (announce, answer) = watch::channel(None);
        loading.insert(key.to_owned(), Flight { generation, answer });
        Role::Load(announce)
    }

    fn clear(&self) {
        if let Some(cache) = &self.cache {
            cache.invalidate_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::cell::Cell;

    fn moved() -> AtSlug {
        AtSlug::Moved(crate::db::articles::MovedTo {
            slug: "elsewhere".into(),
            kind: crate::domain::article::ArticleKind::Post,
        })
    }

    async fn missing(loads: &Cell<u32>) -> anyhow::Result<AtSlug> {
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
            anyhow::Ok::<ListedArticles>(Arc::new(Vec::new()))
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
    async fn concurrent_misses_of_one_key_share_one_load() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let loads = Cell::new(0);
        let slow = || async {
            loads.set(loads.get() + 1);
            tokio::time::sleep(Duration::from_millis(20)).await;
            anyhow::Ok(AtSlug::Missing)
        };
        let readers = (0..50).map(|_| cache.article("a", slow()));
        let answers = futures::future::join_all(readers).await;
        assert!(answers.iter().all(|a| matches!(a, Ok(AtSlug::Missing))));
        assert_eq!(loads.get(), 1, "one request went to the database");
        let _ = cache.article("b", slow()).await;
        assert_eq!(loads.get(), 2, "another key loads on its own");
    }

    #[tokio::test]
    async fn a_miss_after_a_write_does_not_wait_for_a_load_that_began_before_it() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let before_write = async {
            let _ = released.await;
            anyhow::Ok(AtSlug::Missing)
        };
        let after_write = async {
            tokio::task::yield_now().await; // the first load is under way
            cache.clear();
            let fresh = cache.article("a", async { anyhow::Ok(moved()) }).await;
            let _ = release.send(());
            fresh
        };
        let (old, fresh) = tokio::join!(cache.article("a", before_write), after_write);
        assert!(matches!(old, Ok(AtSlug::Missing)));
        assert!(
            matches!(fresh, Ok(AtSlug::Moved(_))),
            "the read after the write loaded anew"
        );
        let kept = cache.article("a", async { anyhow::Ok(AtSlug::Missing) }).await;
        assert!(
            matches!(kept, Ok(AtSlug::Moved(_))),
            "the fresh answer is the one kept"
        );
    }

    #[tokio::test]
    async fn a_waiter_whose_loading_request_is_dropped_loads_for_itself() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let abandoned = tokio::time::timeout(
            Duration::from_millis(20),
            cache.article("a", std::future::pending()),
        );
        let waiter = async {
            tokio::task::yield_now().await; // the first load is under way
            cache.article("a", async { anyhow::Ok(moved()) }).await
        };
        let (abandoned, waited) = tokio::join!(abandoned, waiter);
        assert!(abandoned.is_err(), "the first request was dropped");
        assert!(matches!(waited, Ok(AtSlug::Moved(_))));
    }

    #[tokio::test]
    async fn an_entry_past_half_its_life_is_renewed_by_one_request_while_others_are_answered_from_it() {
        let cache = ReadCache::new(Duration::from_millis(200));
        let _ = cache.article("a", async { anyhow::Ok(AtSlug::Missing) }).await;
        tokio::time::sleep(Duration::from_millis(120)).await;
        let loads = Cell::new(0);
        let renewing = cache.article("a", async {
            loads.set(loads.get() + 1);
            tokio::time::sleep(Duration::from_millis(30)).await;
            anyhow::Ok(moved())
        });
        let meanwhile = async {
            tokio::task::yield_now().await; // the renewal is under way
            cache.article("a", missing(&loads)).await
        };
        let (renewed, meanwhile) = tokio::join!(renewing, meanwhile);
        assert!(matches!(renewed, Ok(AtSlug::Moved(_))));
        assert!(
            matches!(meanwhile, Ok(AtSlug::Missing)),
            "answered from the entry"
        );
        assert_eq!(loads.get(), 1, "one request went to the database");
        let now = cache.article("a", missing(&loads)).await;
        assert!(matches!(now, Ok(AtSlug::Moved(_))), "the renewed entry is kept");
    }

    #[tokio::test]
    async fn a_load_overtaken_by_a_write_is_answered_but_not_cached() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let loads = Cell::new(0);
        let stale = async {
            loads.set(loads.get() + 1);
            cache.clear(); // a write lands while this read is at the database
            anyhow::Ok(AtSlug::Missing)
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
        let failed = cache
            .session("h", async { Err(anyhow::anyhow!("database down")) })
            .await;
        assert!(failed.unwrap_err().to_string().contains("database down"));
        let found = cache.session("h", async { anyhow::Ok(None) }).await;
        assert!(matches!(found, Ok(None)));
    }
}
