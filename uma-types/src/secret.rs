//! Credential newtypes whose `Debug` output never shows the value, so a token cannot reach a log
//! through `{:?}` or a derived `Debug` of a struct that holds it.

macro_rules! secret_string {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        ///
        /// Its `Debug` output never shows the value:
        ///
        #[doc = concat!("```\nlet secret = uma_types::", stringify!($name), "::new(\"value\");\nassert!(!format!(\"{secret:?}\").contains(\"value\"));\n```")]
        #[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value received on the wire or from configuration.
            ///
            #[doc = concat!("```\nlet value = uma_types::", stringify!($name), "::new(\"s3cret\");\nassert_eq!(format!(\"{value:?}\"), \"", stringify!($name), "(<redacted>)\");\n```")]
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The value itself, for putting on the wire. Never log it.
            ///
            #[doc = concat!("```\nlet value = uma_types::", stringify!($name), "::from(\"s3cret\");\nassert_eq!(value.as_str(), \"s3cret\");\n```")]
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Unwraps the value.
            ///
            #[doc = concat!("```\nlet value = uma_types::", stringify!($name), "::new(\"s3cret\");\nassert_eq!(value.into_string(), \"s3cret\");\n```")]
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

secret_string! {
    /// A permission ticket (Grant §1.3): the handle for requested permissions that the resource
    /// server obtains at the permission endpoint and the client redeems at the token endpoint.
    PermissionTicket
}

secret_string! {
    /// A requesting party token (Grant §1.3): the access token the UMA grant issues.
    Rpt
}

secret_string! {
    /// A protection API access token (FedAuthz §1.2): an access token with scope `uma_protection`.
    Pat
}

secret_string! {
    /// A persisted claims token (Grant §1.3): a handle for claims gathered in an earlier grant.
    Pct
}

secret_string! {
    /// A claim token (Grant §3.3.1): claims pushed by the client, such as an OpenID Connect ID token.
    ClaimToken
}

secret_string! {
    /// An OAuth access token of any kind, as a token endpoint returns it.
    AccessToken
}

secret_string! {
    /// A client secret for `client_secret_basic` or `client_secret_post` authentication.
    ClientSecret
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let rpt = Rpt::new("very-secret-token");
        assert_eq!(format!("{rpt:?}"), "Rpt(<redacted>)");
        assert_eq!(rpt.as_str(), "very-secret-token");
        assert_eq!(
            serde_json::to_string(&rpt).unwrap(),
            "\"very-secret-token\""
        );
    }
}
