//! Everything that speaks SQL: the schema, row models and their queries, the
//! connection enum over SQLite and PostgreSQL, the pool and the migrations.
//! Model functions return `QueryResult`; callers add context.

pub mod api_keys;
pub mod articles;
pub mod attributions;
pub mod authors;
pub mod billing;
mod connection;
pub mod email_events;
pub mod engagement;
pub mod gift_subscriptions;
pub mod gifts;
pub mod idempotency;
pub mod labels;
pub mod leases;
pub mod login_tokens;
pub mod mail_queue;
pub mod media;
pub mod member_directory;
pub mod member_events;
pub mod members;
pub mod meter;
pub mod newsletters;
pub mod offers;
pub mod outbox;
pub mod page_views;
pub mod pending_signups;
pub mod personal_data;
pub mod schema;
pub mod search;
pub mod secrets;
pub mod seed;
pub mod sends;
pub mod sessions;
pub mod settings;
pub mod stats;
pub mod stripe_objects;
pub mod suppressions;
pub mod tags;
pub mod tiers;
pub mod users;
pub mod webhooks;

pub use connection::{
    Backend, DatabaseUrl, DbConnection, Pool, connect, has_pending_migrations, run_migrations,
};

use time::{OffsetDateTime, PrimitiveDateTime};

/// Now, in UTC, as stored: every timestamp in the database is UTC.
pub fn now() -> PrimitiveDateTime {
    let now = OffsetDateTime::now_utc();
    // Whole microseconds: both backends keep that much, so a value read back
    // equals the value written.
    let now = now
        .replace_nanosecond(now.nanosecond() / 1000 * 1000)
        .unwrap_or(now);
    PrimitiveDateTime::new(now.date(), now.time())
}

/// Whether an error is a unique-constraint violation (a taken email or slug).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Runs the same diesel expression on whichever backend `conn` is, for the
/// queries the `MultiConnection` enum cannot run itself (`RETURNING`,
/// `ON CONFLICT`, multi-row inserts).
#[macro_export]
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Postgres($c) => $body,
        }
    };
}

/// Runs blocking database work on the blocking pool, so no connection is held
/// across an `.await` and no async thread waits on SQLite or the network.
pub async fn run<T, F>(pool: &Pool, work: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> anyhow::Result<T> + Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool
            .get()
            .map_err(|e| anyhow::Error::new(Unavailable(e.to_string())))?;
        work(&mut conn).map_err(outage_or)
    })
    .await
    .map_err(|e| anyhow::anyhow!("database task panicked: {e}"))?
}

/// One pooled connection kept across several pieces of blocking work, for a
/// task that writes many times in a row (the worker's outcome recorder):
/// checked out once, so PostgreSQL's check on checkout (`SELECT 1`) and the
/// pool's bookkeeping are paid once, not before every write. A piece of
/// work that fails gives the connection back for the pool to judge.
pub struct Held {
    pool: Pool,
    conn: Option<PooledConnection>,
}

type PooledConnection = diesel::r2d2::PooledConnection<connection::ConnectionManager>;

impl Held {
    pub fn new(pool: &Pool) -> Self {
        Self {
            pool: pool.clone(),
            conn: None,
        }
    }

    /// As [`run`], on the held connection (checked out first if need be).
    pub async fn run<T, F>(&mut self, work: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> anyhow::Result<T> + Send + 'static,
    {
        let (pool, held) = (self.pool.clone(), self.conn.take());
        let (kept, result) = tokio::task::spawn_blocking(move || {
            let mut conn = match held.map_or_else(|| pool.get(), Ok) {
                Ok(conn) => conn,
                Err(e) => return (None, Err(anyhow::Error::new(Unavailable(e.to_string())))),
            };
            match work(&mut conn) {
                Ok(value) => (Some(conn), Ok(value)),
                Err(e) => (None, Err(outage_or(e))),
            }
        })
        .await
        .map_err(|e| anyhow::anyhow!("database task panicked: {e}"))?;
        self.conn = kept;
        result
    }
}

/// `error`, or the outage it is (see [`lost_connection`]).
fn outage_or(error: anyhow::Error) -> anyhow::Error {
    match lost_connection(&error) {
        Some(why) => anyhow::Error::new(Unavailable(why)),
        None => error,
    }
}

/// The server went away under a query (restarted, stopped, connections
/// killed), or SQLite's write lock stayed taken past the busy timeout (a
/// long write from outside, a backup): an outage like a failed checkout,
/// answered 503 with `Retry-After`, not a bug.
fn lost_connection(error: &anyhow::Error) -> Option<String> {
    use diesel::result::{DatabaseErrorKind, Error};
    error
        .chain()
        .find_map(|cause| match cause.downcast_ref::<Error>()? {
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => Some(info.message().to_owned()),
            Error::DatabaseError(_, info) if is_sqlite_busy(info.message()) => {
                Some(info.message().to_owned())
            }
            _ => None,
        })
}

/// SQLite's words for "another connection holds the lock" (SQLITE_BUSY,
/// SQLITE_LOCKED).
fn is_sqlite_busy(message: &str) -> bool {
    message.contains("database is locked")
        || message.contains("database table is locked")
        || message.contains("database is busy")
}

/// The database could not be reached (no connection within the pool's
/// timeout). Answered as 503, not 500: it is an outage, not a bug.
#[derive(Debug, thiserror::Error)]
#[error("the database is unavailable: {0}")]
pub struct Unavailable(pub String);

/// A transaction that will write. On SQLite it starts with `BEGIN
/// IMMEDIATE`, taking the write lock up front (waiting up to the busy
/// timeout): a deferred transaction that reads and then writes fails at
/// once with "database is locked" when another writer got in between,
/// whatever the timeout. PostgreSQL needs nothing special.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::Connection;
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    match conn {
        DbConnection::Postgres(_) => return conn.transaction(work),
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
    }
    let result = work(conn);
    let DbConnection::Sqlite(inner) = conn else {
        unreachable!("the backend does not change inside a transaction")
    };
    match result {
        Ok(value) => match AnsiTransactionManager::commit_transaction(inner) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = AnsiTransactionManager::rollback_transaction(inner);
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = AnsiTransactionManager::rollback_transaction(inner);
            Err(e)
        }
    }
}
