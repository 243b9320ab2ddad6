//! Images: uploads (`POST /admin/api/media` with an API key,
//! `POST /admin/media` from the editor's button) and the stored files
//! (`GET /media/{key}`), which never change and are cached for a year.
//!
//! The upload routes sit outside the `/admin/api` scope's idempotency
//! layer, which buffers bodies up to 2 MB: an upload is idempotent by
//! itself (the same bytes are the same image), and may be 10 MB.

use actix_multipart::{Multipart, MultipartError};
use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, post, web};
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    db::media::MediaRow,
    domain::{editorial::Actor, media::MediaKey},
    media::Refused,
    publishing::media::{self, UploadError},
    state::AppState,
    web::{
        csrf::CsrfHeader,
        error::{ApiResult, ErrorBody, Problem},
        extract::{ApiStaff, SiteStaff},
    },
};

/// What a form may carry besides the file: its boundaries and headers.
const FORM_OVERHEAD: usize = 16 * 1024;

/// The two upload routes, registered ahead of the `/admin/api` scope.
pub fn configure_uploads(cfg: &mut web::ServiceConfig) {
    cfg.service(upload_with_key).service(upload_from_editor);
}

/// `/media/{key}`, among the site's pages (its 404 is a page).
pub fn configure_files(cfg: &mut web::ServiceConfig) {
    cfg.service(stored_file);
}

/// A narrower copy of an uploaded image.
#[derive(Serialize, ToSchema)]
pub struct MediaVariantJson {
    url: String,
    width: u32,
    height: u32,
    bytes: u64,
}

/// An uploaded image.
#[derive(Serialize, ToSchema)]
pub struct MediaJson {
    id: i32,
    /// Absolute.
    url: String,
    /// On this site: what articles and cover images name.
    path: String,
    /// Ready to paste into an article.
    markdown: String,
    width: u32,
    height: u32,
    content_type: String,
    bytes: i64,
    /// WebP copies for narrower screens, narrowest first (none for GIFs
    /// and images at most 600 px wide).
    variants: Vec<MediaVariantJson>,
}

impl MediaJson {
    fn new(row: &MediaRow, state: &AppState) -> Self {
        let image = row.image();
        let path = image.path();
        Self {
            id: row.id,
            url: state.config.url_for(&path),
            markdown: format!("![]({path})"),
            path,
            width: image.width,
            height: image.height,
            content_type: row.content_type.clone(),
            bytes: row.byte_size,
            variants: image
                .variants
                .iter()
                .map(|v| MediaVariantJson {
                    url: state.config.url_for(&v.path()),
                    width: v.width,
                    height: v.height,
                    bytes: v.bytes,
                })
                .collect(),
        }
    }
}

/// The request body of an upload (documentation only: it is read as a
/// stream).
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct MediaUpload {
    /// A JPEG, PNG, WebP or GIF image.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Uploads an image (authors and up). Its type is read from its bytes;
/// EXIF, GPS and other metadata are removed; WebP copies 600, 1200 and
/// 2000 px wide are made of wider images. The same image uploaded again
/// answers the same image.
#[utoipa::path(post, path = "/admin/api/media", request_body(content = MediaUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = MediaJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/admin/api/media")]
pub(super) async fn upload_with_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: ApiStaff,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    upload(&req, &state, staff.actor, form).await
}

/// The editor's upload button: the signed-in staff member's session, the
/// page's CSRF token in `X-CSRF-Token`; answers as the API does.
#[post("/admin/media")]
async fn upload_from_editor(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
    _csrf: CsrfHeader,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    upload(&req, &state, staff.actor, form).await
}

async fn upload(
    req: &HttpRequest,
    state: &AppState,
    actor: Actor,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    let max = state.config.media_max_bytes;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > max + FORM_OVERHEAD) {
        return Err(too_large(max).into());
    }
    let file = read_file(form, max).await?;
    let row = media::upload(state, actor, file).await.map_err(|e| match e {
        UploadError::Forbidden(message) => Problem::forbidden(message),
        UploadError::Refused(refused @ Refused::NotAnImage) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_type",
            refused.to_string(),
        )
        .on_field("file"),
        UploadError::Refused(refused) => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", refused.to_string()).on_field("file")
        }
        UploadError::Internal(e) => Problem::internal(e),
    })?;
    Ok(HttpResponse::Created().json(MediaJson::new(&row, state)))
}

fn too_large(max: usize) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!(
            "That file is larger than the {} MB this site takes.",
            max as f64 / 1_048_576.0
        ),
    )
    .on_field("file")
}

/// The bytes of the form's `file` field, at most `max` of them. A form
/// with any other field is refused, as the API document says.
async fn read_file(mut form: Multipart, max: usize) -> Result<Vec<u8>, Problem> {
    let mut file = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(unreadable_form)?;
        if field.name() != Some("file") || file.is_some() {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "Send one field, `file`, with the image; nothing else.",
            )
            .on_field("file"));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(unreadable_form)?;
            if bytes.len() + chunk.len() > max {
                return Err(too_large(max));
            }
            bytes.extend_from_slice(&chunk);
        }
        file = Some(bytes);
    }
    file.ok_or_else(|| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "Send the image as a multipart/form-data field named `file`.",
        )
        .on_field("file")
    })
}

fn unreadable_form(e: MultipartError) -> Problem {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible
        | MultipartError::BoundaryMissing => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_type",
            "Send the image as multipart/form-data, in a field named `file`.",
        ),
        other => Problem::bad_request(format!("The upload could not be read: {other}")),
    }
}

/// A stored file. Its name is its content's hash, so it is cached for a
/// year (`immutable`), and its type is fixed by its name (`nosniff`).
#[get("/media/{key}")]
async fn stored_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, crate::web::error::PageError> {
    let key = MediaKey::parse(&key).ok_or_else(|| Problem::not_found("There is no such image."))?;
    let etag = format!("\"{}\"", key.as_str());
    let cached = req
        .headers()
        .get(actix_web::http::header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let mut response = if cached {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            "public, max-age=31536000, immutable",
        ))
        .insert_header((actix_web::http::header::ETAG, etag))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    if cached {
        return Ok(response.finish());
    }
    let bytes = state
        .media
        .get(&key)
        .await
        .map_err(Problem::internal)?
        .ok_or_else(|| Problem::not_found("There is no such image."))?;
    Ok(response.content_type(key.kind().content_type()).body(bytes))
}
