//! The "Add credential" dialog's types, as document 004 names them, and
//! exactly the fields each one asks for. A field's `name` is the saved
//! JSON field, so the vault's [`FieldError`](crate::platform::credentials::FieldError)s
//! land beside the input they are about.

/// How a field is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Widget {
    Text,
    Url,
    /// A password input; never shown again, left blank to keep on edit.
    Secret,
    /// A secret pasted as text (the NLU provider's JSON).
    SecretText,
    /// A file upload (the key store, the trust certificate); `accept`
    /// lists the extensions the documents name.
    File {
        accept: &'static str,
    },
    /// One of `(value, label)`.
    Select(&'static [(&'static str, &'static str)]),
    /// Any of `(value, label)`; sent as a list.
    Checkboxes(&'static [(&'static str, &'static str)]),
}

impl Widget {
    /// Whether what was entered must never go back to the page.
    pub fn secret(self) -> bool {
        matches!(
            self,
            Widget::Secret | Widget::SecretText | Widget::File { .. }
        )
    }
}

/// One input of a type's form.
#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub widget: Widget,
    pub required: bool,
    pub help: &'static str,
}

/// What the type's form shows above its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shows {
    Nothing,
    /// The OAuth 2.0 code credential's redirect URI, to register at the
    /// brand (with a Copy button).
    OAuthRedirectUri,
    /// The Consumer Authentication callback, to put in the link's
    /// `redirect_uri`.
    ConsumerCallback,
}

/// What the save button does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submit {
    Save,
    /// Save, then go to the brand's authorization endpoint.
    AuthorizeInBrowser,
    /// Save, then fetch a token now.
    AuthorizeNow,
}

#[derive(Debug)]
pub struct Type {
    /// The saved `type`.
    pub name: &'static str,
    pub label: &'static str,
    pub about: &'static str,
    pub shows: Shows,
    pub submit: Submit,
    pub fields: &'static [Field],
}

const fn field(
    name: &'static str,
    label: &'static str,
    widget: Widget,
    required: bool,
    help: &'static str,
) -> Field {
    Field {
        name,
        label,
        widget,
        required,
        help,
    }
}

const CLIENT_ID: Field = field(
    "client_id",
    "Client ID",
    Widget::Text,
    true,
    "The public ID of the client registered at the brand (consumer key).",
);
const CLIENT_SECRET: Field = field(
    "client_secret",
    "Client secret",
    Widget::Secret,
    true,
    "The client's secret at the brand (consumer secret).",
);
const SCOPE: Field = field(
    "scope",
    "Scope",
    Widget::Text,
    false,
    "Optional. Space-separated, passed as is (RFC 6749 3.3).",
);
const TOKEN_URL: Field = field(
    "token_url",
    "Token URL",
    Widget::Url,
    true,
    "The brand's token endpoint.",
);

/// TLS versions as the documents name them; 1.1 is offered because the
/// documents do, and refused when saved (RFC 8996).
const TLS: &[(&str, &str)] = &[
    ("TLSv1.1", "TLS 1.1"),
    ("TLSv1.2", "TLS 1.2"),
    ("TLSv1.3", "TLS 1.3"),
];

const PROVIDERS: &[(&str, &str)] = &[
    ("", "Choose a provider"),
    ("google_dialogflow", "Google Dialogflow"),
    ("ibm_watson", "IBM Watson"),
];

