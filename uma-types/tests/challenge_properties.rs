//! Properties of the `WWW-Authenticate` parser: it never panics, and it reads back what the
//! resource server side writes. (A cargo-fuzz target for the same parser is in `fuzz/`.)

use http::{HeaderMap, HeaderValue, header::WWW_AUTHENTICATE};
use proptest::prelude::*;
use uma_types::{PermissionTicket, UmaChallenge};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_any_text(input in any::<String>()) {
        let _ = UmaChallenge::parse(&input);
    }

    #[test]
    fn never_panics_on_challenge_like_text(input in r#"(UMA|uma|Bearer|Basic)?[ ,=\\"a-z_A-Z0-9:/.~+-]{0,80}"#) {
        let _ = UmaChallenge::parse(&input);
    }

    #[test]
    fn never_panics_on_any_header_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            headers.append(WWW_AUTHENTICATE, value);
        }
        let _ = UmaChallenge::from_headers(&headers);
    }

    #[test]
    fn reads_back_what_is_written(
        realm in proptest::option::of(r#"[ -~]{0,30}"#),
        as_uri in r#"https?://[a-z0-9.:-]{1,30}(/[ -~]{0,20})?"#,
        ticket in "[A-Za-z0-9_-]{1,64}",
        before in proptest::option::of(r#"(Bearer|Basic) realm="[a-z]{0,10}""#),
    ) {
        let challenge = UmaChallenge { realm, as_uri, ticket: PermissionTicket::new(ticket) };
        let header = match before {
            Some(other) => format!("{other}, {challenge}"),
            None => challenge.to_string(),
        };
        prop_assert_eq!(UmaChallenge::parse(&header), Some(challenge));
    }
}
