//! The reviewer key's custody in the real console: in the OS keychain (gnome-keyring's Secret
//! Service in the test's D-Bus session, started by scripts/with-notifications.sh), moved there
//! from an older console's key file, and in its file when there is no Secret Service. No test
//! skips: without gnome-keyring the keychain tests fail.

use countersign_chain::SigningKeyPair;
use countersign_e2e::{App, keychain_key};

/// Opens Settings and returns the custody shown (`keychain` or `file`), its text, and the key
/// fingerprint.
async fn custody(app: &App) -> (String, String, String) {
    app.click("[data-testid=open-settings]").await;
    let fingerprint = app.text("[data-testid=fingerprint]").await;
    let shown = app.wait_for("[data-testid=key-custody]", 1).await.remove(0);
    let kind = shown
        .attr("data-custody")
        .await
        .unwrap()
        .unwrap_or_default();
    let text = app.text("[data-testid=key-custody]").await;
    (kind, text, fingerprint)
}

/// Approves the demo's refund exception and waits until the gateway has accepted the signed
/// decision.
async fn sign_one(app: &App) {
    app.click(".settings-head button").await;
    app.open("refund-exception").await;
    app.wait_for("[data-testid=reason]", 1).await[0]
        .send_keys("Delivery was 11 days late; signed with the key from the keychain.")
        .await
        .unwrap();
    app.click("[data-testid=approve]").await;
    let outcome = app.text("[data-testid=decision-outcome] p").await;
    assert!(outcome.contains("delivered"), "{outcome}");
}

#[tokio::test]
async fn a_fresh_console_keeps_its_key_in_the_keychain_signs_with_it_and_keeps_it_across_a_restart()
{
    let app = App::start().await;
    let (kind, text, fingerprint) = custody(&app).await;
    assert_eq!(
        kind, "keychain",
        "is gnome-keyring-daemon running in the test's D-Bus session? Settings says: {text}"
    );
    assert!(
        text.contains("OS keychain") && text.contains("Secret Service"),
        "{text}"
    );
    let user = format!(
        "reviewer-key:{}",
        app.data.path().canonicalize().unwrap().display()
    );
    assert!(text.contains(&user), "the entry is named: {text}");
    assert!(
        !app.data.path().join("reviewer-key.pem").exists(),
        "no key file"
    );
    let stored = keychain_key(app.data.path()).expect("an entry in the keychain");
    assert_eq!(stored.public().thumbprint(), fingerprint);
    app.screenshot("settings-custody.png").await;
    sign_one(&app).await;

    let data = app.stop().await;
    let app = App::start_with(data, &[]).await;
    let (kind, _, again) = custody(&app).await;
    assert_eq!(kind, "keychain");
    assert_eq!(again, fingerprint, "the same key after a restart");
    assert!(!app.data.path().join("reviewer-key.pem").exists());
    app.stop().await;
}

#[tokio::test]
async fn an_older_consoles_key_file_is_moved_into_the_keychain() {
    let data = tempfile::tempdir().unwrap();
    let key = SigningKeyPair::generate();
    let file = data.path().join("reviewer-key.pem");
    std::fs::write(&file, key.to_pkcs8_pem().unwrap()).unwrap();
    assert!(
        keychain_key(data.path()).is_none(),
        "nothing in the keychain yet"
    );

    let app = App::start_with(data, &[]).await;
    let (kind, text, fingerprint) = custody(&app).await;
    assert_eq!(kind, "keychain", "{text}");
    assert_eq!(fingerprint, key.public().thumbprint(), "the same key");
    assert!(
        !file.exists(),
        "the file is gone once the keychain holds it"
    );
    let stored = keychain_key(app.data.path()).expect("an entry in the keychain");
    assert_eq!(stored.public(), key.public());
    // And it signs as that key: the demo gateway enrolled it.
    sign_one(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn without_a_secret_service_the_key_stays_in_its_file_and_settings_says_so() {
    let data = tempfile::tempdir().unwrap();
    let dead = data.path().join("no-bus");
    let env = [(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", dead.display()),
    )];
    let app = App::start_with(data, &env).await;
    let (kind, text, fingerprint) = custody(&app).await;
    assert_eq!(kind, "file", "{text}");
    let file = app.data.path().join("reviewer-key.pem");
    assert!(
        text.contains(&file.display().to_string())
            && text.contains("owner-only")
            && text.contains("no keychain service was found"),
        "{text}"
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the private key file is owner-only");
    }
    app.screenshot("settings-custody-file.png").await;
    let pem = std::fs::read_to_string(&file).unwrap();
    let key = SigningKeyPair::from_pkcs8_pem(&pem).unwrap();
    assert_eq!(key.public().thumbprint(), fingerprint);
    assert!(
        keychain_key(app.data.path()).is_none(),
        "nothing went into the keychain"
    );
    sign_one(&app).await;
    app.stop().await;
}
