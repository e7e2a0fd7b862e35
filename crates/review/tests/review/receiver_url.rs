use countersign_review::webhook::{ReceiverUrlError, check_receiver_url};

#[test]
fn receivers_are_https_or_loopback_http_without_credentials() {
    for ok in [
        "https://hooks.example.com/a2a/push",
        "https://10.0.0.7:8443/internal",
        "http://127.0.0.1:9000/push",
        "http://localhost/push",
        "http://[::1]:8080/",
    ] {
        assert!(check_receiver_url(ok).is_ok(), "{ok} should be accepted");
    }
    assert!(matches!(
        check_receiver_url("http://hooks.example.com/push"),
        Err(ReceiverUrlError::Scheme(s)) if s == "http://hooks.example.com"
    ));
    assert!(matches!(
        check_receiver_url("http://169.254.169.254/latest/meta-data"),
        Err(ReceiverUrlError::Scheme(_))
    ));
    assert!(matches!(
        check_receiver_url("file:///etc/passwd"),
        Err(ReceiverUrlError::Scheme(_))
    ));
    assert_eq!(
        check_receiver_url("https://user:secret@hooks.example.com/"),
        Err(ReceiverUrlError::Credentials)
    );
    assert!(matches!(
        check_receiver_url("not a url"),
        Err(ReceiverUrlError::NotAUrl(_))
    ));
    // A lookalike host is not loopback.
    assert!(check_receiver_url("http://localhost.evil.example/").is_err());
}
