//! Subscribing with an email address only: the form on the home page, under
//! articles, in members-only teasers and in the embeddable frame
//! (`/embed/subscribe`); the confirmation link; and the JSON twin
//! `POST /api/subscribe` for headless sites.
//!
//! The form carries no CSRF token: it uses no cookie and changes nothing for
//! whoever sends it (it only emails the typed address, which anyone could
//! ask for from anywhere), and it must work framed on another site, where
//! browsers withhold our cookies. Bots are slowed instead by the per-client
//! and per-address limits, a honeypot field, and a signed time the form was
//! shown, refused when the form comes back too fast or a day late.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, http::header, post, web};
use serde::{Deserialize, Serialize};

use crate::web::{
    csrf::CsrfForm,
    error::{ApiResult, PageResult, Problem},
    extract::CurrentReader,
    pages,
    views::{ActionPage, EmbedPage, JoinPage, SubscribeFormView},
};
use crate::{
    accounts::subscribe::{self, FreeSubscribe},
    domain::{
        InvalidInput, attribution::Trail, email::EmailAddress, newsletters::SignupChoice,
        settings::Publication, signup_source::SignupSource,
    },
    security::signed::Purpose,
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(join_form)
        .service(join)
        .service(confirm_page)
        .service(confirm)
        .service(embed);
}

pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.service(api_subscribe);
}

/// The same words for every address: new, member, waiting or suppressed.
pub const CHECK_INBOX: &str = "We have emailed you a link. Open it to finish: it may take a minute to arrive (and check the spam folder if it does not).";
const LINK_EXPIRED: &str = "This link has expired or was already used. Subscribe again to get a new one.";
/// A form older than this is shown again rather than taken.
const FORM_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A subscribe form for `source`, stamped with the time it is shown, with
/// the page's trail for attribution.
pub fn form_view(
    state: &AppState,
    site: &Publication,
    source: &SignupSource,
    trail: &Trail,
) -> SubscribeFormView {
    SubscribeFormView {
        source: source.to_string(),
        trail: trail.encode(),
        shown: state
            .signing_key
            .sign(Purpose::FormShown, &now_ms().to_be_bytes()),
        asks_name: site.settings.subscribe_asks_name,
        choices: offered_choices(site),
        embed: false,
        email: String::new(),
        captcha: state.human_check.widget(),
    }
}

/// The newsletters a form lets the reader tick: none when there is only
/// one (signing up is then asking for it).
pub fn offered_choices(site: &Publication) -> Vec<SignupChoice> {
    if site.signup_choices.len() < 2 {
        return Vec::new();
    }
    site.signup_choices.clone()
}

#[derive(Deserialize)]
struct JoinForm {
    #[serde(default)]
    email: String,
    name: Option<String>,
    #[serde(default)]
    source: String,
    /// How the reader reached the form (`domain::attribution::Trail`).
    #[serde(default)]
    trail: String,
    /// Hidden from people (CSS and `aria-hidden`); bots fill it in.
    #[serde(default)]
    website: String,
    #[serde(default)]
    shown: String,
    /// Set by the embedded form: answer in the frame.
    embed: Option<String>,
    /// Set when the form offered newsletters to tick (the ticks are the
    /// repeated `newsletter` fields).
    choosing: Option<String>,
    /// The captcha's answer (Turnstile's or hCaptcha's field).
    #[serde(rename = "cf-turnstile-response")]
    turnstile: Option<String>,
    #[serde(rename = "h-captcha-response")]
    hcaptcha: Option<String>,
}

/// Why a form was not taken.
enum Refusal {
    Invalid(InvalidInput),
    Throttled(u64),
}

impl JoinForm {
    fn parse(&self, state: &AppState, ticked: Vec<i32>) -> Result<FreeSubscribe, InvalidInput> {
        let source = SignupSource::parse(&self.source).unwrap_or(SignupSource::Home);
        let mut request = FreeSubscribe::parse(&self.email, self.name.as_deref(), source)?;
        request.newsletters = subscribe::chosen_newsletters(self.choosing.is_some(), ticked)?;
        request.trail = Trail::decode(&self.trail);
        let shown = state
            .signing_key
            .verify(Purpose::FormShown, &self.shown)
            .and_then(|bytes| bytes.try_into().ok())
            .map(u64::from_be_bytes);
        let elapsed = shown.map(|at| now_ms().saturating_sub(at));
        match elapsed {
            Some(ms)
                if ms >= state.config.subscribe_min_fill_ms && ms <= FORM_LIFETIME.as_millis() as u64 => {}
            _ => {
                return Err(InvalidInput::new(
                    "email",
                    "That was quicker than we expected. Please check your address and press Subscribe again.",
                ));
            }
        }
        Ok(request)
    }
}

