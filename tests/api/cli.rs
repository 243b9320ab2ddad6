//! The binary's commands, run as an operator would.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

pub(crate) fn broadsheet(database_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_broadsheet"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("running the binary")
}

#[test]
fn a_bare_path_that_is_not_a_sqlite_file_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "not a database").unwrap();
    let output = broadsheet(notes.to_str().unwrap(), &["migrate"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not an existing SQLite database"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap(),
        "not a database",
        "the file is untouched"
    );
}

#[test]
fn migrate_creates_and_migrates_a_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nested/db.sqlite").display());
    let output = broadsheet(&url, &["migrate"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("up to date"));
}

#[tokio::test]
async fn an_editor_created_and_keyed_from_the_command_line_can_publish() {
    let app = spawn_app().await;
    let url = app.config.database_url.clone();
    let output = broadsheet(
        &url,
        &[
            "admin",
            "create-editor",
            "--email",
            "Chief@Example.com",
            "--name",
            "Chief",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("chief@example.com is now an editor"), "{stdout}");
    assert!(stdout.contains("Password (shown once)"));

    let output = broadsheet(
        &url,
        &[
            "admin",
            "api-key",
            "--email",
            "chief@example.com",
            "--name",
            "laptop",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let key = stdout
        .split_whitespace()
        .find(|w| w.starts_with("bsk_"))
        .expect("a key is printed");
    let stored: i64 = app.count_rows("api_keys").await;
    assert_eq!(stored, 1);

    let response = app
        .post_article(
            key,
            json!({"title": "From the CLI", "markdown": "Hi.", "visibility": "public", "publish": true}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["author"], "Chief");
}

#[tokio::test]
async fn an_api_key_for_an_unknown_email_is_refused_with_a_hint() {
    let app = spawn_app().await;
    let output = broadsheet(
        &app.config.database_url,
        &["admin", "api-key", "--email", "ghost@example.com", "--name", "x"],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("create-editor"));
}

#[tokio::test]
async fn promoting_an_existing_account_needs_a_proven_address_or_force_and_ends_its_sessions() {
    // The command line writes behind the server's back: no read cache, so
    // the ended session shows at once rather than within its lifetime.
    let app = crate::helpers::spawn_app_with([("BROADSHEET_READ_CACHE_MS", "0".to_owned())].into()).await;
    let url = app.config.database_url.clone();
    let (reader, _) = app.member("someone@example.com").await;
    let promote = |extra: &[&str]| {
        let mut args = vec!["admin", "create-editor", "--email", "someone@example.com"];
        args.extend_from_slice(extra);
        broadsheet(&url, &args)
    };
    let refused = promote(&[]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("never confirmed") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        app.get_with(&reader, "/account").await.status(),
        StatusCode::OK,
        "nothing changed"
    );

    let promoted = promote(&["--force"]);
    assert!(
        promoted.status.success(),
        "{}",
        String::from_utf8_lossy(&promoted.stderr)
    );
    let stdout = String::from_utf8_lossy(&promoted.stdout);
    assert!(stdout.contains("An existing account was promoted"), "{stdout}");
    assert!(stdout.contains("password was kept"), "{stdout}");
    assert!(
        !stdout.contains("Password (shown once)"),
        "no unused password printed"
    );
    assert_eq!(
        app.get_with(&reader, "/account").await.status(),
        StatusCode::SEE_OTHER,
        "whoever held the account as a reader is signed out"
    );
    assert_eq!(
        app.login(
            &crate::helpers::new_client(),
            "someone@example.com",
            "correct horse battery"
        )
        .await
        .status(),
        StatusCode::SEE_OTHER,
        "the owner's password still works"
    );
}
