//! `spawn_app()` and `TestApp`: one server and one database per test.

use std::{
    collections::HashMap,
    sync::{Once, OnceLock},
};

use broadsheet::{
    config::Config,
    db::{
        self, DatabaseUrl, Pool,
        api_keys::NewApiKey,
        members::{NewComp, NewSubscription},
        users,
    },
    domain::{email::EmailAddress, role::Role},
    security::token,
    web::startup::Application,
};
use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use reqwest::{Response, StatusCode, redirect::Policy};
use time::Duration;

const PG_TEMPLATE: &str = "bs_test_template";
const PG_TEST_PREFIX: &str = "bs_test_db_";

pub struct TestApp {
    pub address: String,
    /// Holds `BROADSHEET_DATA_DIR` (the mail folder) for the test's life.
    pub data_dir: tempfile::TempDir,
    pub pool: Pool,
    /// A client with a cookie jar, like one browser.
    pub client: reqwest::Client,
    pub config: Config,
    database: TestDatabase,
}

enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self
            && let Ok(mut conn) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}

fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub fn new_client() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .build()
        .expect("building a client")
}

/// A browser behind a proxy that reports `address` in `X-Forwarded-For`
/// (the app must trust one proxy to read it).
pub fn client_at(address: &str) -> reqwest::Client {
    install_crypto_provider();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", address.parse().expect("a header value"));
    reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .default_headers(headers)
        .build()
        .expect("building a client")
}

/// Replaces the database name in a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let mut url = url::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(name);
    url.to_string()
}

/// Once per test process: drop what earlier runs left behind, then build a
/// migrated template that each test's database is copied from.
fn postgres_template(admin_url: &str) -> &'static str {
    static TEMPLATE: OnceLock<()> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let mut admin = PgConnection::establish(admin_url).expect("connecting to TEST_DATABASE_URL");
        #[derive(diesel::QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            datname: String,
        }
        let leftovers: Vec<Name> =
            diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'bs_test_%'")
                .load(&mut admin)
                .expect("listing test databases");
        for Name { datname } in leftovers {
            diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{datname}\" WITH (FORCE)"))
                .execute(&mut admin)
                .expect("dropping a leftover test database");
        }
        diesel::sql_query(format!("CREATE DATABASE \"{PG_TEMPLATE}\""))
            .execute(&mut admin)
            .expect("creating the template database");
        let template_url = DatabaseUrl::parse(&with_database(admin_url, PG_TEMPLATE)).unwrap();
        let pool = db::connect(&template_url, 1).expect("connecting to the template");
        db::run_migrations(&mut pool.get().unwrap()).expect("migrating the template");
    });
    PG_TEMPLATE
}

fn fresh_database() -> (String, TestDatabase) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let template = postgres_template(&admin_url);
            let name = format!("{PG_TEST_PREFIX}{}", uuid::Uuid::new_v4().simple());
            let mut admin = PgConnection::establish(&admin_url).expect("connecting to TEST_DATABASE_URL");
            diesel::sql_query(format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""))
                .execute(&mut admin)
                .expect("creating a test database");
            (
                with_database(&admin_url, &name),
                TestDatabase::Postgres { admin_url, name },
            )
        }
        _ => {
            let dir = tempfile::tempdir().expect("a temp dir");
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            (url, TestDatabase::Sqlite(dir))
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(HashMap::new()).await
}

/// A server with settings (by environment name) on top of the test defaults.
pub async fn spawn_app_with(settings: HashMap<&str, String>) -> TestApp {
    spawn(settings, true).await
}

/// A server whose email worker is not running: the test drives delivery.
pub async fn spawn_app_without_worker(settings: HashMap<&str, String>) -> TestApp {
    spawn(settings, false).await
}

