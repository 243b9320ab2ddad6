//! What a reader gets of an article: the article, the access decision, and
//! the HTML that decision allows. Site pages and the JSON API both come
//! through here, so there is one place where a paid body can be chosen.

use std::sync::Arc;

use crate::{
    cache::AtSlug,
    db::{
        self,
        articles::{self, Article},
    },
    domain::access::{self, Access, CallToAction, Reader},
    state::AppState,
};

pub struct ReadableArticle {
    pub article: Arc<Article>,
    pub access: Access,
}

impl ReadableArticle {
    fn decide(article: Arc<Article>, reader: &Reader, state: &AppState) -> Self {
        let access = access::decide(reader, article.visibility(), db::now(), &state.policy);
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
            Access::Preview { cta } => Some(CtaLink::new(cta, &self.article.row.slug)),
        }
    }
}

/// A call to action with its words and where it leads.
pub struct CtaLink {
    pub cta: CallToAction,
    /// A site path: `/login?next=/p/slug`, `/subscribe`, `/account`.
    pub path: String,
}

impl CtaLink {
    /// The call to action for the article at `slug`.
    pub fn new(cta: CallToAction, slug: &str) -> Self {
        let path = match cta {
            CallToAction::Login => format!("/login?next=/p/{slug}"),
            CallToAction::Subscribe => "/subscribe".to_owned(),
            CallToAction::UpdateCard => "/account".to_owned(),
        };
        Self { cta, path }
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

/// The live article at `slug` as `reader` may see it. The lookup may come
/// from the read cache; the decision is made afresh every time.
pub async fn article(state: &AppState, reader: &Reader, slug: String) -> anyhow::Result<Lookup> {
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
    Ok(match state.read_cache.article(&slug, load).await? {
        AtSlug::Live(article) => Lookup::Found(Box::new(ReadableArticle::decide(article, reader, state))),
        AtSlug::Moved(new_slug) => Lookup::Moved(new_slug),
        AtSlug::Missing => Lookup::Missing,
    })
}

/// A page of live articles, newest first, as `reader` may see them.
pub async fn latest(state: &AppState, reader: &Reader, page: Page) -> anyhow::Result<Vec<ReadableArticle>> {
    let found = db::run(&state.pool, move |conn| {
        Ok(articles::list_live(
            conn,
            db::now(),
            page.per_page,
            page.offset(),
        )?)
    })
    .await?;
    Ok(found
        .into_iter()
        .map(|article| ReadableArticle::decide(Arc::new(article), reader, state))
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
