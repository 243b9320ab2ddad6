use std::{path::PathBuf, time::Duration};

use anyhow::{Context, anyhow, bail};
use diesel::{
    connection::SimpleConnection,
    pg::PgConnection,
    prelude::*,
    r2d2::{self, ManageConnection},
    sqlite::SqliteConnection,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Per-connection SQLite settings: WAL lets readers run beside the writer,
/// the busy timeout makes a writer wait instead of failing with "database is
/// locked", and SQLite enforces foreign keys only when asked.
/// The busy timeout comes first: switching to WAL itself needs the lock.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

pub type Pool = r2d2::Pool<ConnectionManager>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the data lives, from `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// `postgres://…`, `sqlite://PATH`, or a bare path to an existing SQLite
    /// file. Anything else is refused with a message saying what would do.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                bail!("DATABASE_URL={url:?} names no file; try sqlite://./data/broadsheet.db");
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.contains("://") {
            bail!("DATABASE_URL={url:?}: unsupported scheme; use sqlite://PATH or postgres://USER@HOST/DB");
        }
        let path = PathBuf::from(url);
        if is_sqlite_file(&path) {
            return Ok(Self::Sqlite(path));
        }
        bail!(
            "DATABASE_URL={url:?} is a bare path but not an existing SQLite database; \
             write sqlite://{url} to create one there, or postgres://… for PostgreSQL"
        )
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }
}

/// SQLite files start with this 16-byte header.
fn is_sqlite_file(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| &header == b"SQLite format 3\0")
}

/// An r2d2 manager that picks the backend from the URL itself, so connection
/// errors keep their real cause, and sets SQLite's pragmas on every connection.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Postgres)
                .map_err(r2d2::Error::ConnectionError),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// Opens a pool on `url`, creating the SQLite file's folder if needed.
pub fn connect(url: &DatabaseUrl, max_size: u32) -> anyhow::Result<Pool> {
    if let DatabaseUrl::Sqlite(path) = url
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the database folder {}", dir.display()))?;
    }
    r2d2::Pool::builder()
        .max_size(max_size)
        // Open connections on demand only. Keeping a minimum idle set makes
        // r2d2's background threads reconnect on their own whenever
        // connections die (a restarted or dropped database), and libpq
        // connecting from a background thread while the process exits can
        // crash inside OpenSSL's cleanup (diesel#3441).
        .min_idle(Some(0))
        // A SQLite connection is a file handle that cannot go stale, so the
        // `SELECT 1` round trip r2d2 makes on every checkout is pure cost
        // there. A PostgreSQL connection can die with its server; the check
        // is what lets the pool recover after a restart.
        .test_on_check_out(matches!(url, DatabaseUrl::Postgres(_)))
        // The longest a request waits for a connection; then it answers 503
        // ("briefly unavailable") rather than hanging while the database is
        // down. A SQLite file cannot be down: a wait there is a busy machine
        // or the write lock (busy_timeout is 10 s), so it gets longer than
        // the lock wait instead of failing first (a test once hit 5 s while
        // Chromium started beside it).
        .connection_timeout(match url {
            DatabaseUrl::Sqlite(_) => Duration::from_secs(15),
            DatabaseUrl::Postgres(_) => Duration::from_secs(5),
        })
        .build(ConnectionManager { url: url.clone() })
        .with_context(|| match url {
            DatabaseUrl::Sqlite(path) => format!("opening the SQLite database {}", path.display()),
            DatabaseUrl::Postgres(_) => {
                "connecting to PostgreSQL (is DATABASE_URL right and the server up?)".into()
            }
        })
}

/// Applies pending migrations; returns the versions applied. On PostgreSQL an
/// advisory lock keeps several instances starting at once from racing.
pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(versions),
        DbConnection::Postgres(c) => {
            const LOCK: &str = "SELECT pg_advisory_lock(7243911)";
            c.batch_execute(LOCK).context("taking the migration lock")?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(versions);
            c.batch_execute("SELECT pg_advisory_unlock(7243911)")
                .context("releasing the migration lock")?;
            result
        }
    };
    let applied = applied.map_err(|e| anyhow!("applying migrations: {e}"))?;
    // Data no SQL migration can make: slugs from writers' names.
    crate::db::authors::give_bylines_profiles(conn, crate::db::now())
        .context("giving the writers of existing posts their profiles")?;
    Ok(applied)
}

fn versions(list: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    list.into_iter().map(|v| v.to_string()).collect()
}

pub fn has_pending_migrations(conn: &mut DbConnection) -> anyhow::Result<bool> {
    let pending = match conn {
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        DbConnection::Postgres(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
    };
    pending.map_err(|e| anyhow!("reading migration state: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_comes_from_the_url_scheme() {
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/x.db").unwrap(),
            DatabaseUrl::Sqlite("./data/x.db".into())
        );
    }

    #[test]
    fn a_bare_path_that_is_not_a_sqlite_file_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let text_file = dir.path().join("notes.txt");
        std::fs::write(&text_file, "hello, not a database").unwrap();
        let err = DatabaseUrl::parse(text_file.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an existing SQLite database"), "{err}");
        assert!(
            DatabaseUrl::parse("mysql://x")
                .unwrap_err()
                .to_string()
                .contains("unsupported scheme")
        );
    }

    #[test]
    fn a_bare_path_to_a_sqlite_file_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("real.db");
        let pool = connect(&DatabaseUrl::Sqlite(path.clone()), 1).unwrap();
        run_migrations(&mut pool.get().unwrap()).unwrap();
        assert_eq!(
            DatabaseUrl::parse(path.to_str().unwrap()).unwrap(),
            DatabaseUrl::Sqlite(path)
        );
    }
}