#[get("/join")]
async fn join_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
) -> PageResult<HttpResponse> {
    let trail = pages::arrival(&req, &state.config);
    join_page(
        &req,
        &state,
        &reader,
        StatusCode::OK,
        (&SignupSource::Home, &trail),
        None,
        "",
    )
    .await
}

async fn join_page(
    req: &HttpRequest,
    state: &AppState,
    reader: &CurrentReader,
    status: StatusCode,
    form: (&SignupSource, &Trail),
    error: Option<String>,
    email: &str,
) -> PageResult<HttpResponse> {
    let layout = pages::layout(req, reader).await;
    let (source, trail) = form;
    let page = JoinPage {
        form: form_view(state, &layout.site, source, trail),
        layout,
        error,
        email: email.chars().take(EmailAddress::MAX_LEN).collect(),
    };
    Ok(pages::render(req, status, &page)?)
}

#[post("/join")]
async fn join(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    body: web::Bytes,
) -> PageResult<HttpResponse> {
    let (form, ticked) = super::form_with_ticks::<JoinForm>(&body, "newsletter")?;
    let source = SignupSource::parse(&form.source).unwrap_or(SignupSource::Home);
    let outcome = if !form.website.is_empty() {
        // A bot: it hears what a person hears, and nothing is written or sent.
        tracing::info!("subscribe form with the honeypot filled; ignored");
        Ok(())
    } else {
        let client = pages::client_ip(&req, &state);
        let answer = form.turnstile.as_deref().or(form.hcaptcha.as_deref());
        match form.parse(&state, ticked) {
            Ok(request) => match a_person(&state, answer, client).await {
                Ok(()) => subscribe::request(&state, client, request)
                    .map_err(|retry| Refusal::Throttled(retry.seconds())),
                Err(invalid) => Err(Refusal::Invalid(invalid)),
            },
            Err(invalid) => Err(Refusal::Invalid(invalid)),
        }
    };
    let (status, error, retry_after) = match outcome {
        Ok(()) => (StatusCode::OK, None, None),
        Err(Refusal::Invalid(invalid)) => (StatusCode::UNPROCESSABLE_ENTITY, Some(invalid.message), None),
        Err(Refusal::Throttled(secs)) => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(format!(
                "Too many sign-ups from your network. Try again in {} minutes.",
                secs.div_ceil(60)
            )),
            Some(secs),
        ),
    };
    let mut response = if form.embed.is_some() {
        embed_page(&req, &state, status, &source, error, &form.email).await?
    } else if error.is_none() {
        pages::notice(&req, &reader, status, "Check your inbox", CHECK_INBOX).await?
    } else {
        let trail = Trail::decode(&form.trail);
        join_page(
            &req,
            &state,
            &reader,
            status,
            (&source, &trail),
            error,
            &form.email,
        )
        .await?
    };
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, secs.into());
    }
    Ok(response)
}

/// The link in the confirmation email opens this page; only its button
/// subscribes, so a mail scanner that follows links confirms nothing.
#[get("/join/{token}")]
async fn confirm_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    token: web::Path<String>,
) -> PageResult<HttpResponse> {
    let token = token.into_inner();
    let Some(email) = subscribe::pending_address(&state, token.clone()).await? else {
        return pages::notice(&req, &reader, StatusCode::NOT_FOUND, "Link expired", LINK_EXPIRED).await;
    };
    let layout = pages::layout(&req, &reader).await;
    let page = ActionPage {
        title: format!("Subscribe to {}", layout.site.title()),
        message: format!("Press the button to confirm {email} and start receiving the newsletter."),
        action: format!("/join/{token}"),
        button: "Confirm my subscription",
        next: None,
        layout,
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

#[derive(Deserialize)]
struct ConfirmForm {}

#[post("/join/{token}")]
async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    token: web::Path<String>,
    CsrfForm(_): CsrfForm<ConfirmForm>,
) -> PageResult<HttpResponse> {
    let session = subscribe::confirm(
        &state,
        token.into_inner(),
        reader.session_token.clone(),
        pages::user_agent(&req),
    )
    .await?;
    let Some(session) = session else {
        return pages::notice(&req, &reader, StatusCode::NOT_FOUND, "Link expired", LINK_EXPIRED).await;
    };
    let site = crate::publication::current(&state).await;
    let mut response = pages::redirect_with_flash(
        "/",
        &format!(
            "Welcome to {}: you are subscribed, and new posts will reach your inbox.",
            site.title()
        ),
    );
    response.add_cookie(&pages::session_cookie(&state.config, session))?;
    Ok(response)
}

/// Asks the configured captcha, if any, whether `answer` proves a person.
async fn a_person(
    state: &AppState,
    answer: Option<&str>,
    client: std::net::IpAddr,
) -> Result<(), InvalidInput> {
    let refuse = || {
        InvalidInput::new(
            "captcha",
            "Please complete the check that you are a person, then press Subscribe.",
        )
    };
    match state.human_check.passes(answer, client).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(refuse()),
        Err(e) => {
            tracing::warn!(error = ?e, "the captcha provider could not be asked");
            Err(refuse())
        }
    }
}

