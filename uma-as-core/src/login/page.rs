//! The sign-in page and the error page, with the headers that keep them safe: no caching, no
//! framing, a CSP that admits only this server and the one verified redirect target as form
//! targets (TM-22), and the session cookie (TM-21).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::server::AppState;

/// An error shown to the person, never redirected (Grant CI-5).
pub(super) fn error_page(status: StatusCode, message: &str) -> Response {
    let mut response = (
        status,
        Html(format!(
            "<!doctype html><meta charset=\"utf-8\"><title>Cannot continue</title>\
             <h1>Cannot continue</h1><p>{}</p>",
            escape(message)
        )),
    )
        .into_response();
    protect(response.headers_mut(), None);
    response
}

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// What the sign-in form shows.
pub(super) struct Form<'a> {
    /// Where the form posts (this server).
    pub(super) action: &'a str,
    /// What the client asks, in words.
    pub(super) prompt: &'a str,
    pub(super) csrf: &'a str,
    /// A problem with the last attempt.
    pub(super) message: Option<&'a str>,
    /// Where a successful sign-in redirects: the form's post is followed by this redirect,
    /// which browsers check against the CSP's `form-action`.
    pub(super) redirect_uri: &'a str,
}

/// The sign-in form; with `session`, the cookie that starts its session.
pub(super) fn sign_in_page(state: &AppState, form: &Form<'_>, session: Option<&str>) -> Response {
    let message = form
        .message
        .map(|m| format!("<p role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default();
    let page = format!(
        "<!doctype html><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign in</title>\
         <h1>Sign in</h1><p>{}</p>{message}\
         <form method=\"post\" action=\"{}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <p><label for=\"username\">Username</label> \
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required maxlength=\"{}\"></p>\
         <p><label for=\"password\">Password</label> \
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"{}\"></p>\
         <p><button type=\"submit\">Sign in</button></p></form>",
        escape(form.prompt),
        escape(form.action),
        escape(form.csrf),
        super::MAX_USERNAME,
        super::MAX_PASSWORD,
    );
    let mut response = Html(page).into_response();
    protect(response.headers_mut(), Some(form.redirect_uri));
    if let Some(id) = session {
        if let Ok(value) = HeaderValue::try_from(state.sign_in.cookie.set(id)) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    response
}

/// No caching, no framing, nothing loaded; forms may post only here, and be redirected only to
/// `redirect_uri`.
pub(super) fn protect(headers: &mut HeaderMap, redirect_uri: Option<&str>) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let target = redirect_uri.and_then(csp_source).unwrap_or_default();
    let policy = format!(
        "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'{}{target}",
        if target.is_empty() { "" } else { " " }
    );
    if let Ok(value) = HeaderValue::try_from(policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// A registered redirect URI as a CSP source expression: its scheme, host, port and path (no
/// query, which CSP cannot say), with the characters that would end the source or the
/// directive percent-encoded. `None` for a URI that cannot be one: the page then admits only
/// this server, and the sign-in fails closed in the browser rather than widening the policy.
fn csp_source(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        // A native app's private-use scheme (RFC 8252 §7.1): the scheme is the whole target.
        return Some(format!("{}:", url.scheme()));
    }
    let host = url.host_str()?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path: String = url
        .path()
        .chars()
        .map(|c| match c {
            ';' => "%3B".to_owned(),
            ',' => "%2C".to_owned(),
            c if c.is_ascii_graphic() => c.to_string(),
            c => c.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
        })
        .collect();
    Some(format!("{}://{host}{port}{path}", url.scheme()))
}

/// A session cookie (the sign-in page's, the console's): `HttpOnly`, `SameSite=Strict`, `Path`
/// the issuer's path, `Secure` (and the `__Host-` prefix where it applies) when the issuer is
/// https.
#[derive(Debug, Clone)]
pub(crate) struct SessionCookie {
    name: String,
    attributes: String,
}

impl SessionCookie {
    pub(crate) fn new(issuer: &str, name: &str) -> Self {
        let url = url::Url::parse(issuer).ok();
        let secure = url.as_ref().is_some_and(|u| u.scheme() == "https");
        let path = url
            .as_ref()
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".to_owned());
        // `__Host-` pins the cookie to this host, https and the root path: a sibling host or a
        // plain-http page cannot set or shadow it.
        let name = if secure && path == "/" {
            format!("__Host-{name}")
        } else {
            name.to_owned()
        };
        let mut attributes = format!("; HttpOnly; SameSite=Strict; Path={path}");
        if secure {
            attributes.push_str("; Secure");
        }
        Self { name, attributes }
    }

    pub(crate) fn set(&self, id: &str) -> String {
        format!("{}={id}{}", self.name, self.attributes)
    }

    pub(crate) fn clear(&self) -> String {
        format!("{}={}; Max-Age=0", self.name, self.attributes)
    }

    /// The session id the browser sent.
    pub(crate) fn read(&self, headers: &HeaderMap) -> Option<String> {
        let prefix = format!("{}=", self.name);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| pair.trim().strip_prefix(&prefix).map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets_become_csp_sources() {
        for (uri, source) in [
            (
                "https://app.example/cb?from=uma",
                Some("https://app.example/cb"),
            ),
            ("http://127.0.0.1:8081/cb", Some("http://127.0.0.1:8081/cb")),
            (
                "https://app.example/a;b,c d",
                Some("https://app.example/a%3Bb%2Cc%20d"),
            ),
            ("com.example.app:/callback", Some("com.example.app:")),
            ("not a uri", None),
        ] {
            assert_eq!(csp_source(uri).as_deref(), source, "{uri}");
        }
    }

    #[test]
    fn cookies_follow_the_issuer() {
        let plain = SessionCookie::new("http://127.0.0.1:8080", "uma_login");
        assert_eq!(
            plain.set("x"),
            "uma_login=x; HttpOnly; SameSite=Strict; Path=/"
        );
        let tls = SessionCookie::new("https://as.example", "uma_login");
        assert_eq!(
            tls.set("x"),
            "__Host-uma_login=x; HttpOnly; SameSite=Strict; Path=/; Secure"
        );
        let realm = SessionCookie::new("https://sso.example/realms/photoz", "uma_login");
        assert_eq!(
            realm.set("x"),
            "uma_login=x; HttpOnly; SameSite=Strict; Path=/realms/photoz; Secure"
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "other=1; __Host-uma_login=abc".parse().unwrap(),
        );
        assert_eq!(tls.read(&headers).as_deref(), Some("abc"));
        assert_eq!(plain.read(&headers), None);
    }
}
