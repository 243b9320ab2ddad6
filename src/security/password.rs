//! argon2id password hashing with OWASP's parameters (19 MiB, 2 passes, 1
//! lane). Hashing is slow on purpose, so it runs on a few threads of its own
//! at a lower CPU priority: a login flood queues for those threads and
//! cannot take the cores that serve pages (measured by the login storm in
//! `broadsheet bench`).

use std::sync::{Arc, Mutex, mpsc};

use anyhow::{Context, anyhow};
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher as _, PasswordVerifier as _},
};
use tokio::sync::oneshot;

use crate::domain::password::Password;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Clone)]
pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
    /// Verified against when the account does not exist or has no password,
    /// so an unknown email takes as long as a wrong password.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// Starts `threads` hashing threads; they end when the last clone of the
    /// hasher is dropped.
    pub fn new(threads: usize) -> anyhow::Result<Self> {
        let dummy = argon2()
            .hash_password(b"not anyone's password")
            .map_err(|e| anyhow!("hashing the dummy password: {e}"))?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || hashing_thread(&queue))
                .context("starting a password hashing thread")?;
        }
        Ok(Self {
            jobs,
            dummy_hash: dummy.to_string().into(),
        })
    }

    /// The PHC string to store for `password`.
    pub async fn hash(&self, password: Password) -> anyhow::Result<String> {
        self.on_hashing_thread(move || {
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
        self.on_hashing_thread(move || {
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

    async fn on_hashing_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The asker may have gone (a dropped connection): nothing to tell.
            let _ = done.send(work());
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow!("the password hashing threads have stopped"))?;
        result.await.context("a password hashing job panicked")?
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Niceness of the hashing threads: page requests, at the default 0, win
/// the CPU whenever both want it.
const HASHING_NICENESS: i32 = 10;

fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    lower_this_threads_priority();
    loop {
        // Holding the lock while waiting is fine: whoever holds it takes the
        // next job, the others wait their turn for the lock.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return, // every sender dropped
        }
    }
}

#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    // On Linux, niceness is per thread: PRIO_PROCESS with a thread id.
    // SAFETY: plain syscalls on this thread's own id; failure only logs.
    let result = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, HASHING_NICENESS)
    };
    if result != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "could not lower the priority of a password hashing thread"
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}
