//! Sending email over lettre: SMTP (STARTTLS, implicit TLS, or plain for
//! localhost; pooled connections), `.eml` files in a folder (the embedded
//! default), or memory (tests). Failures are classified so the worker knows
//! whether to retry, give up, suppress the address or slow down.

pub mod compose;
pub mod newsletter;
mod shared_part;
pub mod tracking;

pub mod smtp;

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, bail};
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::dkim::{DkimConfig, DkimSigningAlgorithm, DkimSigningKey},
    transport::smtp::PoolConfig,
};
use secrecy::ExposeSecret;

use crate::config::Config;
use smtp::{Security, SmtpPool, SmtpServer};

/// Where mail goes.
#[derive(Clone)]
pub enum Transport {
    /// Plain or STARTTLS: our pool of `TCP_NODELAY` connections (see `smtp.rs`).
    Smtp(Arc<SmtpPool>),
    /// `smtps://`: lettre's own pool, which does the TLS handshake itself.
    SmtpImplicitTls(AsyncSmtpTransport<Tokio1Executor>),
    Folder(AsyncFileTransport<Tokio1Executor>, PathBuf),
    Memory(Arc<Mutex<Vec<Message>>>),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    dkim: Option<Arc<DkimConfig>>,
}

/// Why a message was not accepted, as the worker needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// Try again later: a 4xx, a timeout, a refused connection, a full disk.
    Transient(String),
    /// The server is asking us to slow down (421, 451): retry, and ease off.
    Throttled(String),
    /// A 5xx about the message: do not retry.
    Permanent(String),
    /// A 550-class rejection of the recipient: do not retry, and stop
    /// writing to the address.
    RecipientRejected(String),
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let transport = match &config.smtp_url {
            Some(url) => smtp_transport(url.expose_secret(), config.mail_concurrency)?,
            None => {
                let dir = config.outbox_dir();
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating the mail folder {}", dir.display()))?;
                Transport::Folder(AsyncFileTransport::new(&dir), dir)
            }
        };
        let dkim = config
            .dkim_key_file
            .as_ref()
            .map(|path| dkim_config(path, &config.dkim_selector, &config.mail_from))
            .transpose()?
            .map(Arc::new);
        Ok(Self { transport, dkim })
    }

    /// A mailer that keeps messages in memory, for tests.
    pub fn in_memory() -> (Self, Arc<Mutex<Vec<Message>>>) {
        let sent = Arc::new(Mutex::new(Vec::new()));
        (
            Self {
                transport: Transport::Memory(sent.clone()),
                dkim: None,
            },
            sent,
        )
    }

    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) | Transport::SmtpImplicitTls(_) => "SMTP".into(),
            Transport::Folder(_, dir) => format!(".eml files in {}", dir.display()),
            Transport::Memory(_) => "memory".into(),
        }
    }

    /// Sends `message`; `Ok` means the server answered 250 (or the file is
    /// written).
    pub async fn send(&self, message: Message) -> Result<(), SendFailure> {
        self.stage(message).await?.finish().await
    }

    /// The first half of a send: over SMTP, the message's transaction is
    /// opened (see `SmtpPool::stage`) and nothing is accepted yet; the other
    /// transports do all their work in [`StagedMessage::finish`].
    pub async fn stage(&self, mut message: Message) -> Result<StagedMessage<'_>, SendFailure> {
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
        Ok(match &self.transport {
            Transport::Smtp(pool) => {
                let formatted = message.formatted();
                let staged = pool.stage(message.envelope(), &formatted).await?;
                StagedMessage::Smtp(Box::new(staged), formatted)
            }
            _ => StagedMessage::Whole(&self.transport, message),
        })
    }
}

/// A message half sent (see [`Mailer::stage`]).
pub enum StagedMessage<'a> {
    /// Boxed: an open SMTP connection is over a kilobyte.
    Smtp(Box<smtp::Staged<'a>>, Vec<u8>),
    Whole(&'a Transport, Message),
}

impl StagedMessage<'_> {
    /// Completes the send: `Ok` means the message is taken.
    pub async fn finish(self) -> Result<(), SendFailure> {
        match self {
            StagedMessage::Smtp(staged, formatted) => staged.finish(&formatted).await,
            StagedMessage::Whole(Transport::Smtp(pool), message) => {
                pool.send(message.envelope(), &message.formatted()).await
            }
            StagedMessage::Whole(Transport::SmtpImplicitTls(smtp), message) => {
                smtp.send(message).await.map(|_| ()).map_err(classify_smtp)
            }
            StagedMessage::Whole(Transport::Folder(folder, _), message) => folder
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendFailure::Transient(format!("writing the message file: {e}"))),
            StagedMessage::Whole(Transport::Memory(sent), message) => {
                sent.lock()
                    .expect("the memory mailbox is not poisoned")
                    .push(message);
                Ok(())
            }
        }
    }
}

