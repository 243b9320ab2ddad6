//! Signing up, logging in and out on the website. Every form is CSRF-checked.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, http::header, post, web};
use serde::Deserialize;

use crate::web::{error::PageResult, pages};
use crate::{
    accounts::{self, LoginError, SignUpError, SignUpOutcome, subscribe},
    domain::{attribution::Trail, email::EmailAddress, password::Password},
    state::AppState,
    web::{
        csrf::{CsrfForm, CsrfFormWithTicks},
        extract::CurrentReader,
        join,
        views::{LoginPage, SignupPage},
    },
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(signup_form)
        .service(signup)
        .service(login_form)
        .service(login)
        .service(logout);
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct CredentialsForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
    /// Sign-up only: set when the form offered newsletters to tick.
    choosing: Option<String>,
    /// Sign-up only: how the reader got here, for attribution.
    #[serde(default)]
    trail: String,
}

/// What a new member is told, whether or not the email already had an
/// account, so the answer does not say which.

#[get("/signup")]
async fn signup_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    query: web::Query<NextQuery>,
) -> PageResult<HttpResponse> {
    let layout = pages::layout(&req, &reader).await;
    let next = pages::local_path(query.next.as_deref());
    // The page the reader is on the way to may carry the trail (the
    // subscribe page's, from a teaser); else how they reached this one.
    let trail = match Trail::in_path(&next) {
        carried if !carried.is_empty() => carried,
        _ => pages::arrival(&req, &state.config),
    };
    let page = SignupPage {
        choices: join::offered_choices(&layout.site),
        layout,
        next,
        trail: trail.encode(),
        email: String::new(),
        email_error: None,
        password_error: None,
        newsletters_error: None,
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

#[post("/signup")]
async fn signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    CsrfFormWithTicks(form, ticked): CsrfFormWithTicks<CredentialsForm>,
) -> PageResult<HttpResponse> {
    let next = pages::local_path(form.next.as_deref());
    let email = EmailAddress::parse(&form.email);
    let password = Password::choose(form.password, email.as_ref().ok());
    let newsletters = subscribe::chosen_newsletters(form.choosing.is_some(), ticked.clone());
    let layout = pages::layout(&req, &reader).await;
    // Shown again, the form keeps what was ticked.
    let choices = join::offered_choices(&layout.site)
        .into_iter()
        .map(|mut choice| {
            choice.preselected = ticked.contains(&choice.id);
            choice
        })
        .collect::<Vec<_>>();
    let form_again = |status, email_error: Option<String>, password_error, newsletters_error| {
        let page = SignupPage {
            layout: layout.clone(),
            next: next.clone(),
            email: form.email.chars().take(EmailAddress::MAX_LEN).collect(),
            email_error,
            password_error,
            newsletters_error,
            choices: choices.clone(),
            trail: form.trail.clone(),
        };
        pages::render(&req, status, &page)
    };
    let (email, password, newsletters) = match (email, password, newsletters) {
        (Ok(email), Ok(password), Ok(newsletters)) => (email, password, newsletters),
        (email, password, newsletters) => {
            return Ok(form_again(
                StatusCode::UNPROCESSABLE_ENTITY,
                email.err().map(|e| e.message),
                password.err().map(|e| e.message),
                newsletters.err().map(|e| e.message),
            )?);
        }
    };
    let ip = pages::client_ip(&req, &state);
    let new_member = accounts::NewMember {
        email,
        password,
        newsletters,
        trail: Trail::decode(&form.trail),
    };
    let outcome = match accounts::sign_up(&state, ip, new_member, pages::user_agent(&req)).await {
        Ok(outcome) => outcome,
        Err(SignUpError::Throttled(retry)) => {
            let message = format!(
                "Too many signups from your network. Try again in {} minutes.",
                retry.seconds().div_ceil(60)
            );
            let mut response = form_again(StatusCode::TOO_MANY_REQUESTS, Some(message), None, None)?;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry.seconds().into());
            return Ok(response);
        }
        Err(SignUpError::Internal(e)) => return Err(e.into()),
    };
    let welcome = format!(
        "Welcome to {}! You are signed up as a free member.",
        layout.site.title()
    );
    let mut response = pages::redirect_with_flash(&next, &welcome);
    if let SignUpOutcome::Created { session_token, .. } = outcome {
        response.add_cookie(&pages::session_cookie(&state.config, session_token))?;
    }
    Ok(response)
}

#[get("/login")]
async fn login_form(
    req: HttpRequest,
    reader: CurrentReader,
    query: web::Query<NextQuery>,
) -> PageResult<HttpResponse> {
    let page = LoginPage {
        layout: pages::layout(&req, &reader).await,
        next: pages::local_path(query.next.as_deref()),
        email: String::new(),
        error: None,
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

#[post("/login")]
async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    CsrfForm(form): CsrfForm<CredentialsForm>,
) -> PageResult<HttpResponse> {
    let next = pages::local_path(form.next.as_deref());
    let typed_email: String = form.email.chars().take(EmailAddress::MAX_LEN).collect();
    let layout = pages::layout(&req, &reader).await;
    let failed = |status: StatusCode, error: String| -> PageResult<HttpResponse> {
        let page = LoginPage {
            layout: layout.clone(),
            next: next.clone(),
            email: typed_email.clone(),
            error: Some(error),
        };
        Ok(pages::render(&req, status, &page)?)
    };
    let credentials =
        EmailAddress::parse(&form.email).and_then(|email| Ok((email, Password::for_login(form.password)?)));
    let Ok((email, password)) = credentials else {
        return failed(
            StatusCode::UNAUTHORIZED,
            LoginError::BadCredentials.to_string() + ".",
        );
    };
    match accounts::log_in(
        &state,
        pages::client_ip(&req, &state),
        email,
        password,
        pages::user_agent(&req),
    )
    .await
    {
        Ok(token) => {
            let mut response = pages::redirect(&next);
            response.add_cookie(&pages::session_cookie(&state.config, token))?;
            Ok(response)
        }
        Err(LoginError::BadCredentials) => {
            failed(StatusCode::UNAUTHORIZED, "Incorrect email or password.".into())
        }
        Err(LoginError::Throttled(retry)) => {
            let mut response = failed(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many login attempts. Try again in {} seconds.",
                    retry.seconds()
                ),
            )?;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry.seconds().into());
            Ok(response)
        }
        Err(LoginError::Internal(e)) => Err(e.into()),
    }
}

#[post("/logout")]
async fn logout(
    state: web::Data<AppState>,
    reader: CurrentReader,
    _form: CsrfForm<pages::EmptyForm>,
) -> PageResult<HttpResponse> {
    if let Some(token) = reader.session_token {
        accounts::log_out(&state, token).await?;
    }
    let mut response = pages::redirect_with_flash("/", "You are logged out.");
    response.add_cookie(&pages::session_cookie_removal())?;
    Ok(response)
}
