//! Gift links: a paying subscriber shares one article with anyone. The link
//! is a signed token over a `gift_links` row that holds its expiry, its
//! opens left and whether it was revoked; `access::decide_with` makes the
//! call like for every other read, and an open it grants is spent here.

use std::sync::Arc;

use time::{Duration, PrimitiveDateTime};

use crate::{
    cache::AtSlug,
    db::{self, articles, gifts},
    domain::{
        InvalidInput,
        access::{Banner, Passes, Reader, Standing},
        article::Visibility,
        time::start_of_month,
    },
    reading::{self, ReadableArticle, Who},
    security::signed,
    state::AppState,
};

/// What the gifter may choose: a shorter life or fewer opens than the
/// configured ones, which are the defaults and the limits (the publisher
/// decides how generous a gift may be).
#[derive(Debug, Default, Clone, Copy)]
pub struct GiftRequest {
    pub expires_in_days: Option<i64>,
    pub max_reads: Option<i32>,
}

impl GiftRequest {
    pub fn parse(
        expires_in_days: Option<i64>,
        max_reads: Option<i32>,
        config: &crate::config::Config,
    ) -> Result<Self, InvalidInput> {
        let most_days = config.gift_link_days;
        if let Some(days) = expires_in_days.filter(|d| !(1..=most_days).contains(d)) {
            return Err(InvalidInput::new(
                "expires_in_days",
                format!("expires_in_days must be from 1 to {most_days}, not {days}"),
            ));
        }
        let most_reads = config.gift_link_reads;
        if let Some(reads) = max_reads.filter(|r| !(1..=most_reads).contains(r)) {
            return Err(InvalidInput::new(
                "max_reads",
                format!("max_reads must be from 1 to {most_reads}, not {reads}"),
            ));
        }
        Ok(Self {
            expires_in_days,
            max_reads,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GiftError {
    #[error("log in to gift articles")]
    NotLoggedIn,
    #[error("gift links are for paying subscribers")]
    NotSubscriber,
    #[error("there is no published article with that slug")]
    NoArticle,
    #[error("this article is free to read already: share its address")]
    FreeToRead,
    #[error("you have used your {0} gift links for this month; more next month")]
    QuotaUsed(u32),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A link as its creator sees it.
#[derive(Debug, Clone)]
pub struct GiftView {
    pub id: i32,
    pub url: String,
    pub slug: String,
    pub title: String,
    pub expires_at: PrimitiveDateTime,
    pub reads_left: i32,
    pub revoked: bool,
}

/// Creates a gift link to the live article at `slug` for `who`.
pub async fn create(
    state: &AppState,
    who: Who<'_>,
    slug: &str,
    request: GiftRequest,
) -> Result<GiftView, GiftError> {
    let (Some(user_id), Reader::Member(member)) = (who.user_id, who.reader) else {
        return Err(GiftError::NotLoggedIn);
    };
    let now = db::now();
    if !Standing::of(member, now, &state.policy).is_paying() {
        return Err(GiftError::NotSubscriber);
    }
    let AtSlug::Live(article) = reading::lookup(state, slug.to_owned()).await? else {
        return Err(GiftError::NoArticle);
    };
    // A tier-only article is gifted only by those who may read it.
    if !Standing::for_tiers(member, &article.tiers, now, &state.policy).is_paying() {
        return Err(GiftError::NotSubscriber);
    }
    if article.visibility() == Visibility::Public {
        return Err(GiftError::FreeToRead);
    }
    let config = &state.config;
    let days = request.expires_in_days.unwrap_or(config.gift_link_days);
    let max_reads = request.max_reads.unwrap_or(config.gift_link_reads);
    let quota = config.gift_links_per_month;
    let new_link = gifts::NewGiftLink {
        article_id: article.row.id,
        gifter_id: user_id,
        created_at: now,
        expires_at: now + Duration::days(days),
        max_reads,
    };
    let created = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            // Count and insert as one step per gifter, on every backend.
            db::users::lock_for_update(conn, user_id)?;
            let this_month = gifts::count_created_since(conn, user_id, start_of_month(now))?;
            if this_month >= i64::from(quota) {
                return Ok(None);
            }
            anyhow::Ok(Some(new_link.insert(conn)?))
        })
    })
    .await?
    .ok_or(GiftError::QuotaUsed(quota))?;
    tracing::info!(
        gift_id = created.id,
        user_id,
        article_id = article.row.id,
        "gift link created"
    );
    Ok(view(state, created, &article.row.slug, &article.row.title))
}

fn view(state: &AppState, link: gifts::GiftLink, slug: &str, title: &str) -> GiftView {
    GiftView {
        url: state
            .config
            .url_for(&format!("/g/{}", signed::gift_token(&state.signing_key, link.id))),
        id: link.id,
        slug: slug.to_owned(),
        title: title.to_owned(),
        expires_at: link.expires_at,
        reads_left: link.reads_left(),
        revoked: link.revoked_at.is_some(),
    }
}

/// An article opened through a gift link.
pub struct GiftedArticle {
    /// The gift link's id (sign-ups from its page are attributed to it).
    pub gift_id: i32,
    pub readable: ReadableArticle,
    /// The gifter's name, when they gave one.
    pub gifter: Option<String>,
    /// Why the link no longer opens the article, when it does not.
    pub closed: Option<&'static str>,
}

/// Opens the article behind `token` for `who`. `None` for a token we did not
/// sign, a link that no longer exists, or an article no longer live.
pub async fn open(state: &AppState, who: Who<'_>, token: &str) -> anyhow::Result<Option<GiftedArticle>> {
    let Some(gift_id) = signed::parse_gift_token(&state.signing_key, token) else {
        return Ok(None);
    };
    let now = db::now();
    let found = db::run(&state.pool, move |conn| {
        let Some((link, gifter)) = gifts::find_with_gifter(conn, gift_id)? else {
            return Ok(None);
        };
        let article = articles::find(conn, link.article_id)?.filter(|a| a.is_live(now));
        Ok(article.map(|article| (link, gifter, article)))
    })
    .await?;
    let Some((link, gifter, article)) = found else {
        return Ok(None);
    };
    let article = Arc::new(article);
    let passes = Passes {
        gift: Some(link.pass()),
        meter: None,
    };
    let mut readable = reading::open(state, who, article.clone(), passes).await?;
    if readable.access.banner() == Some(Banner::Gifted) {
        let spent = db::run(&state.pool, move |conn| {
            Ok(gifts::spend_read(conn, gift_id, now)?)
        })
        .await?;
        if !spent {
            // Another open took the last read first.
            readable = reading::open(state, who, article, Passes::default()).await?;
        }
    }
    let closed = (!readable.access.is_full()).then(|| closed_reason(&link, now));
    Ok(Some(GiftedArticle {
        gift_id,
        readable,
        gifter,
        closed,
    }))
}

/// Why a link that showed the teaser did not open the article.
fn closed_reason(link: &gifts::GiftLink, now: PrimitiveDateTime) -> &'static str {
    if link.revoked_at.is_some() {
        "This gift link was withdrawn by the subscriber who shared it."
    } else if now >= link.expires_at {
        "This gift link has expired."
    } else {
        "This gift link has been opened as many times as it allows."
    }
}

/// Revokes a link of `user_id`; `false` when they have no such link.
pub async fn revoke(state: &AppState, user_id: i32, gift_id: i32) -> anyhow::Result<bool> {
    let revoked = db::run(&state.pool, move |conn| {
        Ok(gifts::revoke(conn, gift_id, user_id, db::now())?)
    })
    .await?;
    if revoked {
        tracing::info!(gift_id, user_id, "gift link revoked");
    }
    Ok(revoked)
}

/// The links `user_id` created, newest first.
pub async fn list(state: &AppState, user_id: i32) -> anyhow::Result<Vec<GiftView>> {
    let links = db::run(&state.pool, move |conn| {
        Ok(gifts::list_for_gifter(conn, user_id)?)
    })
    .await?;
    Ok(links
        .into_iter()
        .map(|(link, slug, title)| view(state, link, &slug, &title))
        .collect())
}
