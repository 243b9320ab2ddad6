//! A pool of SMTP connections whose sockets have `TCP_NODELAY` set.
//!
//! Why not lettre's own pool: lettre writes a message body and then, in a
//! second write, the `\r\n.\r\n` that ends it, and waits for the answer.
//! With Nagle's algorithm on (lettre cannot turn it off) that second small
//! write waits for the server to acknowledge the first, and servers delay
//! acknowledgements by up to 40 ms: every message on every connection
//! stalled ~40 ms, capping 8 connections near 200 messages a second (see the
//! README's Performance section). Here we open the socket ourselves and hand
//! it to lettre's `AsyncSmtpConnection`, which still speaks the protocol
//! (EHLO, STARTTLS, AUTH, MAIL/RCPT/DATA, dot-stuffing).
//!
//! Implicit TLS (`smtps://`, port 465) needs the TLS handshake before
//! lettre's connection can start, which lettre only does on sockets it opens
//! itself, so that mode keeps lettre's pool (see `mail::Transport`).

use std::{
    future::Future,
    sync::Mutex,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use lettre::{
    address::Envelope,
    transport::smtp::{
        authentication::{Credentials, Mechanism},
        client::{AsyncSmtpConnection, TlsParameters},
        commands::{Data, Mail, Rcpt},
        extension::{ClientId, Extension, MailBodyParameter, MailParameter},
    },
};
use tokio::sync::{Semaphore, SemaphorePermit};
use url::Url;

use crate::mail::{SendFailure, classify_smtp};

/// How the connection is secured, from `SMTP_URL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://host` with no `tls=`: for a relay on localhost.
    Plain,
    /// `?tls=starttls` (or `required`): STARTTLS or no sending at all.
    StartTlsRequired,
    /// `?tls=opportunistic`: STARTTLS when the server offers it.
    StartTlsOpportunistic,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// Where to connect and how, parsed from `SMTP_URL`.
#[derive(Clone)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
}

