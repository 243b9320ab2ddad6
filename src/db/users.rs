use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{DbConnection, schema::users};
use crate::domain::{email::EmailAddress, role::Role};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i32,
    pub email: String,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    /// An unknown role in the database fails the load: never silently a reader.
    #[diesel(deserialize_as = String)]
    pub role: Role,
    pub email_verified_at: Option<PrimitiveDateTime>,
    pub stripe_customer_id: Option<String>,
    pub created_at: PrimitiveDateTime,
    /// Bumped to rotate the private feed URL (see `auth::feed_token`).
    pub feed_generation: i32,
    /// Set when the member deleted their account: every personal field is
    /// erased and the row stays only so delivery counts stay whole.
    pub deleted_at: Option<PrimitiveDateTime>,
    /// What brought them (`signup`, `home`, `article:{slug}`, `import`…).
    pub source: Option<String>,
    /// What editors noted about them.
    pub note: Option<String>,
}

impl User {
    pub fn role(&self) -> Role {
        self.role
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub role: &'a str,
    pub created_at: PrimitiveDateTime,
    /// What brought them (`signup`, `home`, `article:{slug}`, …).
    pub source: Option<&'a str>,
}

impl NewUser<'_> {
    /// Inserts the user; a taken email is a unique violation for the caller.
    /// A new member is a `member.created` webhook.
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<User> {
        diesel::insert_into(users::table).values(self).execute(conn)?;
        let user = users::table
            .filter(users::email.eq(self.email))
            .select(User::as_select())
            .first(conn)?;
        super::webhooks::member_created(conn, user.id, self.source)?;
        Ok(user)
    }
}

pub fn find_by_email(conn: &mut DbConnection, email: &EmailAddress) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email.as_str()))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConnection, id: i32) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn set_role(conn: &mut DbConnection, id: i32, role: Role) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::role.eq(role.as_str()))
        .execute(conn)
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn set_password_hash(conn: &mut DbConnection, id: i32, hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
}

/// Leaves the account with no password: only emailed links sign it in.
pub fn clear_password(conn: &mut DbConnection, id: i32) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(None::<String>))
        .execute(conn)
}

pub fn bump_feed_generation(conn: &mut DbConnection, id: i32) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::feed_generation.eq(users::feed_generation + 1))
        .execute(conn)
}

pub fn mark_email_verified(conn: &mut DbConnection, id: i32, now: PrimitiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id).filter(users::email_verified_at.is_null()))
        .set(users::email_verified_at.eq(now))
        .execute(conn)
}

pub fn set_name(conn: &mut DbConnection, id: i32, name: Option<&str>) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::name.eq(name))
        .execute(conn)
}

pub fn set_note(conn: &mut DbConnection, id: i32, note: Option<&str>) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::note.eq(note))
        .execute(conn)
}

/// Moves the account to `email`, unconfirmed; a taken address is a unique
/// violation for the caller.
pub fn change_email(conn: &mut DbConnection, id: i32, email: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(email),
            users::email_verified_at.eq(None::<PrimitiveDateTime>),
        ))
        .execute(conn)
}

/// Holds the user's row until the transaction ends, so that count-then-insert
/// rules about the user (a monthly quota) cannot be raced by a second
/// request. PostgreSQL's READ COMMITTED needs the row lock; SQLite's write
/// transactions (`BEGIN IMMEDIATE`) already run one at a time.
pub fn lock_for_update(conn: &mut DbConnection, id: i32) -> QueryResult<()> {
    match conn {
        DbConnection::Postgres(c) => {
            users::table
                .find(id)
                .select(users::id)
                .for_update()
                .first::<i32>(c)?;
        }
        DbConnection::Sqlite(_) => {}
    }
    Ok(())
}

/// Ends every way into an account that someone other than the address's
/// proven owner may hold: its sessions (but `keep_session`, a token hash),
/// its unused emailed links and its private feed address, and with
/// `clear_password` its password. Returns how many sessions ended.
pub fn shut_out_others(
    conn: &mut DbConnection,
    id: i32,
    keep_session: Option<&str>,
    clear_password: bool,
    now: PrimitiveDateTime,
) -> QueryResult<usize> {
    let ended = super::sessions::delete_all_for_user_except(conn, id, keep_session)?;
    super::login_tokens::void_all_for_user(conn, id, now)?;
    bump_feed_generation(conn, id)?;
    if clear_password {
        self::clear_password(conn, id)?;
    }
    Ok(ended)
}
