//! What a reader gets of an article: the article, the access decision, and
//! the HTML that decision allows. Site pages and the JSON API both come
//! through here, so there is one place where a paid body can be chosen.

pub mod feeds;
mod search;

pub use search::{SEARCH_LIMIT, SearchResult, Searched, search};

use std::sync::Arc;

pub use crate::domain::access::CtaLink;
use crate::{
    cache::{AtSlug, TagAtSlug},
    db::{
        self,
        articles::{self, Article, ArticleRow},
        meter,
        tags::Tag,
    },
    domain::{
        access::{self, Access, Banner, Passes, Reader},
        article::ArticleKind,
        markdown,
    },
    state::AppState,
};

pub struct ReadableArticle {
    pub article: Arc<Article>,
    pub access: Access,
}

impl ReadableArticle {
    fn decide(article: Arc<Article>, reader: &Reader, passes: Passes, state: &AppState) -> Self {
        let access = access::decide_with(reader, article.gate(), passes, db::now(), &state.policy);
        state.metrics.record_access(access);
        Self { article, access }
    }

    /// What the decision allows of the body.
    pub fn body(&self) -> AllowedBody<'_> {
        allowed_body(&self.article.row, self.access)
    }

    /// The whole body only when the policy said `Full`; the preview otherwise.
    pub fn html(&self) -> &str {
        self.body().html()
    }

    pub fn call_to_action(&self) -> Option<CtaLink> {
        self.body().call_to_action()
    }
}

/// The one place a body is chosen: what `access` allows of `row`. Every
/// output that carries any part of a body (page, JSON, feeds, newsletter
/// copies, gift views) gets it here; the whole body can only be had with the
/// proof that a `Full` decision carries (`ArticleRow::full_body`).
pub fn allowed_body(row: &ArticleRow, access: Access) -> AllowedBody<'_> {
    AllowedBody { row, access }
}

/// An article's body as one decision allows it.
pub struct AllowedBody<'a> {
    row: &'a ArticleRow,
    access: Access,
}

impl<'a> AllowedBody<'a> {
    /// The whole body's HTML, or the preview's.
    pub fn html(&self) -> &'a str {
        match self.access {
            Access::Full { proof, .. } => self.row.full_body(proof).html,
            Access::Preview { .. } => &self.row.preview_html,
        }
    }

    /// The same part as readable plain text (its markdown, without the
    /// divider line), for the text part of an email.
    pub fn plain_text(&self, preview_chars: usize) -> String {
        match self.access {
            Access::Full { proof, .. } => self
                .row
                .full_body(proof)
                .markdown
                .lines()
                .filter(|line| line.trim() != markdown::PAYWALL_DIVIDER)
                .collect::<Vec<_>>()
                .join("\n"),
            Access::Preview { .. } => self.row.preview_markdown(preview_chars),
        }
    }

    /// What a reader of the preview is invited to do.
    pub fn call_to_action(&self) -> Option<CtaLink> {
        match self.access {
            Access::Full { .. } => None,
            Access::Preview { cta, free_left } => {
                let mut link = CtaLink::new(cta, &self.row.slug);
                link.free_left = free_left;
                Some(link)
            }
        }
    }
}

/// What is at a slug.
pub enum Lookup {
    Found(Box<ReadableArticle>),
    /// The article was renamed; it lives there now.
    Moved(articles::MovedTo),
    Missing,
}

/// Who is reading: the policy's view, and the member's id for the meter.
#[derive(Clone, Copy)]
pub struct Who<'a> {
    pub reader: &'a Reader,
    pub user_id: Option<i32>,
}

impl<'a> Who<'a> {
    /// A reader the meter does not count (feeds).
    pub fn uncounted(reader: &'a Reader) -> Self {
        Self {
            reader,
            user_id: None,
        }
    }
}

