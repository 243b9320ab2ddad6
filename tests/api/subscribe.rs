//! Subscribing to the free newsletter with an email address only: double
//! opt-in, the same answer for every address, and the brakes on bots.

use std::{collections::HashMap, time::Duration};

use broadsheet::domain::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, new_client, spawn_app_with},
    smtp::{Parsed, SmtpSink},
};

const WAIT: Duration = Duration::from_secs(120);

async fn app_with(sink: Option<&SmtpSink>, extra: &[(&'static str, &str)]) -> TestApp {
    let mut settings: HashMap<&str, String> =
        HashMap::from([("BROADSHEET_SUBSCRIBE_MIN_FILL_MS", "0".to_owned())]);
    if let Some(sink) = sink {
        settings.insert("SMTP_URL", sink.url());
    }
    settings.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    spawn_app_with(settings).await
}

/// The value of the hidden input `name` in the first form that has one.
pub(crate) fn hidden(html: &str, name: &str) -> String {
    let field = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&field)
        .unwrap_or_else(|| panic!("a {name} field in {html}"))
        + field.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&#43;", "+").replace("&#61;", "=")
}

/// Sends the home page's form for `email` from a fresh browser.
async fn subscribe_from_home(app: &TestApp, email: &str) -> reqwest::Response {
    let client = new_client();
    let (_, home) = app.get_text(&client, "/").await;
    let shown = hidden(&home, "shown");
    client
        .post(app.url("/join"))
        .form(&[
            ("email", email),
            ("source", "home"),
            ("shown", shown.as_str()),
            ("website", ""),
        ])
        .send()
        .await
        .unwrap()
}

fn link_in(message: &crate::smtp::Received, prefix: &str) -> String {
    let (text, _) = message.bodies();
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("a {prefix} link in {text}"));
    text[start..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn an_email_alone_subscribes_after_a_posted_confirmation_and_the_next_post_arrives() {
    let sink = SmtpSink::start().await;
    let app = app_with(Some(&sink), &[]).await;
    let answer = subscribe_from_home(&app, "new.reader@example.com").await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.text().await.unwrap().contains("Check your inbox"));
    assert_eq!(
        app.count_rows("users").await,
        0,
        "nobody is a member before confirming"
    );

    assert_eq!(sink.wait_for(1, WAIT).await, 1);
    let confirmation = sink.received()[0].clone();
    assert_eq!(confirmation.to, vec!["new.reader@example.com"]);
    let link = link_in(&confirmation, "http://127.0.0.1:8080/join/");
    let path = link.trim_start_matches("http://127.0.0.1:8080");

    let browser = new_client();
    let (status, page) = app.get_text(&browser, path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("new.reader@example.com") && page.contains("Confirm my subscription"));
    assert_eq!(
        app.count_rows("users").await,
        0,
        "opening the link (as a mail scanner does) confirms nothing"
    );

    let confirmed = app.post_form(&browser, path, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let (_, account) = app.get_text(&browser, "/account").await;
    assert!(account.contains("new.reader@example.com"), "signed in: {account}");

    let (password, verified, newsletter, source) = app
        .db(|conn| {
            use broadsheet::db::schema::{newsletter_subscriptions as n, users as u};
            use diesel::prelude::*;
            Ok(u::table
                .select((
                    u::password_hash,
                    u::email_verified_at.is_not_null(),
                    diesel::dsl::exists(n::table.filter(n::user_id.eq(u::id))),
                    u::source,
                ))
                .first::<(Option<String>, bool, bool, Option<String>)>(conn)?)
        })
        .await;
    assert_eq!(password, None, "no password is ever set");
    assert!(verified && newsletter);
    assert_eq!(source.as_deref(), Some("home"));

    let again = app.post_form(&new_client(), path, &[]).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "the link works once");

    // Later, from the account page, a password of their own.
    assert!(account.contains("Set a password"));
    let set = app
        .post_form(
            &browser,
            "/account/password",
            &[("password", "tide pools at dawn")],
        )
        .await;
    assert_eq!(set.status(), StatusCode::SEE_OTHER);
    let (_, account) = app.get_text(&browser, "/account").await;
    assert!(
        account.contains("Your password is set.") && account.contains("Change password"),
        "{account}"
    );
    let login = app
        .login(&new_client(), "new.reader@example.com", "tide pools at dawn")
        .await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER, "the new password signs in");
    let wrong_current = app
        .post_form(
            &browser,
            "/account/password",
            &[("current_password", "guess"), ("password", "another long phrase")],
        )
        .await;
    assert_eq!(wrong_current.status(), StatusCode::SEE_OTHER);
    let (_, account) = app.get_text(&browser, "/account").await;
    assert!(
        account.contains("Your current password is not right; nothing changed."),
        "{account}"
    );

    let key = app.api_key_for("editor@example.com", Role::Editor).await;
    let published = app
        .post_article(
            &key,
            json!({"title": "Second letter", "markdown": "Hello again.", "visibility": "public", "publish": true, "email": "all"}),
        )
        .await;
    assert_eq!(published.status(), StatusCode::CREATED);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !sink
        .newsletters()
        .iter()
        .any(|m| m.to[0] == "new.reader@example.com")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new subscriber got the next post"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_new_a_known_and_a_suppressed_address_get_the_same_answer() {
    let sink = SmtpSink::start().await;
    let app = app_with(Some(&sink), &[]).await;
    app.member("known@example.com").await;
    app.db(|conn| {
        Ok(broadsheet::db::suppressions::add(
            conn,
            "gone@example.com",
            "hard_bounce",
        )?)
    })
    .await;
    assert_eq!(
        sink.wait_for(1, WAIT).await,
        1,
        "the known member's own verification email"
    );
    sink.clear();

    let mut answers = Vec::new();
    for email in ["fresh@example.com", "known@example.com", "gone@example.com"] {
        let response = subscribe_from_home(&app, email).await;
        let status = response.status();
        let mut headers: Vec<String> = response
            .headers()
            .iter()
            .filter(|(name, _)| *name != "date")
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
            .collect();
        headers.sort();
        answers.push((status, headers, response.text().await.unwrap()));
    }
    assert_eq!(answers[0], answers[1], "a new and a known address");
    assert_eq!(answers[0], answers[2], "a new and a suppressed address");
    assert!(
        !answers[0].1.iter().any(|h| h.starts_with("set-cookie")),
        "and no cookie either way"
    );

    assert_eq!(sink.wait_for(2, WAIT).await, 2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = sink.received();
    assert_eq!(received.len(), 2, "nothing for the suppressed address");
    let to_known = received
        .iter()
        .find(|m| m.to[0] == "known@example.com")
        .expect("mail to the member");
    assert!(
        link_in(to_known, "http://127.0.0.1:8080/login/link/").len() > 40,
        "a member gets a sign-in link"
    );
    let to_fresh = received
        .iter()
        .find(|m| m.to[0] == "fresh@example.com")
        .expect("mail to the newcomer");
    link_in(to_fresh, "http://127.0.0.1:8080/join/");
}

#[tokio::test]
async fn a_bot_posting_a_thousand_addresses_from_one_client_gets_only_the_allowance_through() {
    let app = app_with(None, &[("BROADSHEET_SIGNUPS_PER_IP_PER_HOUR", "5")]).await;
    let client = new_client();
    let (_, home) = app.get_text(&client, "/").await;
    let shown = hidden(&home, "shown");
    let mut limited = 0;
    for i in 0..1000 {
        let email = format!("bot{i}@example.com");
        let response = client
            .post(app.url("/join"))
            .form(&[
                ("email", email.as_str()),
                ("source", "home"),
                ("shown", shown.as_str()),
            ])
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().contains_key("retry-after"));
            limited += 1;
        }
    }
    assert_eq!(limited, 995);
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.count_rows("outbox").await < 5 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.count_rows("pending_signups").await, 5);
    assert_eq!(
        app.count_rows("outbox").await,
        5,
        "five confirmation emails, no more"
    );
}

