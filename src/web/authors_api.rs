//! Author profiles in the admin API: `/admin/api/authors`. Staff list them
//! (to fill bylines) and edit their own; admins edit anyone's. Bylines are
//! set on articles (`authors`, by these slugs).

use actix_web::{get, patch, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::web::error::{ApiResult, ErrorBody, Problem};
use crate::{
    db::authors::AuthorProfile,
    domain::{InvalidInput, author, slug::Slug},
    publishing::authors::{self, ProfileEdit},
    state::AppState,
    web::extract::ApiStaff,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_authors)
        .service(get_author)
        .service(patch_author);
}

/// A staff member as readers meet them.
#[derive(Serialize, ToSchema)]
pub struct AuthorProfileJson {
    /// The staff member's user id.
    id: i32,
    name: Option<String>,
    slug: String,
    bio: Option<String>,
    avatar_url: Option<String>,
    /// Their page on the site.
    url: String,
}

impl AuthorProfileJson {
    fn new(profile: AuthorProfile, state: &AppState) -> Self {
        Self {
            url: state.config.url_for(&format!("/author/{}", profile.slug)),
            id: profile.user_id,
            name: profile.name,
            slug: profile.slug,
            bio: profile.bio,
            avatar_url: profile.avatar_url,
        }
    }
}

/// Every staff member's profile, by name.
#[utoipa::path(get, path = "/admin/api/authors",
    responses((status = 200, body = Vec<AuthorProfileJson>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/authors")]
async fn list_authors(
    state: web::Data<AppState>,
    staff: ApiStaff,
) -> ApiResult<web::Json<Vec<AuthorProfileJson>>> {
    let all = authors::list(&state, staff.actor).await?;
    Ok(web::Json(
        all.into_iter()
            .map(|p| AuthorProfileJson::new(p, &state))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/admin/api/authors/{id}", params(("id" = i32, Path)),
    responses((status = 200, body = AuthorProfileJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/authors/{id}")]
async fn get_author(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<web::Json<AuthorProfileJson>> {
    let id = super::path_id(&id, "author")?;
    let profile = authors::get(&state, staff.actor, id).await?;
    Ok(web::Json(AuthorProfileJson::new(profile, &state)))
}

/// The body of `PATCH /admin/api/authors/{id}`: only the fields sent
/// change; `null` removes the bio or the avatar.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchAuthor {
    /// 1 to 100 characters, one line.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    name: Option<String>,
    /// Their page's address: `/author/{slug}`.
    #[schema(max_length = 100, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    slug: Option<String>,
    /// Plain text, at most 1,000 characters; paragraphs split by a blank line.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<String>, max_length = 1000, pattern = r"^[^\x00-\x09\x0B\x0C\x0E-\x1F\x7F-\x9F]*$")]
    bio: Option<Option<String>>,
    /// A path on this site (`/media/…`) or an `https://` address.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(
        value_type = Option<String>,
        max_length = 2000,
        pattern = r"^/([^/\\\s\x00-\x1F\x7F-\x9F][^\s\x00-\x1F\x7F-\x9F]*)?$|^https://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*(/[^\s\x00-\x1F\x7F-\x9F]*)?$"
    )]
    avatar_url: Option<Option<String>>,
}

impl TryFrom<PatchAuthor> for ProfileEdit {
    type Error = InvalidInput;

    fn try_from(body: PatchAuthor) -> Result<Self, InvalidInput> {
        let optional = |raw: Option<Option<String>>, check: fn(&str) -> Result<String, InvalidInput>| {
            raw.map(|value| value.as_deref().map(check).transpose())
                .transpose()
        };
        Ok(ProfileEdit {
            name: body.name.as_deref().map(author::name).transpose()?,
            slug: body.slug.as_deref().map(Slug::parse).transpose()?,
            bio: optional(body.bio, author::bio)?,
            avatar_url: optional(body.avatar_url, author::avatar_url)?,
        })
    }
}

/// Edits a profile: one's own, or anyone's for an admin.
#[utoipa::path(patch, path = "/admin/api/authors/{id}", params(("id" = i32, Path)), request_body = PatchAuthor,
    responses((status = 200, body = AuthorProfileJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[patch("/authors/{id}")]
async fn patch_author(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Json<super::JsonObject<PatchAuthor>>,
) -> ApiResult<web::Json<AuthorProfileJson>> {
    let id = super::path_id(&id, "author")?;
    let edit = ProfileEdit::try_from(body.into_inner().0).map_err(Problem::from)?;
    let profile = authors::update(&state, staff.actor, id, edit).await?;
    Ok(web::Json(AuthorProfileJson::new(profile, &state)))
}
