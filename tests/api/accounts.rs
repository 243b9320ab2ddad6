//! Signing up, logging in and out, and what must not give anything away.

use reqwest::{StatusCode, header};

use crate::helpers::{client_at, new_client, spawn_app, spawn_app_with};

use crate::helpers::PASSWORD;

fn location(response: &reqwest::Response) -> &str {
    response.headers()[header::LOCATION].to_str().unwrap()
}

fn has_session_cookie(response: &reqwest::Response) -> bool {
    response
        .cookies()
        .any(|c| c.name() == "bs_session" && !c.value().is_empty())
}

#[tokio::test]
async fn a_new_member_signs_up_is_logged_in_and_sees_a_paid_post_as_a_teaser_with_subscribe() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let client = new_client();

    let response = app
        .post_form(
            &client,
            "/signup",
            &[
                ("email", "New@Example.com"),
                ("password", PASSWORD),
                ("next", &format!("/p/{paid}")),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/p/{paid}"));
    let cookie = response
        .cookies()
        .find(|c| c.name() == "bs_session")
        .expect("a session cookie");
    assert!(cookie.http_only(), "the session cookie must be HttpOnly");
    assert!(cookie.same_site_lax(), "the session cookie must be SameSite=Lax");

    let (_, html) = app.get_text(&client, &format!("/p/{paid}")).await;
    assert!(html.contains("Subscribe to keep reading"));
    assert!(
        html.contains("Welcome to Broadsheet!"),
        "the flash message is shown once"
    );
    let (_, html) = app.get_text(&client, "/").await;
    assert!(
        !html.contains("Welcome to Broadsheet!"),
        "the flash message is gone on the next page"
    );
    assert!(
        html.contains("new@example.com"),
        "the header shows who is logged in"
    );
}

#[tokio::test]
async fn session_cookies_are_secure_when_the_site_is_served_over_https() {
    let app = spawn_app_with([("PUBLIC_URL", "https://news.example.com".to_owned())].into()).await;
    let response = app.signup(&new_client(), "secure@example.com", PASSWORD).await;
    let cookie = response.cookies().find(|c| c.name() == "bs_session").unwrap();
    assert!(cookie.secure());
}

#[tokio::test]
async fn signup_errors_are_shown_next_to_their_fields_and_nothing_is_written() {
    let app = spawn_app().await;
    let response = app.signup(&new_client(), "not-an-email", "short").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"email-error\""), "{html}");
    assert!(html.contains("enter a valid email address"));
    assert!(html.contains("password must be at least 8 characters"));
    assert!(html.contains("value=\"not-an-email\""), "the typed email is kept");
    assert_eq!(app.count_rows("users").await, 0);
}

#[tokio::test]
async fn a_common_password_or_one_made_of_the_address_is_refused_with_the_reason() {
    let app = spawn_app().await;
    for (password, reason) in [
        ("password1", "one of the most common ones"),
        ("qwerty123", "one of the most common ones"),
        ("Augustin-1987", "must not contain your email address"),
    ] {
        let response = app.signup(&new_client(), "augustin@example.com", password).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{password}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("id=\"password-error\"") && html.contains(reason),
            "{password}: {html}"
        );
    }
    assert_eq!(app.count_rows("users").await, 0);
    let accepted = app
        .signup(&new_client(), "augustin@example.com", "gravel road in june")
        .await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn oversized_fields_are_refused_with_a_clear_message() {
    let app = spawn_app().await;
    let long_email = format!("{}@example.com", "a".repeat(300));
    let response = app.signup(&new_client(), &long_email, &"p".repeat(500)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("too long"));
    assert!(html.contains("at most 128 characters"));
    let huge = "x".repeat(200 * 1024);
    let response = app.signup(&new_client(), &huge, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.count_rows("users").await, 0);
}

#[tokio::test]
async fn signing_up_with_a_taken_email_answers_like_a_new_signup_and_changes_nothing() {
    let app = spawn_app().await;
    app.member("taken@example.com").await;

    let response = app
        .signup(&new_client(), "taken@example.com", "another password")
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    assert!(
        !has_session_cookie(&response),
        "a taken email must not log anyone in"
    );
    assert_eq!(app.count_rows("users").await, 1);
    let login = app.login(&new_client(), "taken@example.com", PASSWORD).await;
    assert_eq!(
        login.status(),
        StatusCode::SEE_OTHER,
        "the first password still works"
    );
}