/// How long one SMTP exchange (connecting, or sending a message) may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// `SMTP_URL` to a pooled transport. `?tls=starttls` (or `required`) demands
/// STARTTLS, `smtps://` is implicit TLS, plain `smtp://` is for localhost.
fn smtp_transport(url: &str, pool_size: usize) -> anyhow::Result<Transport> {
    let server = SmtpServer::parse(url)?;
    if server.security != Security::Implicit {
        return Ok(Transport::Smtp(Arc::new(SmtpPool::new(
            server,
            pool_size,
            SMTP_TIMEOUT,
        ))));
    }
    let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| anyhow::anyhow!("SMTP_URL is not a usable SMTP address: {e}"))?;
    Ok(Transport::SmtpImplicitTls(
        builder
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(
                PoolConfig::new()
                    .max_size(pool_size as u32)
                    .idle_timeout(Duration::from_secs(60)),
            )
            .build(),
    ))
}

fn dkim_config(path: &std::path::Path, selector: &str, from: &str) -> anyhow::Result<DkimConfig> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("reading the DKIM key {}", path.display()))?;
    let domain = from
        .parse::<lettre::message::Mailbox>()
        .context("MAIL_FROM is not an address")?
        .email
        .domain()
        .to_owned();
    // lettre reads RSA keys as PKCS#1 PEM, Ed25519 keys as base64 of the
    // 32-byte seed.
    let algorithm = if pem.contains("BEGIN RSA PRIVATE KEY") {
        DkimSigningAlgorithm::Rsa
    } else {
        DkimSigningAlgorithm::Ed25519
    };
    let key = DkimSigningKey::new(pem.trim(), algorithm)
        .map_err(|e| anyhow::anyhow!("the DKIM key is not usable: {e}"))?;
    if selector.is_empty() {
        bail!("BROADSHEET_DKIM_SELECTOR must not be empty");
    }
    Ok(DkimConfig::default_config(selector.to_owned(), domain, key))
}

fn classify_smtp(error: lettre::transport::smtp::Error) -> SendFailure {
    let text = error.to_string();
    let code = error.status().map(|code| code.to_string());
    match code.as_deref() {
        Some("421" | "451") => SendFailure::Throttled(text),
        Some("550" | "551" | "553") => SendFailure::RecipientRejected(text),
        _ if error.is_permanent() => SendFailure::Permanent(text),
        // 4xx, timeouts, refused or dropped connections.
        _ => SendFailure::Transient(text),
    }
}

/// Wakes this process's mail worker early when mail was queued.
#[derive(Clone, Default)]
pub struct Wakeup(std::sync::Arc<tokio::sync::Notify>);

impl Wakeup {
    pub fn ring(&self) {
        self.0.notify_one();
    }

    pub async fn wait(&self) {
        self.0.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[tokio::test]
    async fn a_configured_dkim_key_signs_every_message() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("dkim.key");
        let seed = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
        std::fs::write(&key_file, seed).unwrap();
        let config = Config {
            mail_from: "Broadsheet <news@example.com>".into(),
            ..Default::default()
        };
        let (mut mailer, sent) = Mailer::in_memory();
        mailer.dkim = Some(Arc::new(
            dkim_config(&key_file, "mail2026", &config.mail_from).unwrap(),
        ));
        let message = compose::prepared(
            &config,
            "Broadsheet",
            "reader@example.com",
            "<t@example.com>".into(),
            "Hi",
            "text".into(),
            "<p>html</p>".into(),
        )
        .unwrap();
        mailer.send(message).await.unwrap();
        let raw = String::from_utf8(sent.lock().unwrap()[0].formatted()).unwrap();
        assert!(raw.contains("DKIM-Signature:"), "{raw}");
        assert!(
            raw.contains("d=example.com") && raw.contains("s=mail2026"),
            "{raw}"
        );
    }
}
