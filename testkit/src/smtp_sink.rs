//! A small real SMTP server on loopback, for the tests and the benchmark:
//! it accepts and keeps every message, and fails on demand (reject a
//! recipient with 550, answer 421/451 for a while, go down and come back).
//! Not for production: it stores mail in memory.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// A newsletter issue (by its Message-ID), not transactional mail.
    pub fn is_newsletter(&self) -> bool {
        self.data
            .lines()
            .take_while(|line| !line.is_empty())
            .any(|line| line.to_ascii_lowercase().starts_with("message-id: <delivery-"))
    }
}

#[derive(Default)]
struct Faults {
    /// Recipients answered with `550 5.1.1` at RCPT.
    rejected: Vec<String>,
    /// This many transactions answered with this code at MAIL FROM.
    temporary: Option<(u16, usize)>,
}

/// Called with each message at its final dot, before the sink answers.
type OnMessage = Arc<dyn Fn(&Received) + Send + Sync>;

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    on_message: Arc<Mutex<Option<OnMessage>>>,
    faults: Arc<Mutex<Faults>>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// Keep each message's text (tests read it); the benchmark counts only
    /// (keeping each Message-ID line), so a million messages do not sit in
    /// memory.
    keep_text: bool,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_keeping(true).await
    }

    /// A sink that counts messages and their recipients but drops their text.
    pub async fn start_counting() -> Self {
        Self::start_keeping(false).await
    }

    async fn start_keeping(keep_text: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = Self {
            port: listener.local_addr().unwrap().port(),
            received: Default::default(),
            on_message: Default::default(),
            faults: Default::default(),
            tasks: Default::default(),
            keep_text,
        };
        sink.serve(listener);
        sink
    }

    /// An address with nothing listening yet; `come_up` starts the server.
    pub async fn down() -> Self {
        let sink = Self::start().await;
        sink.go_down();
        sink
    }

    pub fn go_down(&self) {
        for task in self.tasks.lock().expect("sink lock").drain(..) {
            task.abort();
        }
    }

    pub async fn come_up(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("the sink's port is free again");
        self.serve(listener);
    }

    fn serve(&self, listener: TcpListener) {
        let sink = self.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let conn = sink.clone();
                let task = tokio::spawn(async move {
                    let _ = conn.session(stream).await;
                });
                sink.tasks.lock().expect("sink lock").push(task);
            }
        });
        self.tasks.lock().expect("sink lock").push(accept);
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn reject(&self, recipient: &str) {
        self.faults
            .lock()
            .unwrap()
            .rejected
            .push(recipient.to_lowercase());
    }

    pub fn fail_temporarily(&self, code: u16, transactions: usize) {
        self.faults.lock().expect("sink lock").temporary = Some((code, transactions));
    }

    /// Runs `check` on each message as it completes (at its final dot,
    /// before the 250): the moment the message is the server's, so a test
    /// can look at what the sender has on record then.
    pub fn on_each_message(&self, check: impl Fn(&Received) + Send + Sync + 'static) {
        *self.on_message.lock().expect("sink lock") = Some(Arc::new(check));
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("sink lock").clone()
    }

    /// The newsletter issues received (transactional mail left out).
    pub fn newsletters(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(Received::is_newsletter)
            .collect()
    }

    /// How many messages arrived.
    pub fn count(&self) -> usize {
        self.received.lock().expect("sink lock").len()
    }

    /// How many distinct Message-IDs arrived, and how many messages: a
    /// message delivered twice counts once in the first.
    pub fn distinct_message_ids(&self) -> (usize, usize) {
        let received = self.received.lock().expect("sink lock");
        let distinct: std::collections::HashSet<&str> = received
            .iter()
            .filter_map(|message| {
                message
                    .data
                    .lines()
                    .find(|line| line.len() > 11 && line[..11].eq_ignore_ascii_case("message-id:"))
            })
            .collect();
        (distinct.len(), received.len())
    }

    /// Forgets what arrived (between benchmark rounds).
    pub fn clear(&self) {
        self.received.lock().expect("sink lock").clear();
    }

    /// How many newsletter issues each recipient got.
    pub fn per_recipient(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for message in self.newsletters() {
            for to in message.to {
                *counts.entry(to).or_default() += 1;
            }
        }
        counts
    }

    /// Waits until `n` messages arrived (or `limit` passed, so a broken
    /// engine fails the test instead of hanging it).
    pub async fn wait_for(&self, n: usize, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let count = self.received.lock().expect("sink lock").len();
            if count >= n || tokio::time::Instant::now() > deadline {
                return count;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn session(&self, stream: TcpStream) -> std::io::Result<()> {
        // One write per reply and no Nagle: split writes stall on delayed ACKs.
        stream.set_nodelay(true)?;
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 sink.test ESMTP\r\n").await?;
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_owned();
            let upper = command.to_uppercase();
            let reply: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                "250-sink.test\r\n250 8BITMIME".into()
            } else if upper.starts_with("MAIL FROM") {
                to.clear();
                let mut faults = self.faults.lock().expect("sink lock");
                match faults.temporary {
                    Some((code, n)) if n > 0 => {
                        faults.temporary = Some((code, n - 1));
                        format!("{code} 4.3.2 slow down, please")
                    }
                    _ => "250 2.1.0 OK".into(),
                }
            } else if upper.starts_with("RCPT TO") {
                let address = command[8..]
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_lowercase();
                if self.faults.lock().expect("sink lock").rejected.contains(&address) {
                    "550 5.1.1 no such mailbox".into()
                } else {
                    to.push(address);
                    "250 2.1.5 OK".into()
                }
            } else if upper == "DATA" {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(()); // dropped mid-message: nothing accepted
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    if self.keep_text {
                        data.push_str(
                            line.strip_prefix('.')
                                .filter(|_| line.starts_with(".."))
                                .unwrap_or(&line),
                        );
                    } else if line.len() > 11 && line[..11].eq_ignore_ascii_case("message-id:") {
                        // Counting keeps only this line: exactly-once is
                        // counted by Message-ID.
                        data.push_str(&line);
                    }
                }
                let message = Received {
                    to: std::mem::take(&mut to),
                    data,
                };
                let check = self.on_message.lock().expect("sink lock").clone();
                if let Some(check) = check {
                    check(&message);
                }
                self.received.lock().expect("sink lock").push(message);
                "250 2.0.0 queued".into()
            } else if upper == "QUIT" {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            } else if upper.starts_with("RSET") || upper.starts_with("NOOP") {
                "250 2.0.0 OK".into()
            } else {
                "502 5.5.2 command not implemented".into()
            };
            write.write_all(format!("{reply}\r\n").as_bytes()).await?;
        }
    }
}
