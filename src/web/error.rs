//! The one place errors become responses. A 4xx says what to fix; a 5xx says
//! nothing internal and logs the whole cause chain. The API answers JSON
//! (`{"error":{"code","message","field"}}`), the site answers a page.

use std::borrow::Cow;

use actix_web::{
    HttpRequest, HttpResponse, ResponseError,
    http::{StatusCode, header},
};

use crate::{db::Unavailable, domain::InvalidInput, web::views};

/// What a client is told to wait when the database is unreachable.
const OUTAGE_RETRY_AFTER_SECS: u64 = 5;

/// What went wrong, independent of how it is shown.
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<Cow<'static, str>>,
    pub retry_after: Option<u64>,
    /// The cause of a 5xx, for the log only.
    pub source: Option<anyhow::Error>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
            source: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn conflict(field: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message).on_field(field)
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many attempts. Try again in {retry_after_secs} seconds."),
        );
        problem.retry_after = Some(retry_after_secs);
        problem
    }

    /// Input that could not be read at all (a query string, a path): 400.
    pub fn bad_input(invalid: InvalidInput) -> Self {
        Self::bad_request(invalid.message).on_field(invalid.field)
    }

    pub fn on_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// A failure of ours: logged in full, answered with no detail. An
    /// unreachable database is an outage (503), anything else a bug (500).
    pub fn internal(source: anyhow::Error) -> Self {
        let mut problem = if refused_nul(&source) {
            // PostgreSQL stores no NUL in text; SQLite does. Whichever field
            // carried it, the write was rolled back: the client's input, not
            // our bug.
            crate::web::nul::refusal(None)
        } else if source.downcast_ref::<Unavailable>().is_some() {
            let mut outage = Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The site is briefly unavailable. Please try again in a moment.",
            );
            outage.retry_after = Some(OUTAGE_RETRY_AFTER_SECS);
            outage
        } else {
            Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Something went wrong on our side. It has been logged; please try again.",
            )
        };
        problem.source = Some(source);
        problem
    }

    fn log(&self) {
        if let Some(source) = &self.source {
            tracing::error!(status = self.status.as_u16(), error = ?source, "request failed");
        }
    }

    fn response_builder(&self) -> actix_web::HttpResponseBuilder {
        self.log();
        let mut builder = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        builder
    }

    pub fn to_json_response(&self) -> HttpResponse {
        self.response_builder().json(ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                field: self.field.as_deref().map(str::to_owned),
            },
        })
    }

    /// A plain page saying what happened. `with_site_header` (a middleware
    /// that has the request) puts it inside the site's layout: the header
    /// with the reader's sign-in state, the publication's name and footer.
    pub fn to_page_response(&self) -> HttpResponse {
        let page = views::ErrorPage {
            status: self.status.as_u16(),
            title: self.title(),
            message: &self.message,
        };
        let mut response = match views::render(&page) {
            Ok(html) => self
                .response_builder()
                .content_type("text/html; charset=utf-8")
                .body(html),
            Err(e) => {
                tracing::error!(error = ?e, "rendering the error page");
                self.response_builder()
                    .content_type("text/plain; charset=utf-8")
                    .body(self.message.clone())
            }
        };
        response.extensions_mut().insert(ErrorPageInfo {
            status: self.status.as_u16(),
            message: self.message.clone(),
        });
        response
    }

    fn title(&self) -> &'static str {
        error_title(self.status.as_u16())
    }

    /// As the client of `req` expects it: JSON under `/api` and `/admin/api`,
    /// a page elsewhere.
    pub fn for_request(self, req: &HttpRequest) -> actix_web::Error {
        if wants_json(req.path()) {
            ApiError(self).into()
        } else {
            PageError(self).into()
        }
    }
}

/// In plain words, what a status means for a reader.
fn error_title(status: u16) -> &'static str {
    match status {
        400 => "That request could not be read",
        401 | 403 => "This page is not open to you",
        404 => "Page not found",
        405 => "That cannot be done here",
        413 => "That was too large",
        422 => "Something needs fixing",
        429 => "Too many attempts",
        503 => "We will be right back",
        _ => "Something went wrong",
    }
}

