//! Newsletters in the admin API: `/admin/api/newsletters`. Staff read them;
//! admins make and change them. There is no DELETE: a newsletter is
//! archived (sends name the newsletter they went through).

use actix_web::{HttpResponse, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::web::error::{ApiResult, ErrorBody, Problem};
use crate::{
    domain::{
        InvalidInput, Whole,
        newsletters::{self, NewsletterVisibility},
        time::rfc3339,
    },
    members::newsletters::{self as lists, NewsletterDraft, NewsletterEdit, NewsletterSummary},
    state::AppState,
    web::extract::ApiStaff,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_newsletters)
        .service(create_newsletter)
        .service(get_newsletter)
        .service(patch_newsletter);
}

/// A newsletter as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct NewsletterJson {
    id: i32,
    slug: String,
    name: String,
    description: String,
    /// The From name for this newsletter; `null`: the publication's.
    sender_name: Option<String>,
    visibility: NewsletterVisibility,
    /// New members join it unless they choose otherwise.
    subscribe_on_signup: bool,
    /// Where it sits in lists (lowest first); the first one running is
    /// where posts go when they name none.
    position: i32,
    archived: bool,
    /// Members who receive it.
    subscribers: i64,
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<NewsletterSummary> for NewsletterJson {
    fn from(summary: NewsletterSummary) -> Self {
        let n = summary.newsletter;
        Self {
            id: n.id,
            slug: n.slug,
            name: n.name,
            description: n.description,
            sender_name: n.sender_name,
            visibility: n.visibility,
            subscribe_on_signup: n.subscribe_on_signup,
            position: n.position,
            archived: n.archived,
            subscribers: summary.subscribers,
            created_at: rfc3339(n.created_at),
        }
    }
}

/// The body of `POST /admin/api/newsletters`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNewsletterBody {
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$",
        example = "The Weekly"
    )]
    name: String,
    /// Made from the name when left out.
    #[schema(max_length = 100, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    slug: Option<String>,
    #[schema(max_length = 300, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    description: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    sender_name: Option<String>,
    /// Default `public`.
    visibility: Option<NewsletterVisibility>,
    /// Default true.
    subscribe_on_signup: Option<bool>,
    /// Default 0.
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 10000)]
    position: Option<Whole<i32>>,
}

fn position(raw: Option<Whole<i32>>) -> Result<Option<i32>, InvalidInput> {
    match raw {
        None => Ok(None),
        Some(Whole(n)) if (0..=10_000).contains(&n) => Ok(Some(n)),
        Some(_) => Err(InvalidInput::new("position", "position must be 0 to 10000")),
    }
}

impl TryFrom<CreateNewsletterBody> for NewsletterDraft {
    type Error = InvalidInput;

    fn try_from(body: CreateNewsletterBody) -> Result<Self, InvalidInput> {
        let name = newsletters::newsletter_name(&body.name)?;
        let slug = match body.slug.as_deref() {
            Some(slug) => newsletters::newsletter_slug(slug)?,
            None => crate::domain::slug::Slug::from_title(&name),
        };
        Ok(NewsletterDraft {
            slug,
            description: newsletters::newsletter_description(body.description.as_deref().unwrap_or(""))?,
            sender_name: body
                .sender_name
                .as_deref()
                .map(newsletters::sender_name)
                .transpose()?,
            visibility: body.visibility.unwrap_or(NewsletterVisibility::Public),
            subscribe_on_signup: body.subscribe_on_signup.unwrap_or(true),
            position: position(body.position)?.unwrap_or(0),
            name,
        })
    }
}

/// The body of `PATCH /admin/api/newsletters/{id}`; a field left out stays.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchNewsletterBody {
    #[schema(
        min_length = 1,
        max_length = 60,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    name: Option<String>,
    #[schema(max_length = 100, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    slug: Option<String>,
    #[schema(max_length = 300, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    description: Option<String>,
    /// `null`: the publication's sender name.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    sender_name: Option<Option<String>>,
    visibility: Option<NewsletterVisibility>,
    subscribe_on_signup: Option<bool>,
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 10000)]
    position: Option<Whole<i32>>,
    /// An archived newsletter sends nothing and is offered to nobody; its
    /// subscribers are kept in case it comes back.
    archived: Option<bool>,
}

impl TryFrom<PatchNewsletterBody> for NewsletterEdit {
    type Error = InvalidInput;

    fn try_from(body: PatchNewsletterBody) -> Result<Self, InvalidInput> {
        Ok(NewsletterEdit {
            name: body
                .name
                .as_deref()
                .map(newsletters::newsletter_name)
                .transpose()?,
            slug: body
                .slug
                .as_deref()
                .map(newsletters::newsletter_slug)
                .transpose()?,
            description: body
                .description
                .as_deref()
                .map(newsletters::newsletter_description)
                .transpose()?,
            sender_name: body
                .sender_name
                .map(|name| name.as_deref().map(newsletters::sender_name).transpose())
                .transpose()?,
            visibility: body.visibility,
            subscribe_on_signup: body.subscribe_on_signup,
            position: position(body.position)?,
            archived: body.archived,
        })
    }
}

fn newsletter_id(raw: &str) -> Result<i32, Problem> {
    super::path_id(raw, "newsletter")
}

/// Every newsletter, in order (archived ones last). Any staff member.
#[utoipa::path(get, path = "/admin/api/newsletters",
    responses((status = 200, body = Vec<NewsletterJson>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/newsletters")]
async fn list_newsletters(
    state: web::Data<AppState>,
    staff: ApiStaff,
) -> ApiResult<web::Json<Vec<NewsletterJson>>> {
    let list = lists::list(&state, staff.actor).await?;
    Ok(web::Json(list.into_iter().map(NewsletterJson::from).collect()))
}

/// Makes a newsletter. Admins only.
#[utoipa::path(post, path = "/admin/api/newsletters", request_body = CreateNewsletterBody,
    responses((status = 201, body = NewsletterJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/newsletters")]
async fn create_newsletter(
    state: web::Data<AppState>,
    staff: ApiStaff,
    body: web::Json<CreateNewsletterBody>,
) -> ApiResult<HttpResponse> {
    let draft = NewsletterDraft::try_from(body.into_inner()).map_err(Problem::from)?;
    let created = lists::create(&state, staff.actor, draft).await?;
    Ok(HttpResponse::Created().json(NewsletterJson::from(created)))
}

#[utoipa::path(get, path = "/admin/api/newsletters/{id}", params(("id" = i32, Path)),
    responses((status = 200, body = NewsletterJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/newsletters/{id}")]
async fn get_newsletter(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<web::Json<NewsletterJson>> {
    let found = lists::get(&state, staff.actor, newsletter_id(&id)?).await?;
    Ok(web::Json(found.into()))
}

/// Changes or archives a newsletter (the last one running cannot be
/// archived: 409). Admins only.
#[utoipa::path(patch, path = "/admin/api/newsletters/{id}", params(("id" = i32, Path)), request_body = PatchNewsletterBody,
    responses((status = 200, body = NewsletterJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[patch("/newsletters/{id}")]
async fn patch_newsletter(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Json<PatchNewsletterBody>,
) -> ApiResult<web::Json<NewsletterJson>> {
    let id = newsletter_id(&id)?;
    let edit = NewsletterEdit::try_from(body.into_inner()).map_err(Problem::from)?;
    let updated = lists::update(&state, staff.actor, id, edit).await?;
    Ok(web::Json(updated.into()))
}