/// `localhost` or a loopback address: traffic that never leaves the machine.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl SmtpServer {
    /// `smtp://user:pass@host:587?tls=starttls`, `smtps://host:465`,
    /// `smtp://localhost:25`; a path (`/mail.example.com`) names the EHLO.
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        let url = Url::parse(raw).context("SMTP_URL is not a URL")?;
        let tls = url
            .query_pairs()
            .find(|(key, _)| key == "tls")
            .map(|(_, value)| value.into_owned());
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtp", None | Some("none")) => Security::Plain,
            ("smtp", Some("starttls" | "required")) => Security::StartTlsRequired,
            ("smtp", Some("opportunistic")) => Security::StartTlsOpportunistic,
            ("smtps", None) => Security::Implicit,
            (scheme, tls) => bail!(
                "SMTP_URL: use smtp:// (with ?tls=starttls, opportunistic or none) or smtps://, \
                 not {scheme}:// with tls={tls:?}"
            ),
        };
        let host = url.host_str().context("SMTP_URL has no host")?.to_owned();
        let default_port = match security {
            Security::Plain => 25,
            Security::StartTlsRequired | Security::StartTlsOpportunistic => 587,
            Security::Implicit => 465,
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .context("SMTP_URL's user or password is not UTF-8")
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        // A password over plain SMTP crosses the network readable by anyone
        // on the path. Only an explicit `tls=none` (or a relay on this
        // machine) may do that.
        if credentials.is_some() && tls.is_none() && security == Security::Plain && !is_loopback(&host) {
            bail!(
                "SMTP_URL would send its password unencrypted to {host}: add ?tls=starttls (or use smtps://); \
                 ?tls=none sends it in the clear on purpose"
            );
        }
        let name = url.path().trim_matches('/');
        Ok(Self {
            port: url.port().unwrap_or(default_port),
            security,
            credentials,
            hello: if name.is_empty() {
                ClientId::default()
            } else {
                ClientId::Domain(name.to_owned())
            },
            host,
        })
    }

    async fn connect(&self, timeout: Duration) -> anyhow::Result<AsyncSmtpConnection> {
        let tcp = tokio::time::timeout(
            timeout,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .context("connecting timed out")??;
        tcp.set_nodelay(true)?;
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await?;
        let start_tls = match self.security {
            Security::StartTlsRequired => true,
            Security::StartTlsOpportunistic => conn.can_starttls(),
            Security::Plain | Security::Implicit => false,
        };
        if start_tls {
            conn.starttls(TlsParameters::new(self.host.clone())?, &self.hello)
                .await?;
        }
        if let Some(credentials) = &self.credentials {
            // Opportunistic STARTTLS that the server did not offer (or a
            // downgrade on the path) must not take the password with it.
            if self.security == Security::StartTlsOpportunistic && !start_tls && !is_loopback(&self.host) {
                anyhow::bail!(
                    "{} offered no STARTTLS; not sending the SMTP password unencrypted",
                    self.host
                );
            }
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        Ok(conn)
    }
}

/// Up to `size` connections, opened on demand and reused while fresh.
pub struct SmtpPool {
    server: SmtpServer,
    idle: Mutex<Vec<IdleConnection>>,
    permits: Semaphore,
    timeout: Duration,
}

struct IdleConnection {
    conn: AsyncSmtpConnection,
    since: Instant,
}

/// An idle connection older than this is closed rather than reused: servers
/// drop idle clients after a while, and a dead socket would fail a send.
const MAX_IDLE: Duration = Duration::from_secs(60);
/// Idle longer than this, a connection is checked with NOOP before use.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(2);

impl SmtpPool {
    pub fn new(server: SmtpServer, size: usize, timeout: Duration) -> Self {
        Self {
            server,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size.max(1)),
            timeout,
        }
    }

    /// Sends one message; the connection goes back to the pool only after a
    /// clean answer (after an error its state is unknown).
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SendFailure> {
        self.stage(envelope, message).await?.finish(message).await
    }

    /// Opens a message's transaction: MAIL, RCPT and DATA, each answered.
    /// The server has not taken the message until [`Staged::finish`] sends
    /// its content and the final dot; if we go away before that, it drops
    /// it (RFC 5321 §4.1.1.4). The worker stages the next message while the
    /// previous one's outcome is being written, so the round trips overlap
    /// the commit without a second message being accepted unrecorded.
    pub async fn stage(&self, envelope: &Envelope, message: &[u8]) -> Result<Staged<'_>, SendFailure> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| SendFailure::Transient("the SMTP pool is closed".into()))?;
        let mut conn = match self.reusable().await {
            Some(conn) => conn,
            None => self
                .server
                .connect(self.timeout)
                .await
                .map_err(|e| SendFailure::Transient(format!("connecting to the SMTP server: {e:#}")))?,
        };
        match self
            .within_timeout(open_transaction(&mut conn, envelope, message))
            .await
        {
            Ok(()) => Ok(Staged {
                pool: self,
                _permit: permit,
                conn,
            }),
            Err(failure) => {
                conn.abort().await;
                Err(failure)
            }
        }
    }

    async fn within_timeout<T>(
        &self,
        exchange: impl Future<Output = Result<T, SendFailure>>,
    ) -> Result<T, SendFailure> {
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(SendFailure::Transient(format!(
                "the SMTP server did not answer within {:?}",
                self.timeout
            ))),
        }
    }

    /// The freshest idle connection that still answers, if any.
    async fn reusable(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let IdleConnection { mut conn, since } = self.idle.lock().ok()?.pop()?;
            let idle_for = since.elapsed();
            if idle_for > MAX_IDLE || conn.has_broken() {
                conn.abort().await;
                continue;
            }
            if idle_for < CHECK_AFTER_IDLE || conn.test_connected().await {
                return Some(conn);
            }
            conn.abort().await;
        }
    }

    fn put_back(&self, conn: AsyncSmtpConnection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(IdleConnection {
                conn,
                since: Instant::now(),
            });
        }
    }
}

/// A message whose transaction is open (see [`SmtpPool::stage`]), holding
/// its connection and its place in the pool.
pub struct Staged<'a> {
    pool: &'a SmtpPool,
    _permit: SemaphorePermit<'a>,
    conn: AsyncSmtpConnection,
}

impl Staged<'_> {
    /// Sends the content and the final dot: `Ok` once the server has taken
    /// the message. The connection goes back to the pool only after a clean
    /// answer (after an error its state is unknown).
    pub async fn finish(mut self, message: &[u8]) -> Result<(), SendFailure> {
        let content = async { self.conn.message(message).await.map_err(classify_smtp) };
        match self.pool.within_timeout(content).await {
            Ok(_) => {
                self.pool.put_back(self.conn);
                Ok(())
            }
            Err(failure) => {
                self.conn.abort().await;
                Err(failure)
            }
        }
    }
}

