//! The IdP's HTML: login form, consent form, its own error page, and the
//! demo callback page. Plain HTML, no JavaScript; every value escaped.

use super::http::escape;
use super::state::Scope;

/// The stylesheet of every page here, allowed by its hash
/// ([`crate::server::page_policy`]).
pub(super) const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.5rem 1.2rem;margin-right:.5rem}.error{color:#a00}code{word-break:break-all}\
.brand{color:#666;font-size:.9rem}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\n<body>\n\
         <p class=\"brand\">standin mock brand IdP</p>\n{body}\n</body></html>\n",
        title = escape(title)
    )
}

/// The username and password form.
pub fn login_page(
    client_name: &str,
    txn: &str,
    csrf: &str,
    username: Option<&str>,
    error: Option<&str>,
) -> String {
    let error = error
        .map(|e| {
            format!(
                "<p class=\"error\" id=\"login-error\" role=\"alert\">{}</p>\n",
                escape(e)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1>\n<p>{client} wants to know who you are.</p>\n{error}\
         <form method=\"post\" action=\"/login\">\n\
         <input type=\"hidden\" name=\"txn\" value=\"{txn}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"username\">User name</label>\n\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" value=\"{username}\" required>\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required>\n\
         <button type=\"submit\">Sign in</button>\n</form>",
        client = escape(client_name),
        txn = escape(txn),
        csrf = escape(csrf),
        username = escape(username.unwrap_or("")),
    );
    page("Sign in", &body)
}

/// The first page of a two-step login (the `login_two_step` quirk): the
/// user name only; the password page follows with it hidden.
pub fn username_page(client_name: &str, txn: &str, csrf: &str) -> String {
    let body = format!(
        "<h1>Sign in</h1>\n<p>{client} wants to know who you are.</p>\n\
         <form method=\"post\" action=\"/login\">\n\
         <input type=\"hidden\" name=\"txn\" value=\"{txn}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"username\">User name</label>\n\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required>\n\
         <button type=\"submit\">Next</button>\n</form>",
        client = escape(client_name),
        txn = escape(txn),
        csrf = escape(csrf),
    );
    page("Sign in", &body)
}

/// The second page of a two-step login: the password, the user name
/// carried hidden.
pub fn password_page(client_name: &str, txn: &str, csrf: &str, username: &str) -> String {
    let body = format!(
        "<h1>Enter your password</h1>\n<p>Signing in to {client} as {user}.</p>\n\
         <form method=\"post\" action=\"/login\">\n\
         <input type=\"hidden\" name=\"txn\" value=\"{txn}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <input type=\"hidden\" name=\"username\" value=\"{user}\">\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required>\n\
         <button type=\"submit\">Sign in</button>\n</form>",
        client = escape(client_name),
        txn = escape(txn),
        csrf = escape(csrf),
        user = escape(username),
    );
    page("Sign in", &body)
}

/// The login form built by a script (the `login_needs_javascript`
/// quirk); the page's Content-Security-Policy allows that one script by
/// `nonce`. Without JavaScript the page has no form.
pub fn scripted_login_page(client_name: &str, txn: &str, csrf: &str, nonce: &str) -> String {
    let js = |s: &str| {
        serde_json::to_string(s)
            .unwrap_or_default()
            .replace('<', "\\u003c")
    };
    let body = format!(
        "<h1>Sign in</h1>\n<p>{client} wants to know who you are.</p>\n<div id=\"login\"></div>\n\
         <noscript>This sign-in page needs JavaScript.</noscript>\n\
         <script nonce=\"{nonce}\">\n\
         (function () {{\n\
           var f = document.createElement('form'); f.method = 'post'; f.action = '/login';\n\
           function input(name, type, value) {{ var i = document.createElement('input'); i.name = name; i.id = name; i.type = type; i.value = value || ''; f.appendChild(i); return i; }}\n\
           input('txn', 'hidden', {txn}); input('csrf', 'hidden', {csrf});\n\
           input('username', 'text'); input('password', 'password');\n\
           var b = document.createElement('button'); b.type = 'submit'; b.textContent = 'Sign in'; f.appendChild(b);\n\
           document.getElementById('login').appendChild(f);\n\
         }})();\n</script>",
        client = escape(client_name),
        nonce = escape(nonce),
        txn = js(txn),
        csrf = js(csrf),
    );
    page("Sign in", &body)
}

/// The consent form: Allow or Deny.
pub fn consent_page(client_name: &str, scope: &Scope, txn: &str, csrf: &str) -> String {
    let items: String = scope
        .words()
        .map(|s| format!("<li><code>{}</code></li>", escape(s)))
        .collect();
    let body = format!(
        "<h1>Allow access?</h1>\n<p>{client} asks for:</p>\n<ul id=\"scopes\">{items}</ul>\n\
         <form method=\"post\" action=\"/consent\">\n\
         <input type=\"hidden\" name=\"txn\" value=\"{txn}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n</form>",
        client = escape(client_name),
        txn = escape(txn),
        csrf = escape(csrf),
    );
    page("Allow access?", &body)
}

/// The IdP's own error page, for requests it must not redirect.
pub fn error_page(code: &str, description: &str) -> String {
    let body = format!(
        "<h1>This sign-in request cannot continue</h1>\n\
         <p id=\"error-code\" class=\"error\">{code}</p>\n\
         <p id=\"error-description\">{description}</p>\n\
         <p>You were not sent back to the application because the request could not be trusted.</p>",
        code = escape(code),
        description = escape(description),
    );
    page("Sign-in error", &body)
}

/// What the demo redirect target shows: every parameter it received.
pub fn demo_callback_page(params: &[(String, String)]) -> String {
    let rows: String = params
        .iter()
        .map(|(k, v)| {
            format!(
                "<tr><th>{}</th><td><code>{}</code></td></tr>\n",
                escape(k),
                escape(v)
            )
        })
        .collect();
    let body = format!(
        "<h1>Authorization response</h1>\n\
         <p>This is where a client would receive the authorization response.</p>\n\
         <table id=\"params\">\n{rows}</table>"
    );
    page("Authorization response", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflected_values_are_escaped() {
        let html = login_page(
            "<b>bot</b>",
            "t",
            "c",
            Some("\"><script>alert(1)</script>"),
            Some("<i>"),
        );
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>bot"));
        assert!(!html.contains("<i>"));
        assert!(error_page("x", "<img src=x>").contains("&lt;img"));
    }
}
