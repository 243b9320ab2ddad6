//! Writers' public profiles: the name, slug, bio and avatar on their page
//! (`/author/{slug}`) and bylines. Staff edit their own; admins anyone's.

use crate::{
    db::{
        self,
        authors::{AuthorProfile, ProfileChanges},
    },
    domain::{editorial::Actor, role::Role, slug::Slug},
    state::AppState,
};

use super::{PublishingError, in_transaction};

/// A profile edit, already validated; `None` leaves a field alone, and for
/// `bio` and `avatar_url`, `Some(None)` removes it.
#[derive(Debug, Default)]
pub struct ProfileEdit {
    pub name: Option<String>,
    pub slug: Option<Slug>,
    pub bio: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
}

/// Every staff member's profile. Any staff member.
pub async fn list(state: &AppState, actor: Actor) -> Result<Vec<AuthorProfile>, PublishingError> {
    if !actor.role.is_staff() {
        return Err(PublishingError::Forbidden("Author profiles are for staff."));
    }
    in_transaction(state, |conn| Ok(db::authors::list_staff(conn, db::now())?)).await
}

/// One staff member's profile (made when they have none yet).
pub async fn get(state: &AppState, actor: Actor, user_id: i32) -> Result<AuthorProfile, PublishingError> {
    if !actor.role.is_staff() {
        return Err(PublishingError::Forbidden("Author profiles are for staff."));
    }
    in_transaction(state, move |conn| profile_of_staff(conn, user_id)).await
}

fn profile_of_staff(conn: &mut db::DbConnection, user_id: i32) -> Result<AuthorProfile, PublishingError> {
    let user = db::users::find(conn, user_id)?
        .filter(|u| u.deleted_at.is_none() && u.role() != Role::Reader)
        .ok_or(PublishingError::NotFound)?;
    db::authors::ensure_profile(conn, user.id, db::now())?;
    db::authors::find(conn, user.id)?.ok_or(PublishingError::NotFound)
}

/// Changes a profile: one's own, or anyone's for an admin. A new slug must
/// be free; the old one stops answering (bylines link by the new one).
pub async fn update(
    state: &AppState,
    actor: Actor,
    user_id: i32,
    edit: ProfileEdit,
) -> Result<AuthorProfile, PublishingError> {
    if actor.user_id != user_id && actor.role != Role::Admin {
        return Err(PublishingError::Forbidden(
            "Staff edit their own profile; admins edit anyone's.",
        ));
    }
    let preview_chars = state.config.preview_chars;
    let profile = in_transaction(state, move |conn| {
        profile_of_staff(conn, user_id)?;
        if let Some(slug) = &edit.slug
            && db::authors::slug_taken_by_other(conn, slug.as_str(), user_id)?
        {
            return Err(PublishingError::Conflict {
                field: "slug",
                message: format!("Another author already goes by {slug}."),
            });
        }
        let changes = ProfileChanges {
            slug: edit.slug.as_ref().map(Slug::as_str),
            bio: edit.bio.as_ref().map(Option::as_deref),
            avatar_url: edit.avatar_url.as_ref().map(Option::as_deref),
            updated_at: Some(db::now()),
        };
        db::authors::update(conn, user_id, edit.name.as_deref(), &changes)?;
        if edit.name.is_some() {
            // Searches match bylines: the posts with them on it, anew.
            let bylined = db::authors::article_ids(conn, user_id)?;
            super::search::reindex(conn, &bylined, preview_chars)?;
        }
        db::authors::find(conn, user_id)?.ok_or(PublishingError::NotFound)
    })
    .await?;
    // Bylines in the read cache carry the old name and slug.
    state.read_cache.clear();
    Ok(profile)
}