/// The live article at `slug` as `who` may see it, opening it: a free
/// member may spend a metered read on it. The lookup may come from the read
/// cache; the decision is made afresh every time. When `kind` is given and
/// the article is of the other kind, it is `Moved` to its own address
/// (unopened).
pub async fn article(
    state: &AppState,
    who: Who<'_>,
    slug: String,
    kind: Option<ArticleKind>,
) -> anyhow::Result<Lookup> {
    Ok(match lookup(state, slug).await? {
        AtSlug::Live(article) if kind.is_some_and(|k| k != article.kind()) => {
            Lookup::Moved(articles::MovedTo {
                slug: article.row.slug.clone(),
                kind: article.kind(),
            })
        }
        AtSlug::Live(article) => Lookup::Found(Box::new(open(state, who, article, Passes::default()).await?)),
        AtSlug::Moved(moved) => Lookup::Moved(moved),
        AtSlug::Missing => Lookup::Missing,
    })
}

/// What is at `slug` now (through the read cache).
pub(crate) async fn lookup(state: &AppState, slug: String) -> anyhow::Result<AtSlug> {
    let load = db::run(&state.pool, {
        let slug = slug.clone();
        move |conn| {
            let now = db::now();
            if let Some(article) = articles::find_live_by_slug(conn, &slug, now)? {
                return Ok(AtSlug::Live(Arc::new(article)));
            }
            Ok(match articles::redirect_target(conn, &slug, now)? {
                Some(moved) => AtSlug::Moved(moved),
                None => AtSlug::Missing,
            })
        }
    });
    state.read_cache.article(&slug, load).await
}

/// Decides one article for a reader who opens it, with `passes` (a gift
/// link) and the meter, and records the read a pass or the meter granted.
/// A record refused (the last read taken meanwhile by another request)
/// means deciding again on fresh numbers, which then shows the teaser.
pub(crate) async fn open(
    state: &AppState,
    who: Who<'_>,
    article: Arc<Article>,
    mut passes: Passes,
) -> anyhow::Result<ReadableArticle> {
    let now = db::now();
    let meter_user = who
        .user_id
        .filter(|_| access::meter_applies(who.reader, article.gate(), now, &state.policy));
    for _attempt in 0..2 {
        if let Some(user_id) = meter_user {
            let article_id = article.row.id;
            passes.meter = Some(
                db::run(&state.pool, move |conn| {
                    Ok(meter::reads(conn, user_id, article_id, now, true)?)
                })
                .await?,
            );
        }
        let readable = ReadableArticle::decide(article.clone(), who.reader, passes, state);
        // A gifted read is the caller's to record: it knows the link.
        let recorded = match (readable.access.banner(), meter_user) {
            (Some(Banner::FreeRead { .. }), Some(user_id)) => {
                let (article_id, allowance) = (article.row.id, state.policy.metered_free_articles);
                db::run(&state.pool, move |conn| {
                    Ok(meter::spend(conn, user_id, article_id, now, allowance)?)
                })
                .await?
            }
            _ => true,
        };
        if recorded {
            return Ok(readable);
        }
    }
    // Two lost races in a row: show the teaser rather than guess.
    Ok(ReadableArticle::decide(
        article,
        who.reader,
        Passes::default(),
        state,
    ))
}

/// The post a member was emailed, as they may read it, from the signed
/// link in their email ("view in browser"): the only way to an email-only
/// post on the web. `None` for a token we did not sign, a member no longer
/// here, or a post no longer out. Never metered, like the email itself.
pub async fn email_copy(state: &AppState, token: &str) -> anyhow::Result<Option<(ReadableArticle, Reader)>> {
    let Some((user_id, article_id)) =
        crate::security::signed::parse_email_copy_token(&state.signing_key, token)
    else {
        return Ok(None);
    };
    let found = db::run(&state.pool, move |conn| {
        let now = db::now();
        let Some(article) = articles::find(conn, article_id)?.filter(|a| a.is_out(now)) else {
            return Ok(None);
        };
        // A deleted account's links die with it.
        let Some(user) = db::users::find(conn, user_id)?.filter(|u| u.deleted_at.is_none()) else {
            return Ok(None);
        };
        let member = db::members::load_member(conn, &user)?;
        Ok(Some((article, member)))
    })
    .await?;
    Ok(found.map(|(article, member)| {
        let reader = Reader::Member(member);
        let readable = ReadableArticle::decide(Arc::new(article), &reader, Passes::default(), state);
        (readable, reader)
    }))
}

