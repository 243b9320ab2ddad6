//! `/admin/settings`: the publication's settings as a form. Editors see
//! them; admins change them. The same service as `PATCH /admin/api/settings`.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, post, web};
use serde::Deserialize;

use crate::web::{
    csrf::CsrfForm,
    error::{PageResult, Problem},
    extract::SiteStaff,
    pages,
    views::{AdminSettingsPage, SettingsFormView},
};
use crate::{
    accounts::welcome::{self, Welcome},
    domain::{
        InvalidInput,
        settings::{NavLink, Origin, SettingsPatch, SiteSettings, WelcomeEmail},
    },
    publication::{self, SettingsError},
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(save).service(welcome_test);
}

/// The form as posted: lists are one entry per line.
#[derive(Deserialize)]
pub struct SettingsForm {
    title: String,
    description: String,
    accent_color: String,
    logo_url: String,
    icon_url: String,
    sender_name: String,
    footer: String,
    /// `Label | URL` per line.
    navigation: String,
    locale: String,
    timezone: String,
    copyright: String,
    /// One origin per line.
    embed_origins: String,
    /// A checkbox: present when ticked.
    subscribe_asks_name: Option<String>,
    /// The welcome emails: a form without them (a page loaded before they
    /// existed) leaves them as they are.
    welcome_free_enabled: Option<String>,
    welcome_free_subject: Option<String>,
    welcome_free_markdown: Option<String>,
    welcome_paid_enabled: Option<String>,
    welcome_paid_subject: Option<String>,
    welcome_paid_markdown: Option<String>,
    /// Absent from a page loaded before it existed: left as it is.
    postal_address: Option<String>,
}

impl SettingsForm {
    fn to_patch(&self) -> Result<SettingsPatch, InvalidInput> {
        let navigation = lines(&self.navigation)
            .map(|line| {
                let (label, url) = line.split_once('|').ok_or_else(|| {
                    InvalidInput::new(
                        "navigation",
                        format!("write each link as Label | URL (not {line:?})"),
                    )
                })?;
                Ok(NavLink {
                    label: label.trim().to_owned(),
                    url: url.trim().to_owned(),
                })
            })
            .collect::<Result<Vec<_>, InvalidInput>>()?;
        Ok(SettingsPatch {
            title: Some(self.title.clone()),
            description: Some(self.description.clone()),
            accent_color: Some(self.accent_color.clone()),
            logo_url: Some(Some(self.logo_url.clone())),
            icon_url: Some(Some(self.icon_url.clone())),
            sender_name: Some(self.sender_name.clone()),
            footer: Some(self.footer.clone()),
            navigation: Some(navigation),
            locale: Some(self.locale.clone()),
            timezone: Some(self.timezone.clone()),
            copyright: Some(self.copyright.clone()),
            embed_origins: Some(lines(&self.embed_origins).map(|o| Origin(o.to_owned())).collect()),
            subscribe_asks_name: Some(self.subscribe_asks_name.is_some()),
            welcome_free: self.welcome_free(),
            welcome_paid: self.welcome_paid(),
            postal_address: self.postal_address.clone(),
        })
    }

    fn welcome_free(&self) -> Option<WelcomeEmail> {
        welcome(
            &self.welcome_free_enabled,
            &self.welcome_free_subject,
            &self.welcome_free_markdown,
        )
    }

    fn welcome_paid(&self) -> Option<WelcomeEmail> {
        welcome(
            &self.welcome_paid_enabled,
            &self.welcome_paid_subject,
            &self.welcome_paid_markdown,
        )
    }

    fn view(&self) -> SettingsFormView {
        SettingsFormView {
            title: self.title.clone(),
            description: self.description.clone(),
            accent_color: self.accent_color.clone(),
            logo_url: self.logo_url.clone(),
            icon_url: self.icon_url.clone(),
            sender_name: self.sender_name.clone(),
            footer: self.footer.clone(),
            navigation: self.navigation.clone(),
            locale: self.locale.clone(),
            timezone: self.timezone.clone(),
            copyright: self.copyright.clone(),
            embed_origins: self.embed_origins.clone(),
            subscribe_asks_name: self.subscribe_asks_name.is_some(),
            welcome_free: self.welcome_free().unwrap_or_else(WelcomeEmail::default_free),
            welcome_paid: self.welcome_paid().unwrap_or_else(WelcomeEmail::default_paid),
            postal_address: self.postal_address.clone().unwrap_or_default(),
        }
    }
}

/// A welcome email from its three fields, when the form had them.
fn welcome(
    enabled: &Option<String>,
    subject: &Option<String>,
    markdown: &Option<String>,
) -> Option<WelcomeEmail> {
    Some(WelcomeEmail {
        enabled: enabled.is_some(),
        subject: subject.clone()?,
        markdown: markdown.clone()?,
    })
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|line| !line.is_empty())
}

