//! A receiver for Broadsheet's outbound webhooks: records every POST (its
//! signature header and body) and answers with the status it is told to,
//! so a test can make it fail and come back.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU16, Ordering},
};

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
}

pub struct WebhookReceiver {
    /// `http://127.0.0.1:{port}`
    pub address: String,
    state: ReceiverState,
}

async fn receive(state: web::Data<ReceiverState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let answered = state.status.load(Ordering::SeqCst);
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    state.received.lock().unwrap().push(Received {
        path: req.path().to_owned(),
        signature: header("Broadsheet-Signature"),
        content_type: header("Content-Type"),
        body: String::from_utf8_lossy(&body).into_owned(),
        answered,
    });
    HttpResponse::build(StatusCode::from_u16(answered).unwrap()).body("")
}

impl WebhookReceiver {
    pub async fn start() -> Self {
        let state = ReceiverState {
            received: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
        };
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
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

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}
