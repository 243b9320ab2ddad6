//! The tags editors see and rename. Tags are made by the posts that name
//! them (`publishing::set_tags`); renaming keeps the old slug answering.

use crate::{
    db::{self, tags::Tag},
    domain::{editorial::Actor, tags::TagName},
    state::AppState,
};

use super::{PublishingError, in_transaction};

/// Every tag with how many posts carry it. Any staff member.
pub async fn list(state: &AppState, actor: Actor) -> Result<Vec<(Tag, i64)>, PublishingError> {
    if !actor.role.is_staff() {
        return Err(PublishingError::Forbidden("Tags are for staff."));
    }
    in_transaction(state, |conn| Ok(db::tags::list_with_counts(conn)?)).await
}

/// Renames tag `id` (editors and admins); its pages move to the new slug
/// and the old one answers 301.
pub async fn rename(
    state: &AppState,
    actor: Actor,
    id: i32,
    to: TagName,
) -> Result<(Tag, i64), PublishingError> {
    if !actor.role.can_publish() {
        return Err(PublishingError::Forbidden("Editors and admins rename tags."));
    }
    let preview_chars = state.config.preview_chars;
    let tag = in_transaction(state, move |conn| {
        let tag = db::tags::find(conn, id)?.ok_or(PublishingError::NotFound)?;
        if db::tags::slug_taken_by_other(conn, to.slug.as_str(), id)? {
            return Err(PublishingError::Conflict {
                field: "name",
                message: format!("Another tag already goes by {}.", to.slug),
            });
        }
        db::tags::rename(conn, &tag, &to, db::now())?;
        // Searches match tag names: the posts carrying it, anew.
        let carrying = db::tags::article_ids(conn, id)?;
        super::search::reindex(conn, &carrying, preview_chars)?;
        let count = db::tags::list_with_counts(conn)?
            .into_iter()
            .find(|(t, _)| t.id == id)
            .ok_or(PublishingError::NotFound)?;
        Ok(count)
    })
    .await?;
    // Posts carry their tags' names in the read cache.
    state.read_cache.clear();
    Ok(tag)
}