impl From<&SiteSettings> for SettingsFormView {
    fn from(s: &SiteSettings) -> Self {
        Self {
            title: s.title.clone(),
            description: s.description.clone(),
            accent_color: s.accent_color.clone(),
            logo_url: s.logo_url.clone().unwrap_or_default(),
            icon_url: s.icon_url.clone().unwrap_or_default(),
            sender_name: s.sender_name.clone(),
            footer: s.footer.clone(),
            navigation: s
                .navigation
                .iter()
                .map(|link| format!("{} | {}", link.label, link.url))
                .collect::<Vec<_>>()
                .join("\n"),
            locale: s.locale.clone(),
            timezone: s.timezone.clone(),
            copyright: s.copyright.clone(),
            embed_origins: s.embed_origins.join("\n"),
            subscribe_asks_name: s.subscribe_asks_name,
            welcome_free: s.welcome_free.clone(),
            welcome_paid: s.welcome_paid.clone(),
            postal_address: s.postal_address.clone(),
        }
    }
}

impl From<SettingsError> for Problem {
    fn from(e: SettingsError) -> Self {
        match e {
            SettingsError::Forbidden(message) => Problem::forbidden(message),
            SettingsError::Invalid(invalid) => Problem::from(invalid),
            SettingsError::Internal(e) => Problem::internal(e),
        }
    }
}

async fn page(
    req: &HttpRequest,
    state: &AppState,
    staff: &SiteStaff,
    status: StatusCode,
    form: SettingsFormView,
    error: Option<InvalidInput>,
) -> PageResult<HttpResponse> {
    let page = AdminSettingsPage {
        layout: pages::layout(req, &staff.reader).await,
        may_change: staff.actor.role.can_change_settings(),
        form,
        error_field: error.as_ref().map_or("", |e| e.field),
        error: error.map(|e| e.message),
        embed_snippet: format!(
            "<iframe src=\"{}\" title=\"Subscribe\" width=\"100%\" height=\"160\" style=\"border:0\" loading=\"lazy\"></iframe>",
            state.config.url_for("/embed/subscribe")
        ),
    };
    Ok(pages::render(req, status, &page)?)
}

#[get("/admin/settings")]
async fn show(req: HttpRequest, state: web::Data<AppState>, staff: SiteStaff) -> PageResult<HttpResponse> {
    let settings = publication::read(&state, staff.actor)
        .await
        .map_err(Problem::from)?;
    page(&req, &state, &staff, StatusCode::OK, (&settings).into(), None).await
}

#[post("/admin/settings")]
async fn save(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> PageResult<HttpResponse> {
    let refused = |invalid: InvalidInput| {
        page(
            &req,
            &state,
            &staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            form.view(),
            Some(invalid),
        )
    };
    let patch = match form.to_patch() {
        Ok(patch) => patch,
        Err(invalid) => return refused(invalid).await,
    };
    match publication::update(&state, staff.actor, patch).await {
        Ok(_) => Ok(pages::redirect_with_flash("/admin/settings", "Settings saved.")),
        Err(SettingsError::Invalid(invalid)) => refused(invalid).await,
        Err(other) => Err(Problem::from(other).into()),
    }
}

#[derive(Deserialize)]
struct WelcomeTestQuery {
    which: String,
}

/// "Send me a test": the saved welcome email to the admin's own address,
/// marked as a test (the button sits in the settings form, whose fields are
/// not saved by it).
#[post("/admin/settings/welcome-test")]
async fn welcome_test(
    state: web::Data<AppState>,
    staff: SiteStaff,
    query: web::Query<WelcomeTestQuery>,
    CsrfForm(_): CsrfForm<serde::de::IgnoredAny>,
) -> PageResult<HttpResponse> {
    if !staff.actor.role.can_change_settings() {
        return Err(Problem::forbidden("Only admins send test emails.").into());
    }
    let which = Welcome::parse(&query.which).ok_or_else(|| {
        Problem::from(InvalidInput::new(
            "which",
            "which must be welcome_free or welcome_paid",
        ))
    })?;
    let to = staff
        .reader
        .user
        .as_ref()
        .map(|user| user.email.clone())
        .ok_or_else(|| Problem::forbidden("Sign in to send a test."))?;
    welcome::send_test(&state, to.clone(), which).await?;
    let flash = format!(
        "A test of the welcome email is on its way to {to}. Unsaved changes were not sent: save first."
    );
    Ok(pages::redirect_with_flash("/admin/settings", &flash))
}
