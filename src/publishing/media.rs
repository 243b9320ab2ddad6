//! Uploading images: staff send a file; it is checked, cleaned and resized
//! (`media::process`), its files stored under its content's hash, and
//! recorded. The same picture uploaded twice is the same image.

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::{
    db::{
        self,
        media::{MediaRow, NewMedia},
    },
    domain::{
        editorial::Actor,
        markdown::{self, KnownImages, Rendered},
        media::{MediaKey, Variant},
    },
    media::{Refused, UploadLimits},
    state::AppState,
};

/// Decoding a large image takes hundreds of megabytes for a moment: two at
/// a time, whatever the number of uploaders, keeps a small machine up.
static DECODING: Semaphore = Semaphore::const_new(2);

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Stores the image in `upload` for `actor` (authors and up).
pub async fn upload(state: &AppState, actor: Actor, upload: Vec<u8>) -> Result<MediaRow, UploadError> {
    if !actor.role.is_staff() {
        return Err(UploadError::Forbidden("Images are uploaded by staff."));
    }
    let limits = UploadLimits {
        max_pixels: state.config.media_max_pixels,
    };
    let processed = {
        let _permit = DECODING.acquire().await.map_err(anyhow::Error::new)?;
        tokio::task::spawn_blocking(move || crate::media::process(&upload, limits))
            .await
            .map_err(anyhow::Error::new)??
    };
    let content_hash = hex::encode(Sha256::digest(&processed.original));
    let original_key = MediaKey::original(&content_hash, processed.kind);
    let mut variants = Vec::with_capacity(processed.variants.len());
    // Files first, the row last: a row never names a file not yet there.
    for copy in processed.variants {
        let key = MediaKey::variant(&content_hash, copy.width);
        variants.push(Variant {
            key: key.as_str().to_owned(),
            width: copy.width,
            height: copy.height,
            bytes: copy.webp.len() as u64,
        });
        state.media.put(&key, copy.webp).await?;
    }
    let byte_size = processed.original.len() as i64;
    state.media.put(&original_key, processed.original).await?;
    let row = db::run(&state.pool, move |conn| {
        Ok(db::media::record(
            conn,
            &NewMedia {
                content_hash: &content_hash,
                storage_key: original_key.as_str(),
                content_type: processed.kind.content_type(),
                byte_size,
                width: processed.width as i32,
                height: processed.height as i32,
                variants: NewMedia::variants_json(&variants),
                uploaded_by: Some(actor.user_id),
                created_at: db::now(),
            },
        )?)
    })
    .await?;
    Ok(row)
}

/// Renders `markdown` with what is known of the stored images it shows.
pub fn render(
    conn: &mut db::DbConnection,
    markdown: &str,
    preview_chars: usize,
) -> diesel::QueryResult<Rendered> {
    let images: KnownImages = db::media::by_keys(conn, &markdown::media_keys(markdown))?
        .into_iter()
        .map(|image| (image.key.clone(), image))
        .collect();
    Ok(markdown::render(markdown, preview_chars, &images))
}

/// `render` for the editor's preview, outside any transaction.
pub async fn preview(state: &AppState, markdown: String) -> anyhow::Result<Rendered> {
    let preview_chars = state.config.preview_chars;
    db::run(&state.pool, move |conn| {
        Ok(render(conn, &markdown, preview_chars)?)
    })
    .await
}
