//! The pages behind emailed links: verify, magic-link sign-in, password
//! reset, unsubscribe; and the account page's newsletter choices.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, http::header, post, web};
use serde::Deserialize;

use crate::web::{error::PageResult, pages};
use crate::{
    accounts::links::{self, LinkKind, RequestLinkError},
    domain::{access::Standing, email::EmailAddress, password::Password},
    members::newsletters,
    state::AppState,
    web::{
        csrf::CsrfForm,
        extract::{CurrentReader, SignedIn},
        views::{ActionPage, EmailFormPage, NewPasswordPage, UnsubscribePage},
    },
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(verify)
        .service(request_magic_link)
        .service(magic_link_page)
        .service(use_magic_link)
        .service(reset_request_form)
        .service(request_reset)
        .service(reset_form)
        .service(reset)
        .service(unsubscribe_page)
        .service(unsubscribe)
        .service(unsubscribe_from_all)
        .service(choose_newsletters);
}

/// What anyone asking for a link is told, account or not.
const CHECK_INBOX: &str =
    "If that address has an account, a link is on its way. It may take a minute to arrive.";
const LINK_EXPIRED: &str = "This link has expired or was already used. Ask for a new one.";

use pages::notice;

#[get("/verify/{token}")]
async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    token: web::Path<String>,
) -> PageResult<HttpResponse> {
    if links::verify_email(&state, token.into_inner(), reader.session_token.clone()).await? {
        notice(
            &req,
            &reader,
            StatusCode::OK,
            "Email confirmed",
            "Thank you: your address is confirmed and the newsletter will reach you.",
        )
        .await
    } else {
        notice(&req, &reader, StatusCode::NOT_FOUND, "Link expired", LINK_EXPIRED).await
    }
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

/// Emails a sign-in or reset link; the answer is the same for every address.
async fn request(
    req: &HttpRequest,
    state: &AppState,
    reader: &CurrentReader,
    email: &str,
    kind: LinkKind,
) -> PageResult<HttpResponse> {
    if let Ok(email) = EmailAddress::parse(email) {
        match links::request_link(state, pages::client_ip(req, state), email, kind) {
            Ok(()) => {}
            Err(RequestLinkError::Throttled(retry)) => {
                let mut response = notice(
                    req,
                    reader,
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests",
                    "Too many links were asked for. Wait a minute and try again.",
                )
                .await?;
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, retry.seconds().into());
                return Ok(response);
            }
        }
    }
    notice(req, reader, StatusCode::OK, "Check your inbox", CHECK_INBOX).await
}

#[post("/login/link")]
async fn request_magic_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> PageResult<HttpResponse> {
    request(&req, &state, &reader, &form.email, LinkKind::SignIn).await
}