/// MAIL FROM (with SMTPUTF8 or 8BITMIME when the envelope or the message
/// needs them and the server offers them), RCPT TO each recipient, DATA:
/// lettre's `send` up to the content, which it offers no way to stop before.
async fn open_transaction(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    message: &[u8],
) -> Result<(), SendFailure> {
    let mut parameters = Vec::new();
    let addresses = envelope.from().into_iter().chain(envelope.to());
    if addresses
        .map(AsRef::<str>::as_ref)
        .any(|address| !address.is_ascii())
    {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(SendFailure::Permanent(
                "the recipient's address is not ASCII and the server does not offer SMTPUTF8".into(),
            ));
        }
        parameters.push(MailParameter::SmtpUtfEight);
    }
    if !message.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(SendFailure::Permanent(
                "the message is not ASCII and the server does not offer 8BITMIME".into(),
            ));
        }
        parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), parameters))
        .await
        .map_err(classify_smtp)?;
    for recipient in envelope.to() {
        conn.command(Rcpt::new(recipient.clone(), Vec::new()))
            .await
            .map_err(classify_smtp)?;
    }
    conn.command(Data).await.map_err(classify_smtp)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_password_is_never_sent_in_the_clear_to_another_machine_unless_asked() {
        assert!(SmtpServer::parse("smtp://me:secret@mail.example.com:587").is_err());
        assert!(SmtpServer::parse("smtp://me:secret@mail.example.com:587?tls=starttls").is_ok());
        assert!(SmtpServer::parse("smtp://me:secret@mail.example.com:25?tls=none").is_ok());
        assert!(SmtpServer::parse("smtp://me:secret@localhost:25").is_ok());
        assert!(SmtpServer::parse("smtp://me:secret@127.0.0.1:2525").is_ok());
        assert!(SmtpServer::parse("smtp://me:secret@[::1]:2525").is_ok());
        assert!(
            SmtpServer::parse("smtp://mail.example.com:25").is_ok(),
            "no password, nothing to leak"
        );
    }

    use super::*;

    #[test]
    fn smtp_urls_name_the_server_and_its_security() {
        let plain = SmtpServer::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (plain.host.as_str(), plain.port, plain.security),
            ("127.0.0.1", 2525, Security::Plain)
        );
        let submission = SmtpServer::parse("smtp://me%40x.org:p%20w@mail.example.com?tls=starttls").unwrap();
        assert_eq!(
            (submission.port, submission.security),
            (587, Security::StartTlsRequired)
        );
        assert!(submission.credentials.is_some());
        let implicit = SmtpServer::parse("smtps://mail.example.com").unwrap();
        assert_eq!((implicit.port, implicit.security), (465, Security::Implicit));
    }

    #[test]
    fn unusable_smtp_urls_are_refused_with_the_reason() {
        for bad in [
            "http://mail.example.com",
            "smtp://mail.example.com?tls=maybe",
            "not a url",
        ] {
            assert!(SmtpServer::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_staged_message_arrives_only_once_finished_and_never_if_abandoned() {
        let sink = broadsheet_testkit::smtp_sink::SmtpSink::start().await;
        let pool = SmtpPool::new(SmtpServer::parse(&sink.url()).unwrap(), 1, Duration::from_secs(5));
        let envelope = |to: &str| {
            Envelope::new(
                Some("news@example.com".parse().unwrap()),
                vec![to.parse().unwrap()],
            )
            .unwrap()
        };
        let message = b"Subject: Hello\r\n\r\nA line.\r\n.A line that starts with a dot.\r\n";

        let abandoned = pool.stage(&envelope("gone@example.com"), message).await.unwrap();
        let staged = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            sink.received().len()
        };
        assert_eq!(staged.await, 0, "nothing is taken before the final dot");
        drop(abandoned); // the worker went away mid-transaction

        let next = pool.stage(&envelope("kept@example.com"), message).await.unwrap();
        next.finish(message).await.unwrap();
        let received = sink.received();
        assert_eq!(received.len(), 1, "only the finished message arrived");
        assert_eq!(received[0].to, ["kept@example.com"]);
        assert!(
            received[0].data.contains("\r\n.A line that starts with a dot."),
            "{:?}",
            received[0].data
        );
    }
}
