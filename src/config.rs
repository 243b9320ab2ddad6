//! Settings: defaults in code, then an optional TOML file, then the
//! environment. Names follow DESIGN §12 so scripts and docs agree; a TOML file
//! uses the same names in lower case without the `BROADSHEET_` prefix
//! (`bind`, `database_url`, `past_due_grace_days`, …).

use std::{collections::HashMap, net::SocketAddr, path::PathBuf};

use anyhow::{Context, bail};
use url::Url;

/// Every setting: its environment name and its TOML key.
const SETTINGS: &[(&str, &str)] = &[
    ("BROADSHEET_BIND", "bind"),
    ("PUBLIC_URL", "public_url"),
    ("DATABASE_URL", "database_url"),
    ("BROADSHEET_DATA_DIR", "data_dir"),
    ("BROADSHEET_DEMO", "demo"),
    ("BROADSHEET_SECURE_COOKIES", "secure_cookies"),
    ("PAST_DUE_GRACE_DAYS", "past_due_grace_days"),
    ("BROADSHEET_PREVIEW_CHARS", "preview_chars"),
    ("BROADSHEET_DB_POOL_SIZE", "db_pool_size"),
    ("BROADSHEET_HASHING_CONCURRENCY", "hashing_concurrency"),
    ("BROADSHEET_LOGIN_PER_IP_PER_MINUTE", "login_per_ip_per_minute"),
    (
        "BROADSHEET_LOGIN_PER_ACCOUNT_PER_MINUTE",
        "login_per_account_per_minute",
    ),
    ("BROADSHEET_TRUST_PROXY", "trust_proxy"),
];

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub public_url: Url,
    /// `sqlite://PATH` or `postgres://…`; parsed by `db::DatabaseUrl`.
    pub database_url: String,
    pub data_dir: PathBuf,
    /// Seed demo content into an empty database. `None`: on for SQLite only.
    pub demo: Option<bool>,
    /// The cookie `Secure` flag. `None`: off for http://localhost and
    /// 127.0.0.1, on otherwise.
    pub secure_cookies: Option<bool>,
    pub past_due_grace_days: i64,
    /// Length of the automatic preview when an article has no divider.
    pub preview_chars: usize,
    pub db_pool_size: u32,
    /// How many argon2 hashes may run at once; more wait their turn, so a
    /// login flood cannot take every core.
    pub hashing_concurrency: usize,
    pub login_per_ip_per_minute: u32,
    pub login_per_account_per_minute: u32,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy
    /// you run, or anyone can dodge the per-IP limits).
    pub trust_proxy: bool,
}

impl Default for Config {
    /// The embedded setup: SQLite under `./data`, everything local.
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".parse().expect("valid default address"),
            public_url: Url::parse("http://127.0.0.1:8080").expect("valid default URL"),
            database_url: "sqlite://./data/broadsheet.db".into(),
            data_dir: PathBuf::from("./data"),
            demo: None,
            secure_cookies: None,
            past_due_grace_days: 7,
            preview_chars: 600,
            db_pool_size: 10,
            hashing_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            login_per_ip_per_minute: 20,
            login_per_account_per_minute: 5,
            trust_proxy: false,
        }
    }
}

