//! Labels: editors read them, admins make, rename and delete them. A label
//! named on a member that does not exist yet is made then (first use).

use crate::{
    db::{
        self, DbConnection,
        labels::{self as stored, StoredLabel},
    },
    domain::{editorial::Actor, member},
    state::AppState,
};

use super::{MemberError, admins_only, editors_only};

const NO_LABEL: &str = "There is no label with that id.";

fn taken(name: &str) -> MemberError {
    MemberError::Conflict(format!("There is already a label called {name:?}."))
}

pub async fn list(state: &AppState, actor: Actor) -> Result<Vec<(StoredLabel, i64)>, MemberError> {
    editors_only(actor)?;
    Ok(db::run(&state.pool, |conn| Ok(stored::list_with_counts(conn)?)).await?)
}

/// `name` must already be a valid label name (`member::label_name`).
pub async fn create(state: &AppState, actor: Actor, name: String) -> Result<StoredLabel, MemberError> {
    admins_only(actor)?;
    let slug = member::label_slug(&name);
    let shown = name.clone();
    let created = db::run(&state.pool, move |conn| {
        match stored::insert(conn, slug.as_str(), &name, db::now()) {
            Ok(label) => Ok(Some(label)),
            Err(e) if db::is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    created.ok_or_else(|| taken(&shown))
}

pub async fn rename(
    state: &AppState,
    actor: Actor,
    id: i32,
    name: String,
) -> Result<StoredLabel, MemberError> {
    admins_only(actor)?;
    let slug = member::label_slug(&name);
    let shown = name.clone();
    db::run(&state.pool, move |conn| {
        if stored::find(conn, id)?.is_none() {
            return Ok(Err(MemberError::NotFound(NO_LABEL)));
        }
        match stored::rename(conn, id, slug.as_str(), &name) {
            Ok(_) => Ok(Ok(stored::find(conn, id)?.expect("the label was just renamed"))),
            Err(e) if db::is_unique_violation(&e) => Ok(Err(taken(&shown))),
            Err(e) => Err(e.into()),
        }
    })
    .await?
}

pub async fn delete(state: &AppState, actor: Actor, id: i32) -> Result<(), MemberError> {
    admins_only(actor)?;
    let deleted = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| Ok(stored::delete(conn, id)?))
    })
    .await?;
    if deleted == 0 {
        return Err(MemberError::NotFound(NO_LABEL));
    }
    Ok(())
}

/// The ids of labels named `names` (already valid names), made on first use.
pub(super) fn resolve(conn: &mut DbConnection, names: &[String]) -> anyhow::Result<Vec<i32>> {
    let now = db::now();
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        let slug = member::label_slug(name);
        let id = stored::find_or_create(conn, slug.as_str(), name, now)?.id;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}
