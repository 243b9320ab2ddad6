//! What a reader gets of an article: the article, the access decision, and
//! the HTML that decision allows. Site pages and the JSON API both come
//! through here, so there is one place where a paid body can be chosen.

use std::sync::Arc;

use crate::{
    cache::AtSlug,
    db::{
        self,
        articles::{self, Article},
        meter,
    },
    domain::access::{self, Access, Banner, CallToAction, Passes, Reader},
    state::AppState,
};

pub struct ReadableArticle {
    pub article: Arc<Article>,
    pub access: Access,
}

impl ReadableArticle {
    fn decide(article: Arc<Article>, reader: &Reader, passes: Passes, state: &AppState) -> Self {
        let access = access::decide_with(reader, article.visibility(), passes, db::now(), &state.policy);
        state.metrics.record_access(access);
        Self { article, access }
    }

    /// The whole body only when the policy said `Full`; the preview otherwise.
    pub fn html(&self) -> &str {
        match self.access {
            Access::Full { .. } => &self.article.row.body_html,
            Access::Preview { .. } => &self.article.row.preview_html,
        }
    }

    pub fn call_to_action(&self) -> Option<CtaLink> {
        match self.access {
            Access::Full { .. } => None,
            Access::Preview { cta, free_left } => {
                let mut link = CtaLink::new(cta, &self.article.row.slug);
                link.free_left = free_left;
                Some(link)
            }
        }
    }
}

/// A call to action with its words and where it leads.
pub struct CtaLink {
    pub cta: CallToAction,
    /// A site path: `/login?next=/p/slug`, `/subscribe`, `/account`.
    pub path: String,
    /// Metered reads left this month, when the meter is on.
    pub free_left: Option<u32>,
}

impl CtaLink {
    /// The call to action for the article at `slug`.
    pub fn new(cta: CallToAction, slug: &str) -> Self {
        let path = match cta {
            CallToAction::Login => format!("/login?next=/p/{slug}"),
            CallToAction::Subscribe => "/subscribe".to_owned(),
            CallToAction::UpdateCard => "/account".to_owned(),
        };
        Self {
            cta,
            path,
            free_left: None,
        }
    }

    /// What the teaser says: the call to action, after the meter's count
    /// ("You have 2 free articles left this month.") when there is one.
    pub fn message(&self) -> String {
        match self.free_left {
            Some(left) => format!("{} {}", access::free_articles_left(left), self.cta.message()),
            None => self.cta.message().to_owned(),
        }
    }

    pub fn button(&self) -> &'static str {
        match self.cta {
            CallToAction::Login => "Log in",
            CallToAction::Subscribe => "Subscribe",
            CallToAction::UpdateCard => "Update your card",
        }
    }
}

/// What is at a slug.
pub enum Lookup {
    Found(Box<ReadableArticle>),
    /// The article was renamed; it lives at this slug now.
    Moved(String),
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
/// cache; the decision is made afresh every time.
pub async fn article(state: &AppState, who: Who<'_>, slug: String) -> anyhow::Result<Lookup> {
    Ok(match lookup(state, slug).await? {
        AtSlug::Live(article) => Lookup::Found(Box::new(open(state, who, article, Passes::default()).await?)),
        AtSlug::Moved(new_slug) => Lookup::Moved(new_slug),
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
                Some(new_slug) => AtSlug::Moved(new_slug),
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
    let visibility = article.visibility();
    let meter_user = who
        .user_id
        .filter(|_| access::meter_applies(who.reader, visibility, now, &state.policy));
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
        let recorded = match (readable.access, meter_user) {
            (
                Access::Full {
                    banner: Some(Banner::FreeRead { .. }),
                },
                Some(user_id),
            ) => {
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

/// A page of live articles, newest first, as `who` may see them. Nothing is
/// opened: a free member's teasers say how many metered reads are left.
pub async fn latest(state: &AppState, who: Who<'_>, page: Page) -> anyhow::Result<Vec<ReadableArticle>> {
    let now = db::now();
    let metered_user = who.user_id.filter(|_| {
        access::meter_applies(
            who.reader,
            crate::domain::article::Visibility::Paid,
            now,
            &state.policy,
        )
    });
    let (found, meter_reads) = db::run(&state.pool, move |conn| {
        let found = articles::list_live(conn, now, page.per_page, page.offset())?;
        let reads = match metered_user {
            Some(user_id) => Some(meter::reads(conn, user_id, 0, now, false)?),
            None => None,
        };
        Ok((found, reads))
    })
    .await?;
    let passes = Passes {
        gift: None,
        meter: meter_reads,
    };
    Ok(found
        .into_iter()
        .map(|article| ReadableArticle::decide(Arc::new(article), who.reader, passes, state))
        .collect())
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