#[tokio::test]
async fn a_member_logs_in_with_the_right_password_and_out_again() {
    let app = spawn_app().await;
    app.member("ada@example.com").await;
    let client = new_client();

    let response = app
        .post_form(
            &client,
            "/login",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account");
    let (status, html) = app.get_text(&client, "/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("ada@example.com") && html.contains("Free member"));

    let response = app.post_form(&client, "/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = app.get_with(&client, "/account").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "logged out: the account page sends to login"
    );
    assert_eq!(
        app.count_rows("sessions").await,
        1,
        "only the signup session of the other browser remains"
    );
}

#[tokio::test]
async fn a_logged_out_session_token_no_longer_works() {
    let app = spawn_app().await;
    let client = new_client();
    let signup = app.signup(&client, "gone@example.com", PASSWORD).await;
    let token = signup
        .cookies()
        .find(|c| c.name() == "bs_session")
        .unwrap()
        .value()
        .to_owned();
    app.post_form(&client, "/logout", &[]).await;
    let (_, html) = app.get_text(&new_client(), "/").await;
    assert!(html.contains("Log in"));
    let response = new_client()
        .get(app.url("/account"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    app.member("known@example.com").await;

    let wrong = app
        .login(&new_client(), "known@example.com", "wrong password")
        .await;
    let unknown = app
        .login(&new_client(), "nobody@example.com", "wrong password")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), wrong.status());
    assert!(!has_session_cookie(&wrong) && !has_session_cookie(&unknown));
    let normalize = |html: String, email: &str| {
        html.replace(email, "EMAIL")
            .replace(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_', "")
    };
    let wrong_html = wrong.text().await.unwrap();
    assert!(wrong_html.contains("Incorrect email or password."));
    assert_eq!(
        normalize(wrong_html, "known@example.com"),
        normalize(unknown.text().await.unwrap(), "nobody@example.com"),
        "the pages differ only in the typed email and the CSRF token"
    );
}

#[tokio::test]
async fn a_form_post_without_its_csrf_token_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    let client = new_client();
    app.csrf_token(&client).await; // the browser has a CSRF cookie...
    let response = client
        .post(app.url("/signup"))
        .form(&[("email", "csrf@example.com"), ("password", PASSWORD)]) // ...but the form lacks the field
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("This form has expired"));

    let forged = new_client()
        .post(app.url("/signup"))
        .form(&[
            ("email", "csrf@example.com"),
            ("password", PASSWORD),
            ("csrf_token", "A".repeat(43).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        StatusCode::FORBIDDEN,
        "a token without its cookie is refused"
    );
    assert_eq!(app.count_rows("users").await, 0);
}

#[tokio::test]
async fn logins_are_throttled_per_account_with_retry_after() {
    let app = spawn_app_with([("BROADSHEET_LOGIN_PER_ACCOUNT_PER_MINUTE", "3".to_owned())].into()).await;
    app.member("target@example.com").await;
    for attempt in 0..3 {
        let response = app.login(&new_client(), "target@example.com", "guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let response = app.login(&new_client(), "target@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        response.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert!(response.text().await.unwrap().contains("Too many login attempts"));
}

#[tokio::test]
async fn logins_are_throttled_per_address_across_accounts() {
    let app = spawn_app_with([("BROADSHEET_LOGIN_PER_IP_PER_MINUTE", "2".to_owned())].into()).await;
    app.login(&new_client(), "a@example.com", "guess").await;
    app.login(&new_client(), "b@example.com", "guess").await;
    let response = app.login(&new_client(), "c@example.com", "guess").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn signups_beyond_the_hourly_limit_per_address_get_429_with_retry_after_and_create_nothing() {
    let app = spawn_app_with([("BROADSHEET_SIGNUPS_PER_IP_PER_HOUR", "2".to_owned())].into()).await;
    for n in 0..2 {
        let response = app
            .signup(&new_client(), &format!("new{n}@example.com"), PASSWORD)
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "signup {n}");
    }
    let users_before = app.count_rows("users").await;
    let response = app.signup(&new_client(), "spam@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        retry_after > 60,
        "the next signup is most of an hour away: {retry_after}"
    );
    assert!(
        response.cookies().all(|c| c.name() != "bs_session"),
        "no session for a refused signup"
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("Too many signups from your network"), "{page}");
    assert!(page.contains("spam@example.com"), "the form keeps what was typed");
    assert_eq!(app.count_rows("users").await, users_before);
}

#[tokio::test]
async fn magic_link_and_reset_requests_are_throttled_with_retry_after() {
    let app = spawn_app_with([("BROADSHEET_LINKS_PER_ACCOUNT_PER_HOUR", "2".to_owned())].into()).await;
    for (path, email) in [
        ("/login/link", "link@example.com"),
        ("/reset", "reset@example.com"),
    ] {
        for attempt in 0..2 {
            let response = app.post_form(&new_client(), path, &[("email", email)]).await;
            assert_eq!(response.status(), StatusCode::OK, "{path} attempt {attempt}");
        }
        let response = app.post_form(&new_client(), path, &[("email", email)]).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        assert!(response.headers().contains_key(header::RETRY_AFTER), "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Too many links were asked for")
        );
    }
}

#[tokio::test]
async fn next_never_redirects_off_the_site() {
    let app = spawn_app().await;
    app.member("nav@example.com").await;
    for hostile in ["https://evil.example/", "//evil.example/", "/\\evil.example"] {
        let response = app
            .post_form(
                &new_client(),
                "/login",
                &[
                    ("email", "nav@example.com"),
                    ("password", PASSWORD),
                    ("next", hostile),
                ],
            )
            .await;
        assert_eq!(location(&response), "/", "next={hostile}");
    }
}

#[tokio::test]
async fn a_member_signs_out_another_device_from_the_account_page() {
    let app = spawn_app().await;
    let (laptop, _) = app.member("two@example.com").await;
    let phone = new_client();
    assert_eq!(
        app.login(&phone, "two@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, account) = app.get_text(&laptop, "/account").await;
    assert!(account.contains("this device"));
    let start = account
        .find("/account/sessions/")
        .expect("a sign-out button for the other device");
    let action = &account[start..start + account[start..].find('"').unwrap()];
    let response = app.post_form(&laptop, action, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get_with(&phone, "/account").await.status(),
        StatusCode::SEE_OTHER,
        "the phone is signed out"
    );
    assert_eq!(
        app.get_with(&laptop, "/account").await.status(),
        StatusCode::OK,
        "the laptop is not"
    );
}

#[tokio::test]
async fn the_editor_pages_send_visitors_to_log_in_and_refuse_readers() {
    let app = spawn_app().await;
    let anonymous = app.get("/admin").await;
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&anonymous), "/login?next=/admin");
    let (reader, _) = app.member("curious@example.com").await;
    for path in ["/admin", "/admin/articles/new", "/admin/articles/1"] {
        assert_eq!(
            app.get_with(&reader, path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let response = app
        .post_form(
            &reader,
            "/admin/articles",
            &[
                ("title", "x"),
                ("markdown", "y"),
                ("visibility", "public"),
                ("email", "none"),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count_rows("articles").await, 0);
}

#[tokio::test]
async fn wrong_passwords_typed_elsewhere_never_lock_the_owner_out_of_their_password_or_a_sign_in_link() {
    let app = spawn_app_with(
        [
            ("BROADSHEET_TRUSTED_PROXIES", "1".to_owned()),
            ("BROADSHEET_LOGIN_PER_ACCOUNT_PER_MINUTE", "3".to_owned()),
        ]
        .into(),
    )
    .await;
    app.member("owner@example.com").await;
    let attacker = client_at("203.0.113.9");
    for attempt in 0..5 {
        let response = app.login(&attacker, "owner@example.com", "guess").await;
        let expected = if attempt < 3 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(response.status(), expected, "attempt {attempt}");
    }
    let owner = client_at("198.51.100.7");
    let link = app
        .post_form(&owner, "/login/link", &[("email", "owner@example.com")])
        .await;
    assert_eq!(
        link.status(),
        StatusCode::OK,
        "the owner can always ask for a link"
    );
    let login = app.login(&owner, "owner@example.com", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER, "and use their password");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_client_cannot_choose_the_address_it_is_throttled_as() {
    let app = spawn_app_with(
        [
            ("BROADSHEET_TRUSTED_PROXIES", "1".to_owned()),
            ("BROADSHEET_LOGIN_PER_IP_PER_MINUTE", "2".to_owned()),
        ]
        .into(),
    )
    .await;
    // The proxy appends the real address; the client prepends a new fake
    // one each time, hoping to be read as someone else.
    for (n, email) in ["a@example.com", "b@example.com", "c@example.com"]
        .iter()
        .enumerate()
    {
        let client = client_at(&format!("10.9.9.{n}, 203.0.113.50"));
        let response = app.login(&client, email, "guess").await;
        let expected = if n < 2 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(response.status(), expected, "attempt {n}");
    }
    // A `Forwarded` header is not read unless configured.
    let forwarded = new_client();
    let token = app.csrf_token(&forwarded).await;
    let response = forwarded
        .post(app.url("/login"))
        .header("Forwarded", "for=198.51.100.1")
        .header("X-Forwarded-For", "203.0.113.50")
        .form(&[
            ("email", "d@example.com"),
            ("password", "guess"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_link_request_is_answered_before_the_address_is_looked_up_so_members_and_strangers_take_the_same_time()
 {
    let app = spawn_app().await;
    app.member("member@example.com").await;
    // Hold the database's write lock from outside: a request that looked
    // the address up and wrote a token would wait for it.
    let lock = app
        .hold_write_lock("LOCK TABLE login_tokens IN ACCESS EXCLUSIVE MODE")
        .await;
    for email in ["member@example.com", "stranger@example.com"] {
        let client = new_client();
        let token = app.csrf_token(&client).await;
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            client
                .post(app.url("/login/link"))
                .form(&[("email", email), ("csrf_token", &token)])
                .send(),
        )
        .await;
        let answer = answer.unwrap_or_else(|_| panic!("the answer for {email} waited for the database"));
        assert_eq!(answer.unwrap().status(), StatusCode::OK, "{email}");
    }
    lock.release();
    // The member's link is still written once the database is free.
    let mut tokens = 0;
    for _ in 0..100 {
        tokens = app.count_rows("login_tokens").await;
        if tokens >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        tokens, 2,
        "the signup's verification token and the sign-in link's"
    );
}

#[tokio::test]
async fn signing_out_everywhere_else_ends_other_sessions_and_replaces_the_private_feed_address() {
    let app = spawn_app().await;
    let (here, _) = app.member("careful@example.com").await;
    let elsewhere = new_client();
    assert_eq!(
        app.login(&elsewhere, "careful@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let (_, account) = app.get_text(&here, "/account").await;
    let old_feed = crate::feeds::private_feed_path(&account);
    let response = app.post_form(&here, "/account/sessions/revoke-others", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get_with(&elsewhere, "/account").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.get_with(&here, "/account").await.status(), StatusCode::OK);
    assert_eq!(app.get(&old_feed).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_account_page_never_shows_a_renewal_date_in_the_past() {
    let app = spawn_app().await;
    let (failed, failed_id) = app.member("failed@example.com").await;
    app.add_subscription(failed_id, "past_due", -30).await;
    let (_, account) = app.get_text(&failed, "/account").await;
    assert!(account.contains("Payment failed on"), "{account}");
    assert!(account.contains("update your card"));
    assert!(!account.contains("Renews on"), "{account}");

    let (overdue, overdue_id) = app.member("overdue@example.com").await;
    app.add_subscription(overdue_id, "active", -1).await;
    let (_, account) = app.get_text(&overdue, "/account").await;
    assert!(
        !account.contains("Renews on"),
        "an ended period is not a renewal to come: {account}"
    );

    let (paying, paying_id) = app.member("paying@example.com").await;
    app.add_subscription(paying_id, "active", 30).await;
    let (_, account) = app.get_text(&paying, "/account").await;
    assert!(account.contains("Renews on"), "{account}");
}