/// The link in the email opens this page; only its button signs in, so a
/// mail scanner that follows links cannot use the link up.
#[get("/login/link/{token}")]
async fn magic_link_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    token: web::Path<String>,
) -> PageResult<HttpResponse> {
    let token = token.into_inner();
    let Some(email) = links::link_owner(&state, token.clone(), LinkKind::SignIn).await? else {
        return notice(&req, &reader, StatusCode::NOT_FOUND, "Link expired", LINK_EXPIRED).await;
    };
    let layout = pages::layout(&req, &reader).await;
    let page = ActionPage {
        title: format!("Sign in to {}", layout.site.title()),
        layout,
        // Name the account, so nobody is signed in to one they did not ask for.
        message: format!("Press the button to finish signing in as {email} on this device."),
        action: format!("/login/link/{token}"),
        button: "Sign me in",
        next: None,
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

#[post("/login/link/{token}")]
async fn use_magic_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    token: web::Path<String>,
    CsrfForm(form): CsrfForm<EmailFormNext>,
) -> PageResult<HttpResponse> {
    let prover_session = reader.session_token.clone();
    match links::sign_in_with_link(
        &state,
        token.into_inner(),
        prover_session,
        pages::user_agent(&req),
    )
    .await?
    {
        Some(session) => {
            let mut response =
                pages::redirect_with_flash(&pages::local_path(form.next.as_deref()), "You are signed in.");
            response.add_cookie(&pages::session_cookie(&state.config, session))?;
            Ok(response)
        }
        None => notice(&req, &reader, StatusCode::NOT_FOUND, "Link expired", LINK_EXPIRED).await,
    }
}

#[derive(Deserialize)]
struct EmailFormNext {
    next: Option<String>,
}

#[get("/reset")]
async fn reset_request_form(req: HttpRequest, reader: CurrentReader) -> PageResult<HttpResponse> {
    let page = EmailFormPage {
        layout: pages::layout(&req, &reader).await,
        title: "Reset your password",
        message: "Enter your email and we will send you a link to choose a new password.",
        action: "/reset",
        button: "Email me a reset link",
        error: None,
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

#[post("/reset")]
async fn request_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> PageResult<HttpResponse> {
    request(&req, &state, &reader, &form.email, LinkKind::ResetPassword).await
}

#[get("/reset/{token}")]
async fn reset_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    token: web::Path<String>,
) -> PageResult<HttpResponse> {
    let token = token.into_inner();
    if links::link_owner(&state, token.clone(), LinkKind::ResetPassword)
        .await?
        .is_none()
    {
        return notice(&req, &reader, StatusCode::NOT_FOUND, "Link expired", LINK_EXPIRED).await;
    }
    let page = NewPasswordPage {
        layout: pages::layout(&req, &reader).await,
        action: format!("/reset/{token}"),
        error: None,
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

#[derive(Deserialize)]
struct NewPasswordForm {
    #[serde(default)]
    password: String,
}

#[post("/reset/{token}")]
async fn reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    token: web::Path<String>,
    CsrfForm(form): CsrfForm<NewPasswordForm>,
) -> PageResult<HttpResponse> {
    let token = token.into_inner();
    let Some(owner) = links::link_owner(&state, token.clone(), LinkKind::ResetPassword).await? else {
        return notice(&req, &reader, StatusCode::NOT_FOUND, "Link expired", LINK_EXPIRED).await;
    };
    let owner = EmailAddress::parse(&owner).map_err(|e| anyhow::anyhow!("a stored address: {e}"))?;
    let password = match Password::choose(form.password, Some(&owner)) {
        Ok(password) => password,
        Err(invalid) => {
            let page = NewPasswordPage {
                layout: pages::layout(&req, &reader).await,
                action: format!("/reset/{token}"),
                error: Some(invalid.message),
            };
            return Ok(pages::render(&req, StatusCode::UNPROCESSABLE_ENTITY, &page)?);
        }
    };
    if !links::reset_password(&state, token, password).await? {
        return notice(&req, &reader, StatusCode::NOT_FOUND, "Link expired", LINK_EXPIRED).await;
    }
    let mut response =
        pages::redirect_with_flash("/login", "Your password is changed. Log in with the new one.");
    response.add_cookie(&pages::session_cookie_removal())?;
    Ok(response)
}

#[get("/unsubscribe/{token}")]
async fn unsubscribe_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    token: web::Path<String>,
) -> PageResult<HttpResponse> {
    let Some(link) = newsletters::read_link(&state, &token).await? else {
        return invalid_unsubscribe_link(&req, &reader).await;
    };
    let page = UnsubscribePage {
        layout: pages::layout(&req, &reader).await,
        newsletter: link.newsletter.name,
        action: format!("/unsubscribe/{}", token.into_inner()),
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

async fn invalid_unsubscribe_link(req: &HttpRequest, reader: &CurrentReader) -> PageResult<HttpResponse> {
    notice(
        req,
        reader,
        StatusCode::NOT_FOUND,
        "Link not valid",
        "This unsubscribe link is not valid. Use the link from a recent email, or your account page.",
    )
    .await
}

/// RFC 8058 one-click unsubscribe: mail clients POST here with no cookie
/// and no CSRF token; the signed token in the URL is the authority. Leaves
/// the newsletter the email came through, and only it.
#[post("/unsubscribe/{token}")]
async fn unsubscribe(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    token: web::Path<String>,
) -> PageResult<HttpResponse> {
    match newsletters::unsubscribe(&state, &token).await? {
        Some(link) => {
            let message = format!(
                "You will not get {} any more. You can choose your newsletters again from your account page.",
                link.newsletter.name
            );
            notice(&req, &reader, StatusCode::OK, "You are unsubscribed", message).await
        }
        None => invalid_unsubscribe_link(&req, &reader).await,
    }
}

/// "Leave all newsletters" on the unsubscribe page.
#[post("/unsubscribe/{token}/all")]
async fn unsubscribe_from_all(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    token: web::Path<String>,
) -> PageResult<HttpResponse> {
    if !newsletters::unsubscribe_from_all(&state, &token).await? {
        return invalid_unsubscribe_link(&req, &reader).await;
    }
    notice(
        &req,
        &reader,
        StatusCode::OK,
        "You left every newsletter",
        "We will send you no more newsletters. Choose one again from your account page whenever you like.",
    )
    .await
}

/// The account page's newsletter checkboxes: each ticked `newsletter` field
/// is a newsletter id; the ones left unticked are left.
#[post("/account/newsletters")]
async fn choose_newsletters(
    state: web::Data<AppState>,
    SignedIn { user, member, .. }: SignedIn,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> PageResult<HttpResponse> {
    let chosen: Vec<i32> = form
        .iter()
        .filter(|(field, _)| field == "newsletter")
        .filter_map(|(_, value)| value.parse().ok())
        .collect();
    let standing = Standing::of(&member, crate::db::now(), &state.policy);
    newsletters::choose(&state, user.id, chosen, standing).await?;
    Ok(pages::redirect_with_flash(
        "/account#newsletters",
        "Your newsletters are saved.",
    ))
}
