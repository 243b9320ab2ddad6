//! Secrets never reach the logs: the real binary runs a full reader, editor
//! and billing flow at debug level while its output is captured, and then
//! the output is searched for every secret planted on the way.

use std::{
    fs::File,
    process::{Child, Command, Stdio},
    time::Duration,
};

use broadsheet::domain::role::Role;

use crate::smtp::SmtpSink;
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    email::link_in,
    helpers::{new_client, spawn_app_without_worker},
    stripe::{self, FakeStripe},
};

const PASSWORD: &str = "PLANTED-password-4q8z";
const NEW_PASSWORD: &str = "PLANTED-new-password-k2v7";
const WRONG_GUESS: &str = "PLANTED-wrong-guess-m3x1";
const STRIPE_KEY: &str = "sk_test_PLANTEDstripekey9f2";
const WEBHOOK_SECRET: &str = "whsec_PLANTEDwebhooksecret5r8";

/// `broadsheet serve` in its own process, its output going to a file.
struct Server {
    child: Child,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(database_url: &str, smtp_url: &str, stripe_base: &str, port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let out = File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_broadsheet"))
            .args(["serve", "--no-demo"])
            .env("DATABASE_URL", database_url)
            .env("BROADSHEET_BIND", format!("127.0.0.1:{port}"))
            .env("BROADSHEET_DATA_DIR", dir.path())
            .env("BROADSHEET_WORKER_POLL_MS", "50")
            .env("SMTP_URL", smtp_url)
            .env("STRIPE_SECRET_KEY", STRIPE_KEY)
            .env("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("STRIPE_PRICE_MONTHLY", stripe::PRICE_MONTHLY)
            .env("STRIPE_PRICE_YEARLY", stripe::PRICE_YEARLY)
            .env("STRIPE_API_BASE", stripe_base)
            // As chatty as an operator chasing a problem would make it.
            .env("RUST_LOG", "debug")
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("starting broadsheet serve");
        Self {
            child,
            log,
            _dir: dir,
        }
    }

    fn stop_and_read_log(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap()
    }
}

fn session_token_in(response: &reqwest::Response) -> String {
    response
        .cookies()
        .find(|c| c.name() == "bs_session")
        .expect("a session cookie")
        .value()
        .to_owned()
}

#[tokio::test]
async fn no_password_token_key_or_secret_reaches_the_logs_during_a_full_flow() {
    let sink = SmtpSink::start().await;
    let fake = FakeStripe::start().await;
    // No worker in the test process: the server under test sends all mail.
    let mut app = spawn_app_without_worker(stripe::billing_settings(&fake)).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server::start(&app.config.database_url, &sink.url(), &fake.url, port);
    // From here on the test's helpers talk to the process under test.
    app.address = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..200 {
        if let Ok(r) = new_client().get(app.url("/healthz")).send().await {
            up = r.status().is_success();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the server came up");

    // A reader signs up, fails a login, logs in, reads with a bearer token.
    let browser = new_client();
    let signup = app.signup(&browser, "reader@example.com", PASSWORD).await;
    assert_eq!(signup.status(), StatusCode::SEE_OTHER);
    let first_session = session_token_in(&signup);
    let wrong = app.login(&new_client(), "reader@example.com", WRONG_GUESS).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let login = app.login(&new_client(), "reader@example.com", PASSWORD).await;
    let second_session = session_token_in(&login);
    let read = new_client()
        .get(app.url("/api/articles"))
        .bearer_auth(&second_session)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);

    // Emailed links: verification, magic link, password reset.
    sink.wait_for(1, Duration::from_secs(10)).await;
    let verify = link_in(&sink, "reader@example.com", "/verify/");
    app.get_text(&browser, &verify).await;
    app.post_form(&new_client(), "/login/link", &[("email", "reader@example.com")])
        .await;
    // The verification, the welcome it set off, and the sign-in link.
    sink.wait_for(3, Duration::from_secs(10)).await;
    let magic = link_in(&sink, "reader@example.com", "/login/link/");
    let magic_browser = new_client();
    let signed_in = app.post_form(&magic_browser, &magic, &[]).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let magic_session = session_token_in(&signed_in);
    app.post_form(&new_client(), "/reset", &[("email", "reader@example.com")])
        .await;
    sink.wait_for(4, Duration::from_secs(10)).await;
    let reset = link_in(&sink, "reader@example.com", "/reset/");
    let reset_browser = new_client();
    let changed = app
        .post_form(&reset_browser, &reset, &[("password", NEW_PASSWORD)])
        .await;
    assert!(changed.status().is_redirection() || changed.status().is_success());

    // Billing: Checkout (the Stripe key goes out), signed and forged webhooks.
    let login = app.login(&browser, "reader@example.com", NEW_PASSWORD).await;
    let third_session = session_token_in(&login);
    let checkout = app
        .post_form(&browser, "/subscribe", &[("plan", "monthly")])
        .await;
    assert_eq!(checkout.status(), StatusCode::SEE_OTHER);
    let event = stripe::event(
        "evt_logs",
        "customer.subscription.updated",
        stripe::now(),
        stripe::subscription("sub_logs", "cus_unknown", "active", stripe::PRICE_MONTHLY, 30),
    );
    for secret in [WEBHOOK_SECRET, "whsec_wrong"] {
        let header = stripe::signature_header(secret, stripe::now(), &event);
        new_client()
            .post(app.url("/stripe/webhook"))
            .header("Stripe-Signature", header)
            .body(event.clone())
            .send()
            .await
            .unwrap();
    }

    // An editor uses the admin API with a key, and a wrong key is refused.
    let key = app.api_key_for("editor@example.com", Role::Editor).await;
    let created = app
        .post_article(
            &key,
            json!({"title": "Logged", "markdown": "Body", "visibility": "paid", "publish": true}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let refused = new_client()
        .get(app.url("/admin/api/articles"))
        .bearer_auth(format!("{key}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let log = server.stop_and_read_log();
    assert!(
        log.contains("signed up") && log.contains("DEBUG"),
        "the log was captured at debug level:\n{log}"
    );
    let token_of = |link: &str| link.rsplit('/').next().unwrap().to_owned();
    let secrets = [
        ("the password", PASSWORD.to_owned()),
        ("the new password", NEW_PASSWORD.to_owned()),
        ("a wrong guess", WRONG_GUESS.to_owned()),
        ("the Stripe key", STRIPE_KEY.to_owned()),
        ("the webhook secret", WEBHOOK_SECRET.to_owned()),
        ("the first session token", first_session),
        ("the second session token", second_session),
        ("the third session token", third_session),
        ("the magic-link session token", magic_session),
        ("the verification token", token_of(&verify)),
        ("the magic-link token", token_of(&magic)),
        ("the reset token", token_of(&reset)),
        ("the API key", key.clone()),
    ];
    for (what, secret) in secrets {
        assert!(!log.contains(&secret), "{what} is in the log:\n{log}");
    }
}