/// Every type, in the order the dialog offers them.
pub const TYPES: &[Type] = &[
    Type {
        name: "oauth2_authorization_code",
        label: "OAuth 2.0, Authorization Code",
        about: "An admin authorizes it once in the browser; the platform keeps the token and refreshes it.",
        shows: Shows::OAuthRedirectUri,
        submit: Submit::AuthorizeInBrowser,
        fields: &[
            CLIENT_ID,
            CLIENT_SECRET,
            SCOPE,
            field(
                "auth_url",
                "Auth URL",
                Widget::Url,
                true,
                "The brand's authorization endpoint, where you will sign in to authorize.",
            ),
            TOKEN_URL,
        ],
    },
    Type {
        name: "oauth2_client_credentials",
        label: "OAuth 2.0, Client Credentials",
        about: "The platform fetches a token with the client's own credentials.",
        shows: Shows::Nothing,
        submit: Submit::AuthorizeNow,
        fields: &[CLIENT_ID, CLIENT_SECRET, SCOPE, TOKEN_URL],
    },
    Type {
        name: "consumer_pre_authentication",
        label: "Consumer Pre-Authentication",
        about: "Consumers sign in at the brand before the conversation; the platform keeps and refreshes their tokens. One per organisation.",
        shows: Shows::Nothing,
        submit: Submit::Save,
        fields: &[],
    },
    Type {
        name: "consumer_authentication",
        label: "Consumer Authentication",
        about: "The bot sends the consumer a sign-in link during the conversation.",
        shows: Shows::ConsumerCallback,
        submit: Submit::Save,
        fields: &[field(
            "url",
            "Authentication URL",
            Widget::Url,
            true,
            "The brand's authorization endpoint with client_id, response_type=code, redirect_uri and scope.",
        )],
    },
    Type {
        name: "mutual_authentication",
        label: "Mutual Authentication",
        about: "Calls go over mutual TLS with a key certificate; the server is checked against the trust certificate.",
        shows: Shows::Nothing,
        submit: Submit::Save,
        fields: &[
            field(
                "key_store",
                "Key certificate",
                Widget::File {
                    accept: ".p12,.pfx,.jks",
                },
                true,
                "The key store with the private key and its certificate: .p12 (recommended), .pfx or .jks.",
            ),
            field(
                "key_store_password",
                "Key certificate password",
                Widget::Secret,
                false,
                "The key store's password, if it has one.",
            ),
            field(
                "key_alias",
                "Key alias",
                Widget::Text,
                false,
                "Which private key to present, when the store holds several.",
            ),
            field(
                "trust_certificate",
                "Trust certificate",
                Widget::File {
                    accept: ".crt,.cer,.pem,.der",
                },
                false,
                "The certificate that issued the API's server certificate, or that certificate itself: .crt, .cer or .pem. Not needed when the key store holds it.",
            ),
            field(
                "trust_certificate_password",
                "Trust certificate password",
                Widget::Secret,
                false,
                "If the trust certificate file has a password.",
            ),
            field(
                "tls_versions",
                "Cryptographic protocols",
                Widget::Checkboxes(TLS),
                false,
                "None chosen: TLS 1.2 and TLS 1.3.",
            ),
        ],
    },
    Type {
        name: "basic_authentication",
        label: "Basic Authentication",
        about: "Authorization: Basic from a user name and password.",
        shows: Shows::Nothing,
        submit: Submit::Save,
        fields: &[
            field("username", "User name", Widget::Text, true, ""),
            field("password", "User password", Widget::Secret, true, ""),
        ],
    },
    Type {
        name: "access_token",
        label: "Access Token",
        about: "A fixed token sent on every call.",
        shows: Shows::Nothing,
        submit: Submit::Save,
        fields: &[
            field("token", "Access token", Widget::Secret, true, ""),
            field(
                "token_type",
                "Token type",
                Widget::Text,
                true,
                "Typically Bearer or Basic; any word is sent as is.",
            ),
        ],
    },
    Type {
        name: "third_party_nlu",
        label: "Third-party NLU",
        about: "Trains NLU domains with Google Dialogflow or IBM Watson.",
        shows: Shows::Nothing,
        submit: Submit::Save,
        fields: &[
            field(
                "provider",
                "NLU provider",
                Widget::Select(PROVIDERS),
                true,
                "",
            ),
            field(
                "credentials",
                "Credentials",
                Widget::SecretText,
                true,
                "The JSON the provider gave when the service was set up, pasted unchanged.",
            ),
            field(
                "api_url",
                "Dialogflow API URL",
                Widget::Url,
                false,
                "Optional, Dialogflow only: another API endpoint (a regional one).",
            ),
        ],
    },
];

/// The type named `name`.
pub fn find(name: &str) -> Option<&'static Type> {
    TYPES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dialog offers every type the vault saves, and no other.
    #[test]
    fn every_vault_type_has_a_form() {
        let mut ours: Vec<&str> = TYPES.iter().map(|t| t.name).collect();
        let mut vault = crate::platform::credentials::TYPES.to_vec();
        ours.sort_unstable();
        vault.sort_unstable();
        assert_eq!(ours, vault);
    }
}
