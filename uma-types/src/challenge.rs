//! The resource server's `WWW-Authenticate: UMA` challenge (Grant §3.2.1) and its failure form
//! (Grant §3.2.2), with an RFC 7235 parser.

use std::fmt;

use http::HeaderMap;
use http::header::WWW_AUTHENTICATE;

use crate::PermissionTicket;

/// The `Warning` header value of a resource server that could not obtain a ticket (Grant §3.2.2).
///
/// ```
/// assert_eq!(
///     uma_types::challenge::AS_UNREACHABLE_WARNING,
///     r#"199 - "UMA Authorization Server Unreachable""#
/// );
/// ```
pub const AS_UNREACHABLE_WARNING: &str = "199 - \"UMA Authorization Server Unreachable\"";

/// An UMA challenge: where the authorization server is and the ticket to present there.
///
/// ```
/// use uma_types::{PermissionTicket, UmaChallenge};
///
/// let challenge = UmaChallenge {
///     realm: Some("example".into()),
///     as_uri: "https://as.example.com".into(),
///     ticket: PermissionTicket::new("016f84e8-f9b9-11e0-bd6f-0021cc6004de"),
/// };
/// let header = challenge.to_string();
/// assert_eq!(
///     header,
///     r#"UMA realm="example", as_uri="https://as.example.com", ticket="016f84e8-f9b9-11e0-bd6f-0021cc6004de""#
/// );
/// assert_eq!(UmaChallenge::parse(&header), Some(challenge));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UmaChallenge {
    /// The protection space; optional in the spec.
    pub realm: Option<String>,
    /// The authorization server's issuer.
    pub as_uri: String,
    /// The permission ticket to redeem at the token endpoint.
    pub ticket: PermissionTicket,
}

impl UmaChallenge {
    /// Finds the UMA challenge among every `WWW-Authenticate` header of a response.
    ///
    /// ```
    /// let mut headers = http::HeaderMap::new();
    /// headers.append(http::header::WWW_AUTHENTICATE, r#"Bearer realm="x""#.parse().unwrap());
    /// headers.append(
    ///     http::header::WWW_AUTHENTICATE,
    ///     r#"UMA realm="example", as_uri="https://as.example.com", ticket="t1""#.parse().unwrap(),
    /// );
    /// let challenge = uma_types::UmaChallenge::from_headers(&headers).unwrap();
    /// assert_eq!(challenge.ticket.as_str(), "t1");
    /// ```
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(Self::parse)
    }

    /// Finds the UMA challenge in one `WWW-Authenticate` value, which may hold several challenges.
    /// Scheme and parameter names match case-insensitively; values may be tokens or quoted strings.
    /// A challenge without `as_uri` or `ticket` is not an UMA challenge one can follow.
    ///
    /// ```
    /// let challenge = uma_types::UmaChallenge::parse(r#"uma AS_URI="https://as", ticket=t1"#).unwrap();
    /// assert_eq!(challenge.as_uri, "https://as");
    /// assert!(uma_types::UmaChallenge::parse(r#"Bearer realm="x""#).is_none());
    /// ```
    pub fn parse(header: &str) -> Option<Self> {
        let challenge = parse_challenges(header)
            .into_iter()
            .find(|c| c.scheme.eq_ignore_ascii_case("UMA"))?;
        let param = |name: &str| {
            challenge
                .params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.clone())
        };
        Some(Self {
            realm: param("realm"),
            as_uri: param("as_uri")?,
            ticket: PermissionTicket::new(param("ticket")?),
        })
    }
}

/// The header value, exactly as Grant §3.2.1 shows it: `UMA realm="…", as_uri="…", ticket="…"`.
/// The ticket is written out: this is the one place it belongs on the wire.
impl fmt::Display for UmaChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UMA ")?;
        if let Some(realm) = &self.realm {
            write!(f, "realm={}, ", Quoted(realm))?;
        }
        write!(
            f,
            "as_uri={}, ticket={}",
            Quoted(&self.as_uri),
            Quoted(self.ticket.as_str())
        )
    }
}

/// An RFC 7230 quoted-string.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for c in self.0.chars() {
            if c == '"' || c == '\\' {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        f.write_str("\"")
    }
}

/// One challenge of a `WWW-Authenticate` value (RFC 7235 §2.1).
#[derive(Debug, Default)]
struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

/// Splits a `WWW-Authenticate` value into challenges. Malformed parts end the parse; what was read
/// before them is kept, so a broken trailing challenge cannot hide a good UMA one before it.
fn parse_challenges(input: &str) -> Vec<Challenge> {
    let mut cursor = Cursor { rest: input };
    let mut challenges = Vec::new();
    loop {
        cursor.skip(|c| c == ',' || is_ows(c));
        let scheme = cursor.token();
        if scheme.is_empty() {
            return challenges;
        }
        let mut challenge = Challenge {
            scheme: scheme.to_owned(),
            params: Vec::new(),
        };
        // After the scheme: a token68 or a comma-separated list of auth-params, until a token
        // that is not followed by `=` starts the next challenge.
        loop {
            cursor.skip(|c| c == ',' || is_ows(c));
            let before = cursor.rest;
            let name = cursor.token68();
            if name.is_empty() {
                break;
            }
            if name.ends_with('=') {
                // A token68 credential (`Negotiate YII…==`): nothing UMA needs.
                continue;
            }
            cursor.skip(is_ows);
            if !cursor.eat('=') {
                // A bare token starts the next challenge.
                cursor.rest = before;
                break;
            }
            cursor.skip(is_ows);
            let value = if cursor.peek() == Some('"') {
                match cursor.quoted_string() {
                    Some(value) => value,
                    None => {
                        challenges.push(challenge);
                        return challenges;
                    }
                }
            } else {
                cursor.token().to_owned()
            };
            challenge.params.push((name.to_owned(), value));
        }
        challenges.push(challenge);
    }
}

fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn skip(&mut self, pred: impl Fn(char) -> bool) {
        self.rest = self.rest.trim_start_matches(pred);
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &'a str {
        let end = self.rest.find(|c| !pred(c)).unwrap_or(self.rest.len());
        let (taken, rest) = self.rest.split_at(end);
        self.rest = rest;
        taken
    }

    fn token(&mut self) -> &'a str {
        self.take_while(is_tchar)
    }

    /// A token, or a token68 (which may end in `=` padding that is not followed by a value).
    fn token68(&mut self) -> &'a str {
        let start = self.rest;
        let body = self.take_while(|c| is_tchar(c) || c == '/');
        if body.is_empty() {
            return body;
        }
        let padding = self.rest.len() - self.rest.trim_start_matches('=').len();
        // `name=value`: one `=` followed by a value is an auth-param, not padding.
        let after = &self.rest[padding..];
        let next = after.trim_start_matches(is_ows).chars().next();
        if padding >= 2 || (padding == 1 && matches!(next, None | Some(','))) {
            self.rest = after;
            return &start[..body.len() + padding];
        }
        body
    }

    fn quoted_string(&mut self) -> Option<String> {
        let mut chars = self.rest.char_indices();
        chars.next(); // the opening quote
        let mut value = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &self.rest[i + 1..];
                    return Some(value);
                }
                '\\' => value.push(chars.next()?.1),
                c => value.push(c),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_example_folded_onto_one_line() {
        // G-02, unfolded as its wire note says.
        let header = r#"UMA realm="example", as_uri="https://as.example.com", ticket="016f84e8-f9b9-11e0-bd6f-0021cc6004de""#;
        let challenge = UmaChallenge::parse(header).unwrap();
        assert_eq!(challenge.realm.as_deref(), Some("example"));
        assert_eq!(challenge.as_uri, "https://as.example.com");
        assert_eq!(
            challenge.ticket.as_str(),
            "016f84e8-f9b9-11e0-bd6f-0021cc6004de"
        );
        assert_eq!(challenge.to_string(), header);
    }

    #[test]
    fn scheme_and_names_are_case_insensitive_and_tokens_allowed() {
        let challenge = UmaChallenge::parse("uma AS_URI=\"https://as\",Ticket=abc-123").unwrap();
        assert_eq!(challenge.as_uri, "https://as");
        assert_eq!(challenge.ticket.as_str(), "abc-123");
        assert_eq!(challenge.realm, None);
    }

    #[test]
    fn picks_uma_among_several_challenges() {
        let header = r#"Basic realm="x", Bearer realm="y", error="invalid_token", UMA realm="r", as_uri="https://as", ticket="t1", Negotiate abc=="#;
        let challenge = UmaChallenge::parse(header).unwrap();
        assert_eq!(challenge.realm.as_deref(), Some("r"));
        assert_eq!(challenge.ticket.as_str(), "t1");
    }

    #[test]
    fn token68_before_uma_is_skipped() {
        let header =
            r#"Negotiate YIIB9QYGKwYBBQUCoIIB6TCCAeWgDTAL==, UMA as_uri="https://as", ticket="t""#;
        let challenge = UmaChallenge::parse(header).unwrap();
        assert_eq!(challenge.ticket.as_str(), "t");
    }

    #[test]
    fn keycloak_style_without_spaces() {
        let header =
            r#"UMA realm="photoz",as_uri="http://kc/realms/photoz",ticket="eyJhbGciOi.x.y""#;
        let challenge = UmaChallenge::parse(header).unwrap();
        assert_eq!(challenge.as_uri, "http://kc/realms/photoz");
        assert_eq!(challenge.ticket.as_str(), "eyJhbGciOi.x.y");
    }

    #[test]
    fn quoted_pairs_round_trip() {
        let challenge = UmaChallenge {
            realm: Some(r#"a "quoted" \ realm"#.into()),
            as_uri: "https://as".into(),
            ticket: PermissionTicket::new("t"),
        };
        assert_eq!(UmaChallenge::parse(&challenge.to_string()), Some(challenge));
    }

    #[test]
    fn incomplete_or_foreign_challenges_are_not_uma() {
        for header in [
            "",
            "Bearer realm=\"x\"",
            "UMA realm=\"x\", ticket=\"t\"",
            "UMA as_uri=\"https://as\"",
            "UMA as_uri=\"unterminated",
            "UMA ,,, =, \"",
            "\u{0}\u{ffff}",
        ] {
            assert_eq!(UmaChallenge::parse(header), None, "{header:?}");
        }
    }

    #[test]
    fn several_header_lines() {
        let mut headers = HeaderMap::new();
        headers.append(WWW_AUTHENTICATE, "Bearer realm=\"x\"".parse().unwrap());
        headers.append(
            WWW_AUTHENTICATE,
            "UMA as_uri=\"https://as\", ticket=\"t\"".parse().unwrap(),
        );
        assert_eq!(
            UmaChallenge::from_headers(&headers)
                .unwrap()
                .ticket
                .as_str(),
            "t"
        );
    }
}
