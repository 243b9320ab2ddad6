//! Uploaded images (`media`): one row per stored content, found by its
//! hash (an upload seen before) or its key (rendering an article).

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{DbConnection, schema::media};
use crate::domain::media::{StoredImage, Variant};
use crate::per_backend;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = media)]
pub struct MediaRow {
    pub id: i32,
    pub content_hash: String,
    pub storage_key: String,
    pub content_type: String,
    pub byte_size: i64,
    pub width: i32,
    pub height: i32,
    /// JSON: `[Variant]`, narrowest first.
    pub variants: String,
    pub uploaded_by: Option<i32>,
    pub created_at: PrimitiveDateTime,
}

impl MediaRow {
    pub fn image(&self) -> StoredImage {
        StoredImage {
            key: self.storage_key.clone(),
            width: self.width as u32,
            height: self.height as u32,
            // Written by `record` from the same type: unreadable JSON here
            // would be a hand edit, and the image still shows without copies.
            variants: serde_json::from_str(&self.variants).unwrap_or_default(),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = media)]
pub struct NewMedia<'a> {
    pub content_hash: &'a str,
    pub storage_key: &'a str,
    pub content_type: &'a str,
    pub byte_size: i64,
    pub width: i32,
    pub height: i32,
    pub variants: String,
    pub uploaded_by: Option<i32>,
    pub created_at: PrimitiveDateTime,
}

impl<'a> NewMedia<'a> {
    pub fn variants_json(variants: &[Variant]) -> String {
        serde_json::to_string(variants).expect("variants serialize")
    }
}

/// Records an upload; the same content uploaded again (or at the same
/// moment by someone else) is the row already there.
pub fn record(conn: &mut DbConnection, new: &NewMedia<'_>) -> QueryResult<MediaRow> {
    per_backend!(conn, |c| diesel::insert_into(media::table)
        .values(new)
        .on_conflict_do_nothing()
        .execute(c))?;
    media::table
        .filter(media::content_hash.eq(new.content_hash))
        .select(MediaRow::as_select())
        .first(conn)
}

/// The images stored under `keys` (those that are).
pub fn by_keys(conn: &mut DbConnection, keys: &[String]) -> QueryResult<Vec<StoredImage>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    Ok(media::table
        .filter(media::storage_key.eq_any(keys))
        .select(MediaRow::as_select())
        .load(conn)?
        .iter()
        .map(MediaRow::image)
        .collect())
}
