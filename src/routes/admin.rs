//! The editors' JSON API under `/admin/api`, authenticated by API key.

use actix_web::{HttpResponse, http::header, post, web};
use serde::{Deserialize, Serialize};

use super::error::{ApiResult, Problem};
use crate::{
    auth::ApiEditor,
    db::articles::Article,
    domain::{
        InvalidInput,
        article::{ArticleMarkdown, ArticleTitle, EmailSegment, Visibility},
        slug::Slug,
        time::{parse_rfc3339, rfc3339},
    },
    publishing::{self, ArticleDraft, CreateError},
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_article);
}

/// The body of `POST /admin/api/articles`, as sent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateArticleBody {
    title: String,
    markdown: String,
    visibility: Visibility,
    slug: Option<String>,
    #[serde(default)]
    publish: bool,
    publish_at: Option<String>,
    email: Option<EmailSegment>,
}

impl TryFrom<CreateArticleBody> for ArticleDraft {
    type Error = InvalidInput;

    fn try_from(body: CreateArticleBody) -> Result<Self, InvalidInput> {
        Ok(ArticleDraft {
            title: ArticleTitle::parse(&body.title)?,
            markdown: ArticleMarkdown::parse(body.markdown)?,
            visibility: body.visibility,
            slug: body.slug.as_deref().map(Slug::parse).transpose()?,
            publish: body.publish,
            publish_at: body
                .publish_at
                .as_deref()
                .map(|t| parse_rfc3339(t, "publish_at"))
                .transpose()?,
            email: body.email.unwrap_or(EmailSegment::None),
        })
    }
}

/// An article as the admin API answers it.
#[derive(Serialize)]
struct AdminArticleJson {
    id: i32,
    slug: String,
    title: String,
    author: String,
    author_id: i32,
    status: String,
    visibility: String,
    email: String,
    markdown: String,
    url: String,
    created_at: String,
    updated_at: String,
    publish_at: Option<String>,
    published_at: Option<String>,
}

impl AdminArticleJson {
    fn new(article: Article, state: &AppState) -> Self {
        let author = article.author().to_owned();
        let row = article.row;
        Self {
            url: state.config.url_for(&format!("/p/{}", row.slug)),
            id: row.id,
            slug: row.slug,
            title: row.title,
            author,
            author_id: row.author_id,
            status: row.status,
            visibility: row.visibility,
            email: row.email,
            markdown: row.body_markdown,
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
            publish_at: row.publish_at.map(rfc3339),
            published_at: row.published_at.map(rfc3339),
        }
    }
}

#[post("/articles")]
async fn create_article(
    state: web::Data<AppState>,
    ApiEditor(editor): ApiEditor,
    body: web::Json<CreateArticleBody>,
) -> ApiResult<HttpResponse> {
    let draft = ArticleDraft::try_from(body.into_inner())?;
    let article = publishing::create_article(&state, &editor, draft)
        .await
        .map_err(|e| match e {
            CreateError::SlugTaken(slug) => Problem::conflict(
                "slug",
                format!("The slug {slug:?} is already used by another article."),
            ),
            CreateError::Internal(e) => Problem::internal(e),
        })?;
    let json = AdminArticleJson::new(article, &state);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/admin/api/articles/{}", json.id)))
        .json(json))
}