/// The origin of the page framing us, when it is one the admin listed.
fn framing_origin(req: &HttpRequest, site: &Publication) -> Option<String> {
    let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
    let url = url::Url::parse(referer).ok()?;
    let origin = url.origin().ascii_serialization();
    site.settings.embed_origins.contains(&origin).then_some(origin)
}

async fn embed_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    source: &SignupSource,
    error: Option<String>,
    email: &str,
) -> PageResult<HttpResponse> {
    let site = crate::publication::current(state).await;
    let done = status == StatusCode::OK && req.method() == actix_web::http::Method::POST;
    let page = EmbedPage {
        form: SubscribeFormView {
            embed: true,
            email: email.chars().take(EmailAddress::MAX_LEN).collect(),
            ..form_view(state, &site, source, &Trail::default())
        },
        title: site.title().to_owned(),
        description: site.settings.description.clone(),
        theme_url: super::views::theme_url(&site),
        done: done.then_some(CHECK_INBOX),
        error,
    };
    let html = super::views::render(&page)?;
    // This page alone may be framed, and only by the origins listed in the
    // settings; every other page keeps `frame-ancestors 'none'`.
    let ancestors = if site.settings.embed_origins.is_empty() {
        "'none'".to_owned()
    } else {
        site.settings.embed_origins.join(" ")
    };
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            super::startup::content_security_policy(&ancestors, state.human_check.origins()),
        ))
        // Not DENY (which the default headers would add): browsers that
        // know frame-ancestors ignore this value, and it keeps DENY off.
        .insert_header(("X-Frame-Options", "ALLOWALL"))
        .body(html))
}

/// The form for an `<iframe>` on the writer's other sites.
#[get("/embed/subscribe")]
async fn embed(req: HttpRequest, state: web::Data<AppState>) -> PageResult<HttpResponse> {
    let site = crate::publication::current(&state).await;
    let source = SignupSource::Embed(framing_origin(&req, &site));
    embed_page(&req, &state, StatusCode::OK, &source, None, "").await
}

/// The body of `POST /api/subscribe`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiSubscribe {
    email: String,
    name: Option<String>,
    /// `home`, `article:{slug}`, `embed:{origin}` or `api` (the default).
    source: Option<String>,
    /// The captcha's answer, when one is configured.
    captcha: Option<String>,
    /// Ids of the newsletters to receive (running, public); left out: the
    /// ones new members join by default.
    newsletters: Option<Vec<i32>>,
}

#[derive(Serialize)]
struct Accepted {
    status: &'static str,
    message: &'static str,
}

/// 202 with the same body for every address; the confirmation (or, for a
/// member, a sign-in link) goes by email.
#[post("/subscribe")]
async fn api_subscribe(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ApiSubscribe>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let source = match body.source.as_deref() {
        None => SignupSource::Api,
        Some(raw) => SignupSource::parse(raw).map_err(Problem::from)?,
    };
    let mut request =
        FreeSubscribe::parse(&body.email, body.name.as_deref(), source).map_err(Problem::from)?;
    request.newsletters = match body.newsletters {
        Some(ticked) => subscribe::chosen_newsletters(true, ticked).map_err(Problem::from)?,
        None => None,
    };
    let client = pages::client_ip(&req, &state);
    a_person(&state, body.captcha.as_deref(), client)
        .await
        .map_err(Problem::from)?;
    subscribe::request(&state, client, request)
        .map_err(|retry| Problem::too_many_requests(retry.seconds()))?;
    Ok(HttpResponse::Accepted().json(Accepted {
        status: "check_inbox",
        message: CHECK_INBOX,
    }))
}
