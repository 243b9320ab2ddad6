//! argon2id password hashing with OWASP's parameters (19 MiB, 2 passes, 1
//! lane). Hashing is slow on purpose, so it runs on the blocking pool behind
//! a semaphore: a login flood queues instead of taking every core.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher as _, PasswordVerifier as _},
};
use tokio::sync::Semaphore;

use crate::domain::password::Password;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Verified against when the account does not exist or has no password,
    /// so an unknown email takes as long as a wrong password.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let dummy = argon2()
            .hash_password(b"not anyone's password")
            .map_err(|e| anyhow!("hashing the dummy password: {e}"))?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            dummy_hash: dummy.to_string().into(),
        })
    }

    /// The PHC string to store for `password`.
    pub async fn hash(&self, password: Password) -> anyhow::Result<String> {
        self.on_blocking_pool(move || {
            argon2()
                .hash_password(password.expose().as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| anyhow!("hashing a password: {e}"))
        })
        .await
    }

    /// Whether `password` matches `stored`; with no stored hash, does the same
    /// work and answers no.
    pub async fn verify(&self, password: Password, stored: Option<String>) -> anyhow::Result<bool> {
        let dummy = self.dummy_hash.clone();
        self.on_blocking_pool(move || {
            let (hash, real) = match &stored {
                Some(hash) => (hash.as_str(), true),
                None => (&*dummy, false),
            };
            let matches = argon2()
                .verify_password(password.expose().as_bytes(), hash)
                .is_ok();
            Ok(real && matches)
        })
        .await
    }

    async fn on_blocking_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("the hashing pool is closed")?;
        tokio::task::spawn_blocking(work)
            .await
            .context("the hashing task panicked")?
    }
}
