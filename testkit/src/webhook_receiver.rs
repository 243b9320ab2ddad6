//! A receiver for Broadsheet's outbound webhooks: records every POST (its
//! signature header and body) and answers with the status it is told to,
//! so a test can make it fail and come back.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, AtomicU16, Ordering},
};

use tokio::sync::Notify;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, http::StatusCode, web};

/// One POST as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub signature: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
    /// The status it was answered with.
    pub answered: u16,
}

#[derive(Clone)]
struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    /// While set, POSTs are recorded but not answered.
    holding: Arc<AtomicBool>,
    released: Arc<Notify>,
}

pub struct WebhookReceiver {
    /// `http://127.0.0.1:{port}`
    pub address: String,
    state: ReceiverState,
}

async fn receive(state: web::Data<ReceiverState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let index = {
        let mut received = state.received.lock().unwrap();
        received.push(Received {
            path: req.path().to_owned(),
            signature: header("Broadsheet-Signature"),
            content_type: header("Content-Type"),
            body: String::from_utf8_lossy(&body).into_owned(),
            answered: state.status.load(Ordering::SeqCst),
        });
        received.len() - 1
    };
    while state.holding.load(Ordering::SeqCst) {
        let released = state.released.notified();
        if !state.holding.load(Ordering::SeqCst) {
            break;
        }
        released.await;
    }
    let answered = state.status.load(Ordering::SeqCst);
    state.received.lock().unwrap()[index].answered = answered;
    HttpResponse::build(StatusCode::from_u16(answered).unwrap()).body("")
}

impl WebhookReceiver {
    pub async fn start() -> Self {
        let state = ReceiverState {
            received: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            holding: Arc::default(),
            released: Arc::default(),
        };
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(2)
        .bind("127.0.0.1:0")
        .unwrap();
        let address = format!("http://127.0.0.1:{}", server.addrs()[0].port());
        tokio::spawn(server.run());
        Self { address, state }
    }

    /// Answers every POST from now on with `status`.
    pub fn answer_with(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    /// Keeps every POST from now on waiting for an answer until `release`.
    pub fn hold(&self) {
        self.state.holding.store(true, Ordering::SeqCst);
    }

    /// Answers the held POSTs (with the status set by `answer_with`).
    pub fn release(&self) {
        self.state.holding.store(false, Ordering::SeqCst);
        self.state.released.notify_waiters();
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}
