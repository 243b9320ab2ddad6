//! The one place errors become responses. A 4xx says what to fix; a 5xx says
//! nothing internal and logs the whole cause chain. The API answers JSON
//! (`{"error":{"code","message","field"}}`), the site answers a page.

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
    pub field: Option<&'static str>,
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

    pub fn on_field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// A failure of ours: logged in full, answered with no detail. An
    /// unreachable database is an outage (503), anything else a bug (500).
    pub fn internal(source: anyhow::Error) -> Self {
        let mut problem = if source.downcast_ref::<Unavailable>().is_some() {
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
                field: self.field,
            },
        })
    }

    pub fn to_page_response(&self) -> HttpResponse {
        let page = views::ErrorPage {
            status: self.status.as_u16(),
            title: self.status.canonical_reason().unwrap_or("Error"),
            message: &self.message,
        };
        match views::render(&page) {
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
        }
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
    pub field: Option<&'static str>,
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
