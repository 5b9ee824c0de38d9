//! Who may use the API: short-lived JWTs (HS256, keyed by a secret derived from the node
//! key) for people — from a password login or a one-time login code — checked on every
//! route but `/healthz`, `/metrics`, `/api/openapi.json` and the login routes themselves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use fieldmesh_actors::store::{Accounts, now_us};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ApiState;
use crate::api::ApiError;

/// Cookie that carries the token in browsers.
pub const TOKEN_COOKIE: &str = "fieldmesh_token";
/// How long a one-time login code stays usable.
const CODE_TTL: Duration = Duration::from_secs(600);

/// What a token says.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Who (a user name).
    pub sub: String,
    /// Issued at, s since the Unix epoch.
    pub iat: u64,
    /// Expires at, s since the Unix epoch.
    pub exp: u64,
}

/// The token key of a node whose ed25519 secret is `node_key`.
pub fn token_secret(node_key: &[u8; 32]) -> [u8; 32] {
    blake3::derive_key("fieldmesh api token v1", node_key)
}

/// A token for `sub`, valid for `ttl`.
pub fn mint(secret: &[u8; 32], sub: &str, ttl: Duration) -> Result<String, String> {
    let iat = now_us() / 1_000_000;
    let claims = Claims {
        sub: sub.into(),
        iat,
        exp: iat + ttl.as_secs().max(1),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| format!("cannot sign a token: {e}"))
}

/// The claims of a valid, unexpired token.
pub fn verify(secret: &[u8; 32], token: &str) -> Result<Claims, String> {
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret), &v)
        .map(|d| d.claims)
        .map_err(|e| format!("invalid token: {e}"))
}

/// The API's auth state.
#[derive(Clone)]
pub struct Auth {
    secret: [u8; 32],
    accounts: Accounts,
    ttl: Duration,
    codes: Arc<Mutex<HashMap<String, u64>>>,
}

impl Auth {
    /// Tokens keyed by `secret`, valid for `ttl`; people and keys from `accounts`.
    pub fn new(secret: [u8; 32], accounts: Accounts, ttl: Duration) -> Self {
        Self {
            secret,
            accounts,
            ttl,
            codes: Arc::default(),
        }
    }

    /// A fresh one-time login code (for a URL such as the demo prints).
    pub fn one_time_code(&self) -> String {
        let code: String = rand::random::<[u8; 16]>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        let now = now_us();
        codes.retain(|_, exp| *exp > now);
        codes.insert(code.clone(), now + CODE_TTL.as_micros() as u64);
        code
    }

    fn redeem(&self, code: &str) -> bool {
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        codes.remove(code).is_some_and(|exp| exp > now_us())
    }

    /// People and device keys.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }
}

/// The token a request carries: bearer header, cookie, or `access_token` query parameter
/// (browsers cannot set headers on a WebSocket).
pub(crate) fn token_of(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(t) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(t.trim().to_string());
    }
    let from_cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(TOKEN_COOKIE)?.strip_prefix('='))
        .map(str::to_string)
        .next();
    from_cookie.or_else(|| {
        query?
            .split('&')
            .find_map(|kv| kv.strip_prefix("access_token="))
            .map(str::to_string)
    })
}