async fn spawn(settings: HashMap<&str, String>, run_worker: bool) -> TestApp {
    // The app's Stripe client builds a TLS config at start, as `main` does
    // after installing the provider; a test run alone must do the same.
    install_crypto_provider();
    let (database_url, database) = fresh_database();
    let data_dir = tempfile::tempdir().expect("a data dir");
    let mut values = HashMap::from([
        ("BROADSHEET_BIND", "127.0.0.1:0".to_owned()),
        ("DATABASE_URL", database_url),
        ("BROADSHEET_DEMO", "off".to_owned()),
        ("BROADSHEET_DB_POOL_SIZE", "4".to_owned()),
        ("BROADSHEET_DATA_DIR", data_dir.path().display().to_string()),
        ("BROADSHEET_WORKER_POLL_MS", "50".to_owned()),
        ("BROADSHEET_MAIL_RETRY_BASE_MS", "50".to_owned()),
    ]);
    values.extend(settings);
    let config = Config::default()
        .with_values(&values)
        .expect("test settings are valid");
    let app = Application::build_with(config.clone(), run_worker)
        .await
        .expect("building the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let pool = db::connect(&DatabaseUrl::parse(&config.database_url).unwrap(), 2).expect("a test pool");
    TestApp {
        address,
        data_dir,
        pool,
        client: new_client(),
        config,
        database,
    }
}

/// A marker that must appear only to readers entitled to the paid part.
/// The password `TestApp::member` signs everyone up with.
pub const PASSWORD: &str = "correct horse battery";

pub const PAID_MARKER: &str = "PAIDMARKER7f3a9c";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_with(&self.client, path).await
    }

    pub async fn get_with(&self, client: &reqwest::Client, path: &str) -> Response {
        client.get(self.url(path)).send().await.expect("GET failed")
    }

    pub async fn get_text(&self, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
        let response = self.get_with(client, path).await;
        (response.status(), response.text().await.unwrap())
    }

    pub async fn get_json(&self, client: &reqwest::Client, path: &str) -> (StatusCode, serde_json::Value) {
        let response = self.get_with(client, path).await;
        let status = response.status();
        (status, response.json().await.expect("a JSON body"))
    }

    /// The CSRF token a form on the site would carry for this client.
    pub async fn csrf_token(&self, client: &reqwest::Client) -> String {
        let (_, html) = self.get_text(client, "/login").await;
        const FIELD: &str = "name=\"csrf_token\" value=\"";
        let start = html.find(FIELD).expect("a CSRF field") + FIELD.len();
        html[start..start + 43].to_owned()
    }

    /// Submits a site form the way a browser would, with its CSRF token.
    pub async fn post_form(&self, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf_token(client).await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        client
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .expect("POST failed")
    }

    pub async fn signup(&self, client: &reqwest::Client, email: &str, password: &str) -> Response {
        self.post_form(client, "/signup", &[("email", email), ("password", password)])
            .await
    }

    pub async fn login(&self, client: &reqwest::Client, email: &str, password: &str) -> Response {
        self.post_form(client, "/login", &[("email", email), ("password", password)])
            .await
    }

    /// A new browser signed up (and so logged in) as `email`; returns the
    /// client and the user's id.
    pub async fn member(&self, email: &str) -> (reqwest::Client, i32) {
        let client = new_client();
        let response = self.signup(&client, email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "signup of {email}");
        (client, self.user_id(email).await)
    }

    /// A new browser signed up as `email` with an active subscription, and
    /// its raw session token (for `Authorization: Bearer`).
    pub async fn subscriber_with_session_token(&self, email: &str) -> (reqwest::Client, String) {
        let client = new_client();
        let signup = self.signup(&client, email, "correct horse battery").await;
        let token = signup
            .cookies()
            .find(|c| c.name() == "bs_session")
            .expect("signing up sets a session cookie")
            .value()
            .to_owned();
        let user_id = self.user_id(email).await;
        self.add_subscription(user_id, "active", 30).await;
        (client, token)
    }

    pub async fn user_id(&self, email: &str) -> i32 {
        let email = EmailAddress::parse(email).unwrap();
        self.db(move |conn| Ok(users::find_by_email(conn, &email)?.expect("the user exists").id))
            .await
    }

    pub async fn db<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut db::DbConnection) -> anyhow::Result<T> + Send + 'static,
    ) -> T {
        db::run(&self.pool, work).await.expect("test database work")
    }

    /// `n` verified members who want the newsletter, inserted directly (no
    /// password, so no hashing); returns their emails.
    pub async fn add_verified_members(&self, prefix: &str, n: usize) -> Vec<String> {
        let emails: Vec<String> = (0..n).map(|i| format!("{prefix}{i}@example.com")).collect();
        let rows = emails.clone();
        self.db(move |conn| {
            use broadsheet::db::schema::users as u;
            use diesel::prelude::*;
            let now = db::now();
            for chunk in rows.chunks(2000) {
                let values: Vec<_> = chunk
                    .iter()
                    .map(|email| {
                        (
                            u::email.eq(email),
                            u::role.eq("reader"),
                            u::email_verified_at.eq(Some(now)),
                            u::created_at.eq(now),
                        )
                    })
                    .collect();
                broadsheet::per_backend!(conn, |c| diesel::insert_into(u::table).values(&values).execute(c))?;
                let ids: Vec<i32> = u::table.filter(u::email.eq_any(chunk)).select(u::id).load(conn)?;
                for id in ids {
                    broadsheet::db::newsletters::join_defaults(conn, id, now)?;
                }
            }
            Ok(())
        })
        .await;
        emails
    }

    pub async fn set_role(&self, user_id: i32, role: Role) {
        self.db(move |conn| Ok(users::set_role(conn, user_id, role)?))
            .await;
    }

    /// Gives the user a subscription with `status` whose period ends
    /// `days_from_now` days from now (negative: in the past); a `past_due`
    /// one has been so since then.
    pub async fn add_subscription(&self, user_id: i32, status: &'static str, days_from_now: i64) {
        self.add_subscription_on(user_id, status, days_from_now, "price_monthly")
            .await;
    }

    /// `add_subscription` on the Stripe price `price_id`.
    pub async fn add_subscription_on(
        &self,
        user_id: i32,
        status: &'static str,
        days_from_now: i64,
        price_id: &'static str,
    ) {
        self.db(move |conn| {
            let now = db::now();
            NewSubscription {
                user_id,
                stripe_subscription_id: &format!("sub_{}", uuid::Uuid::new_v4().simple()),
                status,
                price_id,
                current_period_end: Some(now + Duration::days(days_from_now)),
                cancel_at_period_end: false,
                // A past_due subscription fell behind when its period ended.
                past_due_since: (status == "past_due").then(|| now + Duration::days(days_from_now)),
                stripe_updated_at: now,
                created_at: now,
            }
            .insert(conn)?;
            Ok(())
        })
        .await;
    }

    pub async fn add_comp(&self, user_id: i32, expires_in_days: Option<i64>) {
        self.add_comp_of_tier(user_id, expires_in_days, None).await;
    }

    /// A comp for one tier (`None`: every tier).
    pub async fn add_comp_of_tier(&self, user_id: i32, expires_in_days: Option<i64>, tier_id: Option<i32>) {
        self.db(move |conn| {
            let now = db::now();
            NewComp {
                user_id,
                granted_by: None,
                expires_at: expires_in_days.map(|d| now + Duration::days(d)),
                reason: "test",
                created_at: now,
                tier_id,
            }
            .insert(conn)?;
            Ok(())
        })
        .await;
    }

    /// A staff user with an API key; returns the key.
    pub async fn api_key_for(&self, email: &str, role: Role) -> String {
        let (_, user_id) = self.member(email).await;
        self.set_role(user_id, role).await;
        let key = token::generate(token::API_KEY_PREFIX);
        let key_hash = token::hash(&key);
        self.db(move |conn| {
            NewApiKey {
                name: "test",
                key_hash: &key_hash,
                user_id,
                created_at: db::now(),
            }
            .insert(conn)?;
            Ok(())
        })
        .await;
        key
    }

    /// The "view in browser" path a newsletter gives `user_id` for the
    /// article at `slug`, signed with this server's key.
    pub async fn email_copy_path(&self, user_id: i32, slug: &str) -> String {
        let slug = slug.to_owned();
        let (key, article_id) = self
            .db(move |conn| {
                use broadsheet::db::schema::{articles, server_secrets};
                use diesel::prelude::*;
                let key: String = server_secrets::table
                    .find("signing_key")
                    .select(server_secrets::value)
                    .first(conn)?;
                let id: i32 = articles::table
                    .filter(articles::slug.eq(&slug))
                    .select(articles::id)
                    .first(conn)?;
                Ok((key, id))
            })
            .await;
        let bytes: [u8; 32] = hex::decode(key).unwrap().try_into().unwrap();
        let key = broadsheet::security::signed::SigningKey::new(bytes);
        format!(
            "/email/{}",
            broadsheet::security::signed::email_copy_token(&key, user_id, article_id)
        )
    }

    /// An author's key (author@example.com): writes, never publishes.
    pub async fn author_key(&self) -> String {
        self.api_key_for("author@example.com", Role::Author).await
    }

    pub async fn editor_key(&self) -> String {
        self.api_key_for("editor@example.com", Role::Editor).await
    }

    pub async fn post_article(&self, key: &str, body: serde_json::Value) -> Response {
        self.client
            .post(self.url("/admin/api/articles"))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .expect("POST failed")
    }

    /// Publishes an article of each visibility; the paid one hides
    /// [`PAID_MARKER`] after its divider. Returns the slugs (public, members, paid).
    pub async fn publish_one_of_each(&self) -> (String, String, String) {
        let key = self.editor_key().await;
        let mut slugs = Vec::new();
        for (title, visibility, markdown) in [
            (
                "Open letter",
                "public",
                "Everyone may read this.\n\nAll of it.".to_owned(),
            ),
            (
                "Members memo",
                "members",
                "Members only intro.\n\nMembers only rest.".to_owned(),
            ),
            (
                "Paid piece",
                "paid",
                format!("Free intro.\n\n<!-- paywall -->\n\nThe secret {PAID_MARKER} part."),
            ),
        ] {
            let response = self
                .post_article(&key, serde_json::json!({"title": title, "markdown": markdown, "visibility": visibility, "publish": true}))
                .await;
            assert_eq!(response.status(), StatusCode::CREATED);
            let json: serde_json::Value = response.json().await.unwrap();
            slugs.push(json["slug"].as_str().unwrap().to_owned());
        }
        (slugs[0].clone(), slugs[1].clone(), slugs[2].clone())
    }

    /// Opens every (browser, path) at once; returns how many pages carried
    /// the paid part.
    pub async fn full_reads_at_once(&self, opens: Vec<(reqwest::Client, String)>) -> usize {
        let pages = opens.iter().map(|(client, path)| self.get_text(client, path));
        futures::future::join_all(pages)
            .await
            .into_iter()
            .filter(|(_, page)| page.contains(PAID_MARKER))
            .count()
    }

    /// Takes the database's write lock from outside the server (SQLite: the
    /// file's; PostgreSQL: `postgres_lock`'s), as a long external write
    /// would, until the returned guard is released or dropped.
    pub async fn hold_write_lock(&self, postgres_lock: &'static str) -> WriteLock {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (locked, is_locked) = tokio::sync::oneshot::channel::<()>();
        let database_url = self.config.database_url.clone();
        let holder = std::thread::spawn(move || {
            use diesel::connection::SimpleConnection;
            let url = DatabaseUrl::parse(&database_url).unwrap();
            let pool = db::connect(&url, 1).unwrap();
            let mut conn = pool.get().unwrap();
            let lock = match &*conn {
                db::DbConnection::Sqlite(_) => "BEGIN IMMEDIATE".to_owned(),
                db::DbConnection::Postgres(_) => format!("BEGIN; {postgres_lock}"),
            };
            conn.batch_execute(&lock).unwrap();
            locked.send(()).unwrap();
            let _ = released.recv();
            conn.batch_execute("ROLLBACK").unwrap();
        });
        is_locked.await.unwrap();
        WriteLock {
            release: Some(release),
            holder: Some(holder),
        }
    }

    pub async fn count_rows(&self, table: &'static str) -> i64 {
        self.count_where(table, "1 = 1").await
    }

    /// Rows of `table` matching a fixed SQL condition.
    pub async fn count_where(&self, table: &'static str, condition: &'static str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        self.db(move |conn| {
            let count: Count =
                diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table} WHERE {condition}"))
                    .get_result(conn)?;
            Ok(count.n)
        })
        .await
    }

    /// Another server on this test's database, as a second instance behind
    /// a load balancer would be. Returns its address.
    pub async fn second_instance(&self) -> String {
        let app = Application::build(self.config.clone())
            .await
            .expect("building a second instance");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        address
    }

    pub async fn admin(
        &self,
        method: reqwest::Method,
        key: Option<&str>,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("admin request failed")
    }

    pub fn backend_name(&self) -> &'static str {
        match self.database {
            TestDatabase::Sqlite(_) => "sqlite",
            TestDatabase::Postgres { .. } => "postgres",
        }
    }
}

/// A write lock held by [`TestApp::hold_write_lock`].
pub struct WriteLock {
    release: Option<std::sync::mpsc::Sender<()>>,
    holder: Option<std::thread::JoinHandle<()>>,
}

impl WriteLock {
    pub fn release(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.send(());
        }
        if let Some(holder) = self.holder.take() {
            holder.join().unwrap();
        }
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        self.finish();
    }
}
