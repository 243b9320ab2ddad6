//! Creating articles: render the markdown once, sanitize, split the preview,
//! pick a free slug, and set the status from the publishing choice.

use time::PrimitiveDateTime;

use crate::{
    db::{
        self,
        articles::{Article, InsertArticleError, NewArticle},
        users::User,
    },
    domain::{
        article::{ArticleMarkdown, ArticleStatus, ArticleTitle, EmailSegment, Visibility},
        markdown,
        slug::Slug,
    },
    state::AppState,
};

/// A new article, already validated.
#[derive(Debug)]
pub struct ArticleDraft {
    pub title: ArticleTitle,
    pub markdown: ArticleMarkdown,
    pub visibility: Visibility,
    /// Chosen by the editor; otherwise made from the title.
    pub slug: Option<Slug>,
    pub publish: bool,
    pub publish_at: Option<PrimitiveDateTime>,
    pub email: EmailSegment,
}

/// Where a new article stands: a future `publish_at` schedules it, a past
/// one backdates it, `publish` alone publishes now.
fn status_of(draft: &ArticleDraft, now: PrimitiveDateTime) -> (ArticleStatus, Option<PrimitiveDateTime>) {
    match (draft.publish, draft.publish_at) {
        (_, Some(at)) if at > now => (ArticleStatus::Scheduled, Some(at)),
        (_, Some(at)) => (ArticleStatus::Published, Some(at)),
        (true, None) => (ArticleStatus::Published, Some(now)),
        (false, None) => (ArticleStatus::Draft, None),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("the slug {0:?} is already used by another article")]
    SlugTaken(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[tracing::instrument(skip_all, fields(author_id = author.id))]
pub async fn create_article(
    state: &AppState,
    author: &User,
    draft: ArticleDraft,
) -> Result<Article, CreateError> {
    let preview_chars = state.config.preview_chars;
    let author_id = author.id;
    let article = db::run(&state.pool, move |conn| {
        let rendered = markdown::render(draft.markdown.as_str(), preview_chars);
        let now = db::now();
        let (status, published_at) = status_of(&draft, now);
        let slug_was_chosen = draft.slug.is_some();
        let slug = draft
            .slug
            .clone()
            .unwrap_or_else(|| Slug::from_title(draft.title.as_str()));
        let new = NewArticle {
            slug: slug.as_str(),
            title: draft.title.as_str(),
            author_id,
            body_markdown: draft.markdown.as_str(),
            body_html: &rendered.body_html,
            preview_html: &rendered.preview_html,
            excerpt: &rendered.excerpt,
            visibility: draft.visibility.as_str(),
            status: status.as_str(),
            email: draft.email.as_str(),
            publish_at: draft.publish_at,
            published_at,
            created_at: now,
            updated_at: now,
        };
        Ok(new.insert(conn, slug_was_chosen))
    })
    .await?;
    match article {
        Ok(article) => {
            tracing::info!(article_id = article.row.id, slug = %article.row.slug, status = %article.row.status, "article created");
            Ok(article)
        }
        Err(InsertArticleError::SlugTaken(slug)) => Err(CreateError::SlugTaken(slug)),
        Err(InsertArticleError::Database(e)) => Err(CreateError::Internal(
            anyhow::Error::new(e).context("inserting an article"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::{Duration, macros::datetime};

    fn draft(publish: bool, publish_at: Option<PrimitiveDateTime>) -> ArticleDraft {
        ArticleDraft {
            title: ArticleTitle::parse("t").unwrap(),
            markdown: ArticleMarkdown::parse("b".into()).unwrap(),
            visibility: Visibility::Public,
            slug: None,
            publish,
            publish_at,
            email: EmailSegment::None,
        }
    }

    #[test]
    fn the_publishing_choice_sets_the_status() {
        let now = datetime!(2026-11-27 12:00);
        let later = now + Duration::hours(1);
        let earlier = now - Duration::hours(1);
        assert_eq!(status_of(&draft(false, None), now), (ArticleStatus::Draft, None));
        assert_eq!(
            status_of(&draft(true, None), now),
            (ArticleStatus::Published, Some(now))
        );
        assert_eq!(
            status_of(&draft(true, Some(later)), now),
            (ArticleStatus::Scheduled, Some(later))
        );
        assert_eq!(
            status_of(&draft(false, Some(earlier)), now),
            (ArticleStatus::Published, Some(earlier))
        );
    }
}