/// A page of live articles, newest first, as `who` may see them. Nothing is
/// opened: a free member's teasers say how many metered reads are left.
pub async fn latest(state: &AppState, who: Who<'_>, page: Page) -> anyhow::Result<Vec<ReadableArticle>> {
    live_slice(state, who, Listing::All, page.per_page, page.offset()).await
}

/// Which live posts a list shows.
#[derive(Debug, Clone, Copy)]
enum Listing {
    All,
    Tagged(i32),
    /// With this writer (user id) on the byline.
    ByAuthor(i32),
}

/// A page of the front page's list, and whether an older page follows.
pub struct LatestPage {
    pub articles: Vec<ReadableArticle>,
    pub has_older: bool,
}

/// `latest`, reading one article more to know whether another page follows
/// (no count of every post on each view of the front page).
pub async fn latest_page(state: &AppState, who: Who<'_>, page: Page) -> anyhow::Result<LatestPage> {
    listing_page(state, who, Listing::All, page).await
}

async fn listing_page(
    state: &AppState,
    who: Who<'_>,
    listing: Listing,
    page: Page,
) -> anyhow::Result<LatestPage> {
    let mut articles = live_slice(state, who, listing, page.per_page + 1, page.offset()).await?;
    let has_older = articles.len() as i64 > page.per_page;
    articles.truncate(page.per_page as usize);
    Ok(LatestPage { articles, has_older })
}

/// What is at a tag's slug.
pub enum TagLookup {
    Found(Arc<Tag>, LatestPage),
    /// The tag was renamed; it lives at this slug now.
    Moved(String),
    Missing,
}

/// A page of the live posts carrying the tag at `slug`, as `who` may see
/// them.
pub async fn tagged(state: &AppState, who: Who<'_>, slug: String, page: Page) -> anyhow::Result<TagLookup> {
    let load = async {
        let slug = slug.clone();
        db::run(&state.pool, move |conn| {
            if let Some(tag) = db::tags::find_by_slug(conn, &slug)? {
                return Ok(TagAtSlug::Found(Arc::new(tag)));
            }
            Ok(match db::tags::redirect_target(conn, &slug)? {
                Some(new_slug) => TagAtSlug::Moved(new_slug.into()),
                None => TagAtSlug::Missing,
            })
        })
        .await
    };
    Ok(match state.read_cache.tag(&slug, load).await? {
        TagAtSlug::Found(tag) => {
            let listed = listing_page(state, who, Listing::Tagged(tag.id), page).await?;
            TagLookup::Found(tag, listed)
        }
        TagAtSlug::Moved(new_slug) => TagLookup::Moved(new_slug.to_string()),
        TagAtSlug::Missing => TagLookup::Missing,
    })
}

/// A writer's profile and a page of their live posts, as `who` may see
/// them; `None` when no profile has that slug.
pub async fn by_author(
    state: &AppState,
    who: Who<'_>,
    slug: String,
    page: Page,
) -> anyhow::Result<Option<(db::authors::AuthorProfile, LatestPage)>> {
    let Some(profile) = db::run(&state.pool, move |conn| {
        Ok(db::authors::find_by_slug(conn, &slug)?)
    })
    .await?
    else {
        return Ok(None);
    };
    let listed = listing_page(state, who, Listing::ByAuthor(profile.user_id), page).await?;
    Ok(Some((profile, listed)))
}

async fn live_slice(
    state: &AppState,
    who: Who<'_>,
    listing: Listing,
    limit: i64,
    offset: i64,
) -> anyhow::Result<Vec<ReadableArticle>> {
    let now = db::now();
    let metered_user = who.user_id.filter(|_| {
        access::meter_applies(
            who.reader,
            crate::domain::article::Visibility::Paid,
            now,
            &state.policy,
        )
    });
    let found = listed(state, listing, limit, offset, now).await?;
    let meter_reads = match metered_user {
        Some(user_id) => Some(
            db::run(&state.pool, move |conn| {
                Ok(meter::reads(conn, user_id, 0, now, false)?)
            })
            .await?,
        ),
        None => None,
    };
    let passes = Passes {
        gift: None,
        meter: meter_reads,
    };
    Ok(found
        .iter()
        .map(|article| ReadableArticle::decide(article.clone(), who.reader, passes, state))
        .collect())
}

