//! CSRF protection for the site's forms. Every form carries a token that
//! only this server can compute: an HMAC of the visitor's session token when
//! they are signed in, else of a random per-visitor value in an HttpOnly,
//! SameSite=Lax cookie. A POST whose field is not the token for the cookies
//! it arrives with (compared in constant time) is refused. A cross-site page
//! can neither read the cookies nor compute the token, and a cookie planted
//! by someone else (a sibling subdomain) yields no token that would pass for
//! a signed-in member's session. (actix-csrf implements double-submit
//! cookies; ours binds the token to the session and fits our error pages and
//! our one-extractor-per-form style.)

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

use crate::{
    security::{
        signed::{Purpose, SigningKey},
        token,
    },
    web::extract::SESSION_COOKIE,
};
use crate::{
    state::AppState,
    web::error::{PageError, Problem},
};

pub const COOKIE: &str = "bs_csrf";

/// A visitor value made for this request because it came without one; set
/// as the cookie on the way out (only pages that show a form make one, so
/// feeds, the sitemap and static files set no cookie and stay cacheable).
#[derive(Debug, Clone)]
struct NewVisitor(String);

fn is_well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The token forms must carry for these cookies: bound to the session when
/// there is one, else to the visitor cookie.
fn expected_token(key: &SigningKey, session: Option<&str>, visitor: &str) -> String {
    match session {
        Some(session) => key.tag(Purpose::Csrf, format!("session:{session}").as_bytes()),
        None => key.tag(Purpose::Csrf, format!("visitor:{visitor}").as_bytes()),
    }
}

fn cookie_value(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name).map(|c| c.value().to_owned())
}

/// Middleware: gives a new visitor the cookie their form token is bound to,
/// when the page showed a form. Nothing is computed for pages without one.
pub async fn ensure_cookie(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let secure = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.config.secure_cookies());
    let mut res = next.call(req).await?;
    let new_visitor = res.request().extensions().get::<NewVisitor>().cloned();
    if let Some(NewVisitor(visitor)) = new_visitor {
        let cookie = Cookie::build(COOKIE, visitor)
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .finish();
        res.response_mut().add_cookie(&cookie)?;
    }
    Ok(res)
}

/// The token for a form on this page: bound to the request's session, or to
/// its visitor cookie (made now, and set by [`ensure_cookie`], when it has none).
pub fn token_for(req: &HttpRequest) -> String {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return String::new();
    };
    let session = cookie_value(req, SESSION_COOKIE);
    let visitor = match cookie_value(req, COOKIE).filter(|v| is_well_formed(v)) {
        Some(visitor) => visitor,
        None => {
            let made = req.extensions().get::<NewVisitor>().map(|v| v.0.clone());
            made.unwrap_or_else(|| {
                let visitor = token::generate("");
                req.extensions_mut().insert(NewVisitor(visitor.clone()));
                visitor
            })
        }
    };
    expected_token(&state.signing_key, session.as_deref(), &visitor)
}

/// A url-encoded form whose CSRF token matched its cookie.
pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct TokenField {
    csrf_token: Option<String>,
}

/// The same, with the numbers ticked in the repeated `newsletter` field (a
/// group of checkboxes `T` cannot hold).
pub struct CsrfFormWithTicks<T>(pub T, pub Vec<i32>);

/// The body of a form whose CSRF token matched its cookie.
async fn verified_body(
    req: HttpRequest,
    body: impl Future<Output = Result<web::Bytes, actix_web::Error>>,
) -> Result<web::Bytes, PageError> {
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
    check_token(&req, &sent)?;
    Ok(bytes)
}

/// Whether `sent` is the token for the cookies `req` came with.
fn check_token(req: &HttpRequest, sent: &str) -> Result<(), PageError> {
    let session = cookie_value(req, SESSION_COOKIE);
    let visitor = cookie_value(req, COOKIE).filter(|v| is_well_formed(v));
    let expected = match (req.app_data::<web::Data<AppState>>(), &session, visitor) {
        (Some(state), Some(_), _) => expected_token(&state.signing_key, session.as_deref(), ""),
        (Some(state), None, Some(visitor)) => expected_token(&state.signing_key, None, &visitor),
        _ => String::new(),
    };
    let matches = !expected.is_empty() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()));
    if !matches {
        return Err(Problem::forbidden(
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        )
        .into());
    }
    Ok(())
}

/// The CSRF token of a request a page's script sends (an upload, whose
/// multipart body is read as a stream), in the `X-CSRF-Token` header.
pub struct CsrfHeader;

impl FromRequest for CsrfHeader {
    type Error = PageError;
    type Future = std::future::Ready<Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let sent = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        std::future::ready(check_token(req, sent).map(|()| CsrfHeader))
    }
}

/// Reads a form's body, checks its CSRF token, then `parse`s it.
fn verified_then<T: 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    parse: fn(&[u8]) -> Result<T, PageError>,
) -> futures_util::future::LocalBoxFuture<'static, Result<T, PageError>> {
    let req = req.clone();
    let body = web::Bytes::from_request(&req, payload);
    Box::pin(async move { parse(&verified_body(req, body).await?) })
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = PageError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        verified_then(req, payload, |bytes| {
            let form = serde_urlencoded::from_bytes::<T>(bytes)
                .map_err(|e| Problem::bad_request(format!("The form is incomplete: {e}")))?;
            Ok(CsrfForm(form))
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfFormWithTicks<T> {
    type Error = PageError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        verified_then(req, payload, |bytes| {
            let (form, ticked) = super::form_with_ticks::<T>(bytes, "newsletter")?;
            Ok(CsrfFormWithTicks(form, ticked))
        })
    }
}
