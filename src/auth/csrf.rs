//! CSRF protection for the site's forms: the double-submit pattern. Each
//! visitor gets a random token in an HttpOnly, SameSite=Lax cookie; every
//! form carries the same token in a hidden field; a POST whose field does not
//! match its cookie (compared in constant time) is refused. A cross-site page
//! can neither read the cookie nor guess the token. (actix-csrf implements
//! the same pattern; ours is forty lines and fits our error pages and our
//! one-extractor-per-form style.)

use actix_web::{
    FromRequest, HttpMessage, HttpRequest,
    body::MessageBody,
    cookie::{Cookie, SameSite},
    dev::{Payload, ServiceRequest, ServiceResponse},
    middleware::Next,
    web,
};
use serde::{Deserialize, de::DeserializeOwned};
use subtle::ConstantTimeEq;

use super::token;
use crate::{
    routes::error::{PageError, Problem},
    state::AppState,
};

pub const COOKIE: &str = "bs_csrf";

/// This visitor's CSRF token, to put in a form's `csrf_token` field.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

fn is_well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Middleware: gives every site visitor a CSRF cookie if they lack one.
pub async fn ensure_cookie(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let existing = req
        .cookie(COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|t| is_well_formed(t));
    let fresh = existing.is_none();
    let csrf = existing.unwrap_or_else(|| token::generate(""));
    req.extensions_mut().insert(CsrfToken(csrf.clone()));
    let secure = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.config.secure_cookies());
    let mut res = next.call(req).await?;
    if fresh {
        let cookie = Cookie::build(COOKIE, csrf)
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .finish();
        res.response_mut().add_cookie(&cookie)?;
    }
    Ok(res)
}

/// The token for forms on this page (set by [`ensure_cookie`]).
pub fn token_for(req: &HttpRequest) -> String {
    req.extensions()
        .get::<CsrfToken>()
        .map(|t| t.0.clone())
        .unwrap_or_default()
}

/// A url-encoded form whose CSRF token matched its cookie.
pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct TokenField {
    csrf_token: Option<String>,
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = PageError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let bytes = body.await.map_err(|e| {
                Problem::new(
                    e.as_response_error().status_code(),
                    "bad_request",
                    "The form could not be read; it may be too large.",
                )
            })?;
            let sent = serde_urlencoded::from_bytes::<TokenField>(&bytes)
                .ok()
                .and_then(|f| f.csrf_token)
                .unwrap_or_default();
            let expected = req
                .cookie(COOKIE)
                .map(|c| c.value().to_owned())
                .unwrap_or_default();
            let matches = !expected.is_empty() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()));
            if !matches {
                return Err(Problem::forbidden(
                    "This form has expired or did not come from this site. Go back, reload the page and try again.",
                )
                .into());
            }
            let form = serde_urlencoded::from_bytes::<T>(&bytes)
                .map_err(|e| Problem::bad_request(format!("The form is incomplete: {e}")))?;
            Ok(CsrfForm(form))
        })
    }
}
