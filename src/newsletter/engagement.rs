//! What recipients do with a newsletter: following a tracked link and
//! loading the open pixel. Tokens are checked before any query, so a made-up
//! one costs a MAC; a click only ever leads to an address its send recorded.

use crate::{
    db::{
        self, articles,
        engagement::{self, ClickTarget, LinkClicks, Moment, SendEngagement},
        sends,
    },
    domain::editorial::Actor,
    security::signed,
    state::AppState,
};

use super::Progress;

/// Where a click token leads (recording the recipient's first click on that
/// link); `None` for a token this server did not make or a link no send
/// recorded. A failed write still lets the reader through.
pub async fn follow_click(state: &AppState, token: &str) -> anyhow::Result<Option<ClickTarget>> {
    let Some((delivery_id, link)) = signed::parse_click_token(&state.signing_key, token) else {
        return Ok(None);
    };
    db::run(&state.pool, move |conn| {
        let Some(target) = engagement::click_target(conn, delivery_id, link)? else {
            return Ok(None);
        };
        if let Err(e) = engagement::record_click(conn, delivery_id, target.link_id, db::now()) {
            tracing::warn!(error = %e, delivery_id, "recording a click failed");
        }
        Ok(Some(target))
    })
    .await
}

/// Records the first open of the delivery an open token names; false for a
/// token this server did not make.
pub async fn record_open(state: &AppState, token: &str) -> anyhow::Result<bool> {
    let Some(delivery_id) = signed::parse_open_token(&state.signing_key, token) else {
        return Ok(false);
    };
    db::run(&state.pool, move |conn| {
        if let Some(user_id) = engagement::recipient_of(conn, delivery_id)? {
            engagement::record_first(conn, delivery_id, user_id, Moment::Opened, db::now())?;
        }
        Ok(true)
    })
    .await
}

/// An article's figures, as its stats page and API show them.
pub struct ArticleStats {
    pub article_id: i32,
    /// `None` when it was never emailed.
    pub email: Option<EmailStats>,
    /// Page views per day (UTC), oldest first, as stored so far.
    pub views: Vec<(time::Date, i64)>,
    /// The members its page and its newsletter brought.
    pub attribution: db::attributions::PostAttribution,
}

pub struct EmailStats {
    pub progress: Progress,
    pub engagement: SendEngagement,
    /// Whether opens were being counted (`BROADSHEET_TRACK_OPENS`).
    pub opens_tracked: bool,
    pub links: Vec<LinkClicks>,
}

/// The figures of article `article_id` for `actor` (editors and admins see
/// every article's, authors their own); `None` when there is no such
/// article or the actor may not see it.
pub async fn article_stats(
    state: &AppState,
    actor: Actor,
    article_id: i32,
) -> anyhow::Result<Option<ArticleStats>> {
    let opens_tracked = state.config.track_opens;
    db::run(&state.pool, move |conn| {
        let Some(article) = articles::find(conn, article_id)? else {
            return Ok(None);
        };
        if !actor.may_view(article.row.author_id) {
            return Ok(None);
        }
        let email = match sends::find_by_article(conn, article_id)? {
            None => None,
            Some(send) => Some(EmailStats {
                engagement: engagement::send_engagement(conn, send.id)?,
                links: engagement::clicks_per_link(conn, send.id)?,
                progress: Progress::of(conn, send)?,
                opens_tracked,
            }),
        };
        let views = db::page_views::of_article(conn, article_id)?;
        let attribution = db::attributions::of_article(conn, article_id)?;
        Ok(Some(ArticleStats {
            article_id,
            email,
            views,
            attribution,
        }))
    })
    .await
}