#[tokio::test]
async fn a_honeypot_a_hurried_form_and_a_repeat_within_ten_minutes_send_nothing_more() {
    let app = app_with(None, &[("BROADSHEET_SUBSCRIBE_MIN_FILL_MS", "600000")]).await;
    let client = new_client();
    let (_, home) = app.get_text(&client, "/").await;
    let shown = hidden(&home, "shown");

    let honeypot = client
        .post(app.url("/join"))
        .form(&[
            ("email", "a@example.com"),
            ("shown", shown.as_str()),
            ("website", "http://spam.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        honeypot.status(),
        StatusCode::OK,
        "a bot hears what a person hears"
    );
    assert!(honeypot.text().await.unwrap().contains("Check your inbox"));

    let hurried = client
        .post(app.url("/join"))
        .form(&[("email", "b@example.com"), ("shown", shown.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(hurried.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(hurried.text().await.unwrap().contains("press Subscribe again"));
    for forged in ["", "AAAA", "not-a-token"] {
        let response = client
            .post(app.url("/join"))
            .form(&[("email", "c@example.com"), ("shown", forged)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{forged:?}");
    }
    let garbled = client
        .post(app.url("/join"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=a%40example.com&email=b%40example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(garbled.status(), StatusCode::BAD_REQUEST);
    assert!(
        garbled.text().await.unwrap().contains("class=\"masthead\""),
        "a page, not plain text"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.count_rows("pending_signups").await, 0);
    assert_eq!(app.count_rows("outbox").await, 0);

    let quick = app_with(None, &[]).await;
    for _ in 0..3 {
        assert_eq!(
            subscribe_from_home(&quick, "twice@example.com").await.status(),
            StatusCode::OK
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        quick.count_rows("outbox").await,
        1,
        "one confirmation per address per ten minutes"
    );
}

#[tokio::test]
async fn the_json_twin_answers_202_alike_for_every_address_and_422_for_bad_input() {
    let app = app_with(None, &[]).await;
    app.member("known@example.com").await;
    let mut bodies = Vec::new();
    for email in ["fresh@example.com", "known@example.com"] {
        let response = app
            .client
            .post(app.url("/api/subscribe"))
            .json(&json!({"email": email, "source": "embed:https://blog.example.com"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        bodies.push(response.json::<Value>().await.unwrap());
    }
    assert_eq!(bodies[0], bodies[1]);
    for (body, field) in [
        (json!({"email": "not an address"}), "email"),
        (json!({"email": "x@example.com", "source": "twitter"}), "source"),
        (json!({"email": "x@example.com", "name": "a\nb"}), "name"),
    ] {
        let response = app
            .client
            .post(app.url("/api/subscribe"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.count_rows("pending_signups").await < 1 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let source = app
        .db(|conn| {
            use broadsheet::db::schema::pending_signups as p;
            use diesel::prelude::*;
            Ok(p::table.select(p::source).first::<String>(conn)?)
        })
        .await;
    assert_eq!(source, "embed:https://blog.example.com");
}

#[tokio::test]
async fn the_embedded_form_may_be_framed_only_by_the_origins_the_admin_lists() {
    let app = app_with(None, &[]).await;
    let csp = |response: &reqwest::Response| {
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let embed = app.get("/embed/subscribe").await;
    assert_eq!(embed.status(), StatusCode::OK);
    assert!(
        csp(&embed).contains("frame-ancestors 'none'"),
        "no origins listed: nobody frames it"
    );

    let key = app.api_key_for("admin@example.com", Role::Admin).await;
    let response = app
        .admin(
            Method::PATCH,
            Some(&key),
            "/admin/api/settings",
            Some(json!({"embed_origins": ["https://blog.example.com", "https://shop.example.org"]})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let embed = app
        .client
        .get(app.url("/embed/subscribe"))
        .header("Referer", "https://blog.example.com/")
        .send()
        .await
        .unwrap();
    assert!(
        csp(&embed).contains("frame-ancestors https://blog.example.com https://shop.example.org;"),
        "{}",
        csp(&embed)
    );
    let html = embed.text().await.unwrap();
    assert!(
        html.contains("value=\"embed:https://blog.example.com\""),
        "the framing origin is the source"
    );
    assert!(
        !html.contains("class=\"masthead\""),
        "a bare form, no site header"
    );
    for other in ["/", "/join", "/login"] {
        assert!(
            csp(&app.get(other).await).contains("frame-ancestors 'none'"),
            "{other} stays unframeable"
        );
    }
}

#[tokio::test]
async fn each_teaser_speaks_to_the_reader_it_is_shown_to() {
    let app = app_with(None, &[]).await;
    let (public, members, paid) = app.publish_one_of_each().await;
    let anonymous = new_client();

    let (_, teaser) = app.get_text(&anonymous, &format!("/p/{members}")).await;
    assert!(
        teaser.contains("This post is for subscribers of Broadsheet"),
        "{teaser}"
    );
    assert!(teaser.contains("action=\"/join\"") && teaser.contains(&format!("value=\"article:{members}\"")));
    assert!(teaser.contains("Already a subscriber? Log in"));

    let (_, teaser) = app.get_text(&anonymous, &format!("/p/{paid}")).await;
    assert!(teaser.contains("This post is for paying subscribers"), "{teaser}");
    assert!(
        teaser.contains(&format!("href=\"/subscribe?trail=post%3D{paid}\"")),
        "the plans, with the post named for attribution: {teaser}"
    );
    assert!(teaser.contains("Already a subscriber? Log in"));
    assert!(
        !teaser.contains("action=\"/join\""),
        "a paid teaser sells the plans"
    );

    let (_, article) = app.get_text(&anonymous, &format!("/p/{public}")).await;
    assert!(article.contains("Get the next one by email") && article.contains("action=\"/join\""));
    let (_, home) = app.get_text(&anonymous, "/").await;
    assert!(home.contains("Subscribe to Broadsheet") && home.contains("value=\"home\""));
    assert!(
        home.contains("href=\"/join\">Subscribe</a>"),
        "without billing, Subscribe is the free form"
    );

    let (member, _) = app.member("member@example.com").await;
    let (_, home) = app.get_text(&member, "/").await;
    assert!(!home.contains("action=\"/join\""), "members are not asked again");
    let (_, teaser) = app.get_text(&member, &format!("/p/{paid}")).await;
    assert!(teaser.contains("Subscribe to keep reading"), "{teaser}");
}

/// A stand-in for Turnstile's `siteverify`: the answer `human` passes;
/// every question it was asked is kept.
async fn fake_siteverify() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<HashMap<String, String>>>>,
) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = asked.clone();
    let server = HttpServer::new(move || {
        let kept = kept.clone();
        App::new().route(
            "/turnstile/v0/siteverify",
            web::post().to(move |form: web::Form<HashMap<String, String>>| {
                let kept = kept.clone();
                async move {
                    let success = form.get("response").map(String::as_str) == Some("human");
                    kept.lock().unwrap().push(form.into_inner());
                    HttpResponse::Ok().json(json!({"success": success, "error-codes": []}))
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let address = format!("http://{}/turnstile/v0/siteverify", server.addrs()[0]);
    tokio::spawn(server.run());
    (address, asked)
}

#[tokio::test]
async fn with_a_captcha_configured_only_a_verified_answer_subscribes() {
    let (verify_url, asked) = fake_siteverify().await;
    let app = app_with(
        None,
        &[
            ("BROADSHEET_CAPTCHA", "turnstile"),
            ("BROADSHEET_CAPTCHA_SITE_KEY", "0x4AAAAtestsitekey"),
            ("BROADSHEET_CAPTCHA_SECRET", "0x4AAAAtestsecret"),
            ("BROADSHEET_CAPTCHA_VERIFY_URL", &verify_url),
        ],
    )
    .await;
    let client = new_client();
    let home = app.get_with(&client, "/").await;
    let csp = home.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self' https://challenges.cloudflare.com"),
        "{csp}"
    );
    let home = home.text().await.unwrap();
    assert!(
        home.contains("class=\"cf-turnstile\" data-sitekey=\"0x4AAAAtestsitekey\""),
        "{home}"
    );
    let shown = hidden(&home, "shown");

    for answer in [None, Some("robot")] {
        let mut form = vec![("email", "maybe@example.com"), ("shown", shown.as_str())];
        if let Some(answer) = answer {
            form.push(("cf-turnstile-response", answer));
        }
        let refused = client.post(app.url("/join")).form(&form).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{answer:?}");
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("check that you are a person")
        );
    }
    let api = app
        .client
        .post(app.url("/api/subscribe"))
        .json(&json!({"email": "maybe@example.com", "captcha": "robot"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNPROCESSABLE_ENTITY);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.count_rows("pending_signups").await,
        0,
        "nothing written for a failed check"
    );

    let passed = client
        .post(app.url("/join"))
        .form(&[
            ("email", "person@example.com"),
            ("shown", shown.as_str()),
            ("cf-turnstile-response", "human"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(passed.status(), StatusCode::OK);
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.count_rows("pending_signups").await < 1 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let questions = asked.lock().unwrap().clone();
    let last = questions.last().expect("the provider was asked");
    assert_eq!(last["secret"], "0x4AAAAtestsecret");
    assert_eq!(last["remoteip"], "127.0.0.1");
    assert_eq!(
        questions.len(),
        3,
        "robot (form and API) and human: a missing answer is refused without asking"
    );
}
