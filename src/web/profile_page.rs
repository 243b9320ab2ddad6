//! `/admin/profile`: a staff member's own author profile as a form (name,
//! page address, bio, avatar). The same service as
//! `PATCH /admin/api/authors/{id}`.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, post, web};
use serde::Deserialize;

use crate::web::{csrf::CsrfForm, error::PageResult, extract::SiteStaff, pages, views::AdminProfilePage};
use crate::{
    domain::{InvalidInput, author, slug::Slug},
    publishing::{
        PublishingError,
        authors::{self, ProfileEdit},
    },
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(save);
}

#[derive(Deserialize, Default)]
struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    bio: String,
    #[serde(default)]
    avatar_url: String,
}

impl ProfileForm {
    fn parse(&self) -> Result<ProfileEdit, InvalidInput> {
        let optional = |raw: &str, check: fn(&str) -> Result<String, InvalidInput>| match raw.trim() {
            "" => Ok(None),
            text => check(text).map(Some),
        };
        Ok(ProfileEdit {
            name: Some(author::name(&self.name)?),
            slug: Some(Slug::parse(self.slug.trim())?),
            bio: Some(optional(&self.bio, author::bio)?),
            avatar_url: Some(optional(&self.avatar_url, author::avatar_url)?),
        })
    }
}

async fn page(
    req: &HttpRequest,
    staff: &SiteStaff,
    form: ProfileForm,
    error: Option<String>,
) -> AdminProfilePage {
    AdminProfilePage {
        layout: pages::layout(req, &staff.reader).await,
        name: form.name,
        slug: form.slug,
        bio: form.bio,
        avatar_url: form.avatar_url,
        error,
    }
}

#[get("/admin/profile")]
async fn show(req: HttpRequest, state: web::Data<AppState>, staff: SiteStaff) -> PageResult<HttpResponse> {
    let profile = authors::get(&state, staff.actor, staff.actor.user_id)
        .await
        .map_err(crate::web::error::Problem::from)?;
    let form = ProfileForm {
        name: profile.name.unwrap_or_default(),
        slug: profile.slug,
        bio: profile.bio.unwrap_or_default(),
        avatar_url: profile.avatar_url.unwrap_or_default(),
    };
    Ok(pages::render(
        &req,
        StatusCode::OK,
        &page(&req, &staff, form, None).await,
    )?)
}

#[post("/admin/profile")]
async fn save(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> PageResult<HttpResponse> {
    let edit = match form.parse() {
        Ok(edit) => edit,
        Err(invalid) => return refused(&req, &staff, form, invalid.message).await,
    };
    match authors::update(&state, staff.actor, staff.actor.user_id, edit).await {
        Ok(profile) => Ok(pages::redirect_with_flash(
            "/admin/profile",
            &format!("Saved. Your page is /author/{}.", profile.slug),
        )),
        Err(PublishingError::Internal(e)) => Err(e.into()),
        Err(e) => refused(&req, &staff, form, e.to_string()).await,
    }
}

/// The form again, as typed, with why it was refused.
async fn refused(
    req: &HttpRequest,
    staff: &SiteStaff,
    form: ProfileForm,
    message: String,
) -> PageResult<HttpResponse> {
    let page = page(req, staff, form, Some(message)).await;
    Ok(pages::render(req, StatusCode::UNPROCESSABLE_ENTITY, &page)?)
}