/// The articles of one slice of a list, through the read cache (only the
/// articles: every reader's decision is made afresh).
async fn listed(
    state: &AppState,
    listing: Listing,
    limit: i64,
    offset: i64,
    now: time::PrimitiveDateTime,
) -> anyhow::Result<crate::cache::ListedArticles> {
    let key = match listing {
        Listing::All => format!("all:{limit}:{offset}"),
        Listing::Tagged(tag_id) => format!("tag:{tag_id}:{limit}:{offset}"),
        Listing::ByAuthor(user_id) => format!("author:{user_id}:{limit}:{offset}"),
    };
    let load = db::run(&state.pool, move |conn| {
        let found = match listing {
            Listing::All => articles::list_live(conn, now, limit, offset)?,
            Listing::Tagged(tag_id) => {
                let ids = db::tags::live_article_ids(conn, tag_id, now, limit, offset)?;
                articles::load_in_order(conn, &ids)?
            }
            Listing::ByAuthor(user_id) => {
                let ids = db::authors::live_article_ids(conn, user_id, now, limit, offset)?;
                articles::load_in_order(conn, &ids)?
            }
        };
        Ok(Arc::new(found.into_iter().map(Arc::new).collect()))
    });
    state.read_cache.list(&key, load).await
}

/// A page of the archive: live posts' titles, slugs and dates, newest
/// first (no part of any body), and whether an older page follows.
pub struct ArchivePage {
    pub entries: crate::cache::ArchiveSlice,
    pub has_older: bool,
}

impl ArchivePage {
    /// The posts on this page (the slice holds one more, to know whether an
    /// older page follows).
    pub fn posts(&self, page: Page) -> &[articles::ArchiveEntry] {
        &self.entries[..self.entries.len().min(page.per_page as usize)]
    }
}

pub async fn archive(state: &AppState, page: Page) -> anyhow::Result<ArchivePage> {
    let (limit, offset) = (page.per_page + 1, page.offset());
    let load = db::run(&state.pool, move |conn| {
        Ok(Arc::new(articles::archive(conn, db::now(), limit, offset)?))
    });
    let entries = state
        .read_cache
        .archive(&format!("{limit}:{offset}"), load)
        .await?;
    let has_older = entries.len() as i64 > page.per_page;
    Ok(ArchivePage { entries, has_older })
}

/// What the sitemap lists: live posts and pages, no bodies.
pub async fn sitemap(state: &AppState, limit: i64) -> anyhow::Result<Vec<articles::SitemapEntry>> {
    db::run(&state.pool, move |conn| {
        Ok(articles::sitemap(conn, db::now(), limit)?)
    })
    .await
}

/// Which slice of a list: 1-based page number, bounded page size.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub number: i64,
    pub per_page: i64,
}

impl Page {
    pub const MAX_PER_PAGE: i64 = 100;
    pub const DEFAULT_PER_PAGE: i64 = 20;

    /// From optional `page` and `per_page` inputs, with defaults and bounds.
    pub fn parse(number: Option<i64>, per_page: Option<i64>) -> Result<Self, crate::domain::InvalidInput> {
        use crate::domain::InvalidInput;
        let number = number.unwrap_or(1);
        let per_page = per_page.unwrap_or(Self::DEFAULT_PER_PAGE);
        if !(1..=100_000).contains(&number) {
            return Err(InvalidInput::new("page", "page must be from 1 to 100000"));
        }
        if !(1..=Self::MAX_PER_PAGE).contains(&per_page) {
            return Err(InvalidInput::new(
                "per_page",
                format!("per_page must be from 1 to {}", Self::MAX_PER_PAGE),
            ));
        }
        Ok(Self { number, per_page })
    }

    pub fn offset(self) -> i64 {
        (self.number - 1) * self.per_page
    }
}