impl Config {
    /// Defaults, then `file` (if any), then the process environment.
    pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let mut values = HashMap::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            values.extend(toml_values(&text).with_context(|| format!("in {}", path.display()))?);
        }
        for (env, _) in SETTINGS {
            if let Ok(value) = std::env::var(env) {
                values.insert(*env, value);
            }
        }
        Self::default().with_values(&values)
    }

    /// Applies settings by environment name.
    pub fn with_values(mut self, values: &HashMap<&str, String>) -> anyhow::Result<Self> {
        for (&name, raw) in values {
            let raw = raw.trim();
            let bad = || format!("{name}={raw:?} is not valid");
            match name {
                "BROADSHEET_BIND" => self.bind = raw.parse().with_context(bad)?,
                "PUBLIC_URL" => self.public_url = Url::parse(raw).with_context(bad)?,
                "DATABASE_URL" => self.database_url = raw.to_owned(),
                "BROADSHEET_DATA_DIR" => self.data_dir = PathBuf::from(raw),
                "BROADSHEET_DEMO" => self.demo = Some(parse_bool(raw).with_context(bad)?),
                "BROADSHEET_SECURE_COOKIES" => self.secure_cookies = Some(parse_bool(raw).with_context(bad)?),
                "PAST_DUE_GRACE_DAYS" => {
                    self.past_due_grace_days = parse_in(raw, 0..=365).with_context(bad)?
                }
                "BROADSHEET_PREVIEW_CHARS" => {
                    self.preview_chars = parse_in(raw, 50..=100_000).with_context(bad)?
                }
                "BROADSHEET_DB_POOL_SIZE" => self.db_pool_size = parse_in(raw, 1..=1000).with_context(bad)?,
                "BROADSHEET_HASHING_CONCURRENCY" => {
                    self.hashing_concurrency = parse_in(raw, 1..=256).with_context(bad)?
                }
                "BROADSHEET_LOGIN_PER_IP_PER_MINUTE" => {
                    self.login_per_ip_per_minute = parse_in(raw, 1..=100_000).with_context(bad)?
                }
                "BROADSHEET_LOGIN_PER_ACCOUNT_PER_MINUTE" => {
                    self.login_per_account_per_minute = parse_in(raw, 1..=100_000).with_context(bad)?
                }
                "BROADSHEET_TRUST_PROXY" => self.trust_proxy = parse_bool(raw).with_context(bad)?,
                other => bail!("unknown setting {other}"),
            }
        }
        if self.public_url.cannot_be_a_base() || !matches!(self.public_url.scheme(), "http" | "https") {
            bail!("PUBLIC_URL must be an http(s) URL, not {}", self.public_url);
        }
        Ok(self)
    }

    pub fn is_sqlite(&self) -> bool {
        !self.database_url.starts_with("postgres")
    }

    pub fn demo_enabled(&self) -> bool {
        self.demo.unwrap_or_else(|| self.is_sqlite())
    }

    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies.unwrap_or_else(|| {
            let local = matches!(
                self.public_url.host_str(),
                Some("localhost" | "127.0.0.1" | "[::1]")
            );
            !(self.public_url.scheme() == "http" && local)
        })
    }

    /// An absolute URL under `PUBLIC_URL` for a site path like `/p/slug`.
    pub fn url_for(&self, path: &str) -> String {
        format!("{}{}", self.public_url.as_str().trim_end_matches('/'), path)
    }
}

/// Reads a flat TOML table into settings keyed by environment name.
fn toml_values(text: &str) -> anyhow::Result<HashMap<&'static str, String>> {
    let table: toml::Table = text.parse().context("not valid TOML")?;
    let mut values = HashMap::new();
    for (key, value) in table {
        let Some((env, _)) = SETTINGS.iter().find(|(_, toml_key)| *toml_key == key) else {
            let known: Vec<_> = SETTINGS.iter().map(|(_, k)| *k).collect();
            bail!("unknown setting {key:?}; known: {}", known.join(", "));
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => bail!("{key} must be a string, number or boolean, not {other}"),
        };
        values.insert(*env, text);
    }
    Ok(values)
}

fn parse_bool(raw: &str) -> anyhow::Result<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Ok(true),
        "0" | "false" | "off" | "no" => Ok(false),
        _ => bail!("expected on/off, true/false or 1/0"),
    }
}

fn parse_in<T>(raw: &str, range: std::ops::RangeInclusive<T>) -> anyhow::Result<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let value: T = raw.parse()?;
    if !range.contains(&value) {
        bail!("expected a value from {} to {}", range.start(), range.end());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toml_file_uses_lowercase_names_and_the_environment_wins() {
        let mut values =
            toml_values("bind = \"0.0.0.0:9000\"\npast_due_grace_days = 3\ndemo = false").unwrap();
        values.insert("PAST_DUE_GRACE_DAYS", "5".into());
        let config = Config::default().with_values(&values).unwrap();
        assert_eq!(config.bind.port(), 9000);
        assert_eq!(config.past_due_grace_days, 5);
        assert!(!config.demo_enabled());
    }

    #[test]
    fn unknown_and_malformed_settings_are_refused_by_name() {
        assert!(
            toml_values("colour = \"blue\"")
                .unwrap_err()
                .to_string()
                .contains("colour")
        );
        let values = HashMap::from([("PAST_DUE_GRACE_DAYS", "soon".to_owned())]);
        let err = Config::default().with_values(&values).unwrap_err();
        assert!(err.to_string().contains("PAST_DUE_GRACE_DAYS"), "{err}");
    }

    #[test]
    fn secure_cookies_default_off_only_for_plain_http_on_localhost() {
        assert!(!Config::default().secure_cookies());
        let values = HashMap::from([("PUBLIC_URL", "https://news.example.com".to_owned())]);
        assert!(Config::default().with_values(&values).unwrap().secure_cookies());
    }
}