/// What an error page said, kept on the response so `with_site_header`
/// can show it again inside the layout.
#[derive(Clone)]
struct ErrorPageInfo {
    status: u16,
    message: String,
}

/// Renders error pages inside the site's layout. Errors arise where the
/// request is gone (extractors, `ResponseError`); this middleware has it
/// again. When the layout cannot be had (the database is down), the reader
/// shows as signed out and the publication as last seen.
pub async fn with_site_header(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::FromRequest;
    let response = next.call(req).await?;
    let Some(info) = response.response().extensions().get::<ErrorPageInfo>().cloned() else {
        return Ok(response.map_into_boxed_body());
    };
    let (request, plain) = response.into_parts();
    let layout = if plain.status() == StatusCode::SERVICE_UNAVAILABLE {
        // The database is unreachable: asking it who is signed in would
        // only make the reader wait again.
        super::pages::layout_offline(&request)
    } else {
        let reader = super::CurrentReader::extract(&request)
            .await
            .unwrap_or_else(|_| super::CurrentReader::anonymous());
        super::pages::layout(&request, &reader).await
    };
    let page = views::LaidOutErrorPage {
        layout,
        status: info.status,
        title: error_title(info.status),
        message: &info.message,
    };
    let Ok(html) = views::render(&page) else {
        return Ok(actix_web::dev::ServiceResponse::new(request, plain).map_into_boxed_body());
    };
    let mut laid_out = HttpResponse::build(plain.status());
    for (name, value) in plain.headers() {
        if name != header::CONTENT_LENGTH {
            laid_out.append_header((name.clone(), value.clone()));
        }
    }
    let laid_out = laid_out.body(html);
    Ok(actix_web::dev::ServiceResponse::new(request, laid_out))
}

pub fn wants_json(path: &str) -> bool {
    path.starts_with("/api/") || path == "/api" || path.starts_with("/admin/api")
}

impl From<InvalidInput> for Problem {
    fn from(invalid: InvalidInput) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", invalid.message).on_field(invalid.field)
    }
}

impl From<actix_web::error::HttpError> for Problem {
    fn from(e: actix_web::error::HttpError) -> Self {
        Self::internal(anyhow::anyhow!("building a response: {e}"))
    }
}

impl From<anyhow::Error> for Problem {
    fn from(source: anyhow::Error) -> Self {
        Self::internal(source)
    }
}

/// The JSON body of every API error.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `bad_request`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `too_large`, `invalid`, `rate_limited`, …
    pub code: &'static str,
    /// What to fix, for a person.
    pub message: String,
    /// The input field the error is about, when there is one.
    pub field: Option<String>,
}

/// An error answered as JSON.
#[derive(Debug)]
pub struct ApiError(pub Problem);

/// An error answered as an HTML page.
#[derive(Debug)]
pub struct PageError(pub Problem);

macro_rules! error_wrapper {
    ($name:ident, $render:ident) => {
        impl<E: Into<Problem>> From<E> for $name {
            fn from(e: E) -> Self {
                Self(e.into())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0.message)
            }
        }

        impl ResponseError for $name {
            fn status_code(&self) -> StatusCode {
                self.0.status
            }

            fn error_response(&self) -> HttpResponse {
                self.0.$render()
            }
        }
    };
}

error_wrapper!(ApiError, to_json_response);
error_wrapper!(PageError, to_page_response);

pub type ApiResult<T> = Result<T, ApiError>;
pub type PageResult<T> = Result<T, PageError>;

/// PostgreSQL's refusal of a NUL character in text ("invalid byte sequence
/// for encoding \"UTF8\": 0x00"), anywhere in the error's chain.
fn refused_nul(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<diesel::result::Error>(),
            Some(diesel::result::Error::DatabaseError(_, info)) if info.message().contains("0x00")
        )
    })
}
