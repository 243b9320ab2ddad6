//! Tags in the admin API: `/admin/api/tags`. Staff list them with their
//! counts; editors rename them (the old slug keeps answering). Tags are
//! made and given through the articles API.

use actix_web::{get, patch, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::web::error::{ApiResult, ErrorBody, Problem};
use crate::{
    db::tags::Tag, domain::tags::TagName, publishing::tags, state::AppState, web::extract::ApiStaff,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_tags).service(rename_tag);
}

/// A tag and how many posts carry it (drafts included).
#[derive(Serialize, ToSchema)]
pub struct TagSummary {
    id: i32,
    slug: String,
    name: String,
    posts: i64,
    /// Its page on the site.
    url: String,
}

impl TagSummary {
    fn new((tag, posts): (Tag, i64), state: &AppState) -> Self {
        Self {
            url: state.config.url_for(&format!("/tag/{}", tag.slug)),
            id: tag.id,
            slug: tag.slug,
            name: tag.name,
            posts,
        }
    }
}

#[utoipa::path(get, path = "/admin/api/tags",
    responses((status = 200, body = Vec<TagSummary>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/tags")]
async fn list_tags(state: web::Data<AppState>, staff: ApiStaff) -> ApiResult<web::Json<Vec<TagSummary>>> {
    let all = tags::list(&state, staff.actor).await?;
    Ok(web::Json(
        all.into_iter().map(|t| TagSummary::new(t, &state)).collect(),
    ))
}

/// The body of `PATCH /admin/api/tags/{id}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RenameTag {
    /// 1 to 50 characters, with a letter or a digit; the slug follows.
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    name: String,
}

/// Renames a tag (editors and admins); the old `/tag/{slug}` answers 301.
#[utoipa::path(patch, path = "/admin/api/tags/{id}", params(("id" = i32, Path)), request_body = RenameTag,
    responses((status = 200, body = TagSummary), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[patch("/tags/{id}")]
async fn rename_tag(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Json<RenameTag>,
) -> ApiResult<web::Json<TagSummary>> {
    let id = super::path_id(&id, "tag")?;
    let to = TagName::parse(&body.name).map_err(|e| Problem::from(e).on_field("name"))?;
    let renamed = tags::rename(&state, staff.actor, id, to).await?;
    Ok(web::Json(TagSummary::new(renamed, &state)))
}