/// Who a request is logged in as (its token's claims), or why it is not.
pub(crate) fn login_of(
    auth: &Auth,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Claims, String> {
    match token_of(headers, query) {
        Some(t) => verify(&auth.secret, &t),
        None => {
            Err("log in first: no token (Authorization: Bearer, cookie or access_token)".into())
        }
    }
}

/// Lets a request through with a valid token; answers 401 otherwise.
pub(crate) async fn require_login(
    State(state): State<ApiState>,
    req: Request,
    next: Next,
) -> Response {
    let why = match login_of(&state.auth, req.headers(), req.uri().query()) {
        Ok(_) => return next.run(req).await,
        Err(e) => e,
    };
    let browser = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let mut resp = if browser {
        let why = why.replace('&', "&amp;").replace('<', "&lt;");
        let page = format!(
            "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=\"1;url=/login\">\
             <title>fieldmesh · log in</title><p>Please <a href=/login>log in</a> ({why}).</p>"
        );
        (StatusCode::UNAUTHORIZED, Html(page)).into_response()
    } else {
        ApiError(StatusCode::UNAUTHORIZED, why).into_response()
    };
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    resp
}

/// `POST /api/v1/login` body.
#[derive(Debug, Deserialize)]
pub struct Login {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

async fn check(auth: &Auth, login: Login) -> Result<bool, ApiError> {
    let accounts = auth.accounts.clone();
    tokio::task::spawn_blocking(move || accounts.check_password(&login.username, &login.password))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(ApiError::from)
}

/// `POST /api/v1/login {username, password}` → `{token, token_type, expires_in}`.
pub async fn login(State(state): State<ApiState>, Json(body): Json<Login>) -> Response {
    let name = body.username.clone();
    match check(&state.auth, body).await {
        Ok(true) => match mint(&state.auth.secret, &name, state.auth.ttl) {
            Ok(token) => Json(json!({
                "token": token,
                "token_type": "Bearer",
                "expires_in": state.auth.ttl.as_secs(),
            }))
            .into_response(),
            Err(e) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
        },
        Ok(false) => ApiError(
            StatusCode::UNAUTHORIZED,
            "wrong user name or password".into(),
        )
        .into_response(),
        Err(e) => e.into_response(),
    }
}

fn with_cookie(auth: &Auth, sub: &str) -> Response {
    let token = match mint(&auth.secret, sub, auth.ttl) {
        Ok(t) => t,
        Err(e) => return ApiError(StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    };
    let cookie = format!(
        "{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        auth.ttl.as_secs()
    );
    let mut resp = Redirect::to("/").into_response();
    if let Ok(v) = header::HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

const LOGIN_FORM: &str = r#"<!doctype html><meta charset="utf-8"><title>fieldmesh · log in</title>
<style>body{font:16px system-ui;margin:4em auto;max-width:22em}input{display:block;width:100%;margin:.4em 0 1em;padding:.4em}</style>
<h1>fieldmesh</h1><form method="post" action="/login">
<label>User<input name="username" autocomplete="username" required></label>
<label>Password<input name="password" type="password" autocomplete="current-password" required></label>
<button>Log in</button></form>"#;

/// `POST /api/v1/login-codes` → `{code}`: a one-time login code (for `fieldmesh login-link`).
pub async fn new_code(State(state): State<ApiState>) -> Response {
    Json(json!({ "code": state.auth.one_time_code() })).into_response()
}

/// `?code=` of the login page.
#[derive(Debug, Deserialize)]
pub struct CodeParam {
    /// A one-time login code.
    pub code: Option<String>,
}

/// `GET /login[?code=…]`: a one-time code sets the session cookie; otherwise the form.
pub async fn login_page(State(state): State<ApiState>, Query(q): Query<CodeParam>) -> Response {
    match q.code {
        Some(code) if state.auth.redeem(&code) => with_cookie(&state.auth, "one-time-login"),
        Some(_) => (
            StatusCode::UNAUTHORIZED,
            Html("<p>This login link was used already or has expired.</p>".to_string()),
        )
            .into_response(),
        None => Html(LOGIN_FORM.to_string()).into_response(),
    }
}

/// `POST /login` (the form): sets the session cookie.
pub async fn login_form(
    State(state): State<ApiState>,
    axum::Form(body): axum::Form<Login>,
) -> Response {
    let name = body.username.clone();
    match check(&state.auth, body).await {
        Ok(true) => with_cookie(&state.auth, &name),
        Ok(false) => (
            StatusCode::UNAUTHORIZED,
            Html(format!("<p>Wrong user name or password.</p>{LOGIN_FORM}")),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_they_expire_and_only_under_their_key() {
        let (k1, k2) = (token_secret(&[1; 32]), token_secret(&[2; 32]));
        let t = mint(&k1, "ada", Duration::from_secs(60)).unwrap();
        assert_eq!(verify(&k1, &t).unwrap().sub, "ada");
        assert!(verify(&k2, &t).is_err(), "another node's key");
        assert!(verify(&k1, "garbage").is_err());
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("a=b; {TOKEN_COOKIE}={t}").parse().unwrap(),
        );
        assert_eq!(token_of(&h, None).as_deref(), Some(t.as_str()));
        assert_eq!(
            token_of(&HeaderMap::new(), Some("x=1&access_token=abc")).as_deref(),
            Some("abc")
        );
        let claims = Claims {
            sub: "old".into(),
            iat: 1,
            exp: 2,
        };
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&k1),
        )
        .unwrap();
        assert!(verify(&k1, &expired).unwrap_err().contains("xpired"));
    }
}
