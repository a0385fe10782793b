//! Apps that sign in through Twostep (SPEC §13): registered apps, the OpenID Connect
//! authorization code flow and the tokens hung from it. The rules that need no HTTP
//! live here (PKCE, redirect URIs, scopes, `amr`/`acr`); the storage is
//! [`OAuthStore`].

use crate::Timestamp;
use crate::store::StoreResult;
use sha2::{Digest, Sha256};

/// An authorization code lives at most this long (SPEC §13: ≤ 60 s).
pub const CODE_TTL: i64 = 60;
/// Access tokens (RFC 9068 JWTs) live five minutes.
pub const ACCESS_TOKEN_TTL: i64 = 5 * 60;
/// ID tokens live as long as access tokens.
pub const ID_TOKEN_TTL: i64 = 5 * 60;
/// A refresh token unused this long is dead (it also dies with its session).
pub const REFRESH_TOKEN_TTL: i64 = 30 * 24 * 3600;
/// An authorization request waits this long for its user to sign in.
pub const REQUEST_TTL: i64 = 10 * 60;

/// `acr` after a second step, and after a password alone.
pub const ACR_2SV: &str = "urn:twostep:acr:2sv";
pub const ACR_PWD: &str = "urn:twostep:acr:pwd";

/// A registered app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: i64,
    pub org_id: i64,
    pub client_id: String,
    pub slug: String,
    pub name: String,
    /// SHA-256 of the client secret; `None` for a public app (PKCE instead).
    pub secret_hash: Option<Vec<u8>>,
    /// Whether the app can do 2SV; one that cannot is refused when 2SV applies.
    pub two_step: bool,
    pub redirect_uris: Vec<String>,
    pub created_at: Timestamp,
}

impl App {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    /// Redirect URIs match exactly (RFC 6749 §3.1.2.3, OAuth 2.0 Security BCP).
    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }
}

#[derive(Debug, Clone)]
pub struct NewApp {
    pub org_id: i64,
    pub client_id: String,
    pub slug: String,
    pub name: String,
    pub secret_hash: Option<Vec<u8>>,
    pub two_step: bool,
    pub redirect_uris: Vec<String>,
    pub created_at: Timestamp,
}

/// A key that signs ID and access tokens. The private key is sealed like every other
/// secret at rest; the public half is listed at `/oauth2/jwks` until the tokens it signed
/// have expired.
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub kid: String,
    /// `RS256` or `ES256`.
    pub alg: String,
    /// PKCS#8 DER of the private key, sealed with the server's secret key.
    pub sealed: Vec<u8>,
    pub key_id: String,
    /// The public key as a JWK (JSON text).
    pub public_jwk: String,
    pub created_at: Timestamp,
    /// When it stopped signing; `None` while it is the current key of its algorithm.
    pub retired_at: Option<Timestamp>,
}

/// What one sign-in gave one app. Codes, access and refresh tokens all hang from a grant,
/// and a grant from the Twostep session it came from: when the session ends, so does
/// every token (SPEC §13).
#[derive(Debug, Clone)]
pub struct Grant {
    pub id: i64,
    pub app_id: i64,
    pub session_id: i64,
    pub account_id: i64,
    pub scope: String,
    pub nonce: Option<String>,
    pub auth_time: Timestamp,
    /// RFC 8176 method references, space-separated.
    pub amr: String,
    pub acr: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub revoked_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewGrant {
    pub app_id: i64,
    pub session_id: i64,
    pub account_id: i64,
    pub scope: String,
    pub nonce: Option<String>,
    pub auth_time: Timestamp,
    pub amr: String,
    pub acr: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub code_hash: Vec<u8>,
    pub code_expires_at: Timestamp,
    pub created_at: Timestamp,
}

/// The outcome of redeeming a code.
#[derive(Debug, Clone)]
pub enum Redeemed {
    /// First use, in time: the grant.
    Fresh(Box<Grant>),
    /// Used before: the grant (and every token of it) has just been revoked (RFC 6749
    /// §4.1.2: a code used twice revokes what it issued).
    Replayed,
    /// Unknown or expired.
    Invalid,
}

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone)]
pub enum Refreshed {
    /// Its grant; the token is now used and the new one stored in its place.
    Rotated(Box<Grant>),
    /// Used before: the whole family (the grant) was revoked.
    Reused,
    Invalid,
}

/// An authorization request kept across the sign-in pages.
#[derive(Debug, Clone)]
pub struct PendingRequest {
    pub id: i64,
    pub app_id: i64,
    /// The request's parameters, as JSON.
    pub params: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[async_trait::async_trait]
pub trait OAuthStore: Send + Sync {
    // Apps.
    async fn create_app(&self, app: NewApp) -> StoreResult<App>;
    async fn apps(&self, org_id: i64) -> StoreResult<Vec<App>>;
    async fn app_by_client_id(&self, client_id: &str) -> StoreResult<Option<App>>;
    /// Deletes the app and everything issued to it; false if there was none.
    async fn delete_app(&self, org_id: i64, client_id: &str) -> StoreResult<bool>;
    async fn set_app_secret(&self, org_id: i64, client_id: &str, secret_hash: &[u8]) -> StoreResult<bool>;

    // Signing keys.
    /// Every key not retired before `listed_after`, newest first.
    async fn signing_keys(&self, listed_after: Timestamp) -> StoreResult<Vec<SigningKey>>;
    /// Adds a key and retires the current one of its algorithm, in one transaction.
    async fn add_signing_key(&self, key: SigningKey) -> StoreResult<()>;
    /// Replaces a signing key's sealed private key (key rotation), only if it still holds
    /// `old`: false when it changed meanwhile.
    async fn reseal_signing_key(&self, kid: &str, old: &[u8], sealed: &[u8], key_id: &str) -> StoreResult<bool>;
    /// Adds the first key of an algorithm unless another replica was first; true if added.
    async fn add_first_signing_key(&self, key: SigningKey) -> StoreResult<bool>;

    // Authorization requests waiting for a sign-in.
    async fn create_request(&self, handle_hash: &[u8], app_id: i64, params: &str, now: Timestamp) -> StoreResult<i64>;
    async fn request_by_handle(&self, handle_hash: &[u8], now: Timestamp) -> StoreResult<Option<PendingRequest>>;
    async fn delete_request(&self, id: i64) -> StoreResult<()>;

    // Grants and tokens.
    async fn create_grant(&self, grant: NewGrant) -> StoreResult<i64>;
    /// Redeems a code once (atomically); a second use revokes the grant.
    async fn redeem_code(&self, code_hash: &[u8], now: Timestamp) -> StoreResult<Redeemed>;
    async fn grant_by_id(&self, id: i64) -> StoreResult<Option<Grant>>;
    async fn revoke_grant(&self, id: i64, now: Timestamp) -> StoreResult<()>;
    async fn add_refresh_token(&self, grant_id: i64, token_hash: &[u8], expires_at: Timestamp) -> StoreResult<()>;
    /// Uses a refresh token once and stores its successor (rotation); a reused one
    /// revokes its grant.
    async fn rotate_refresh_token(
        &self,
        token_hash: &[u8],
        next_hash: &[u8],
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Refreshed>;
    /// The grant of a refresh token still unused and alive, without using it.
    async fn grant_of_refresh_token(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<Grant>>;

    // What the tokens need of the Twostep session they hang from.
    async fn session_by_id(&self, id: i64) -> StoreResult<Option<crate::store::SessionView>>;
    /// Which second step opened the session (`totp`, `sms`, `recovery_code`), if any.
    async fn session_second_factor(&self, session_id: i64) -> StoreResult<Option<String>>;
    async fn set_session_second_factor(&self, session_id: i64, factor: &str) -> StoreResult<()>;
}

/// RFC 7636 §4.6: `BASE64URL(SHA256(verifier)) == challenge` for `S256`, in constant time.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    use base64::Engine;
    // §4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~].
    let valid = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !valid {
        return false;
    }
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    crate::crypto::constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

/// A redirect URI an app may register: absolute, http(s) (http only for loopback, as RFC
/// 8252 allows native apps), or a private-use scheme (`com.example.app:/cb`); never a
/// fragment.
pub fn valid_redirect_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else { return false };
    if uri.contains('#') || uri.len() > 2000 || rest.is_empty() || uri.chars().any(char::is_whitespace) {
        return false;
    }
    match scheme {
        "https" => rest.starts_with("//") && rest.len() > 2,
        "http" => {
            let host = rest.trim_start_matches("//").split(['/', '?']).next().unwrap_or_default();
            let host = host
                .rsplit_once(':')
                .map_or(host, |(h, port)| if port.chars().all(|c| c.is_ascii_digit()) { h } else { host });
            matches!(host, "localhost" | "127.0.0.1" | "[::1]")
        }
        other => {
            other.contains('.') && other.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
        }
    }
}

/// RFC 8176 `amr` for a sign-in: `pwd`, plus the second step's method and `mfa`.
pub fn amr(second_step: Option<&str>) -> Vec<&'static str> {
    let second = match second_step {
        Some("totp") => Some("otp"),
        Some("sms") => Some("sms"),
        Some("recovery_code") => Some("otp"),
        Some("hwk") => Some("hwk"),
        Some("swk") => Some("swk"),
        Some(_) => Some("mfa"),
        None => None,
    };
    match second {
        Some("mfa") => vec!["pwd", "mfa"],
        Some(method) => vec!["pwd", method, "mfa"],
        None => vec!["pwd"],
    }
}

/// The stable, opaque `sub` of an account: never the username (SPEC §13).
pub fn subject(org_id: i64, account_id: i64) -> String {
    use base64::Engine;
    let digest = Sha256::digest(format!("twostep:sub:{org_id}:{account_id}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_7636_example() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
        assert!(!pkce_matches("short", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    }

    #[test]
    fn redirect_uris_are_absolute_and_http_only_on_loopback() {
        for good in
            ["https://app.example.com/cb", "http://127.0.0.1:8123/cb", "http://localhost/cb", "com.example.app:/cb"]
        {
            assert!(valid_redirect_uri(good), "{good}");
        }
        for bad in
            ["http://app.example.com/cb", "https://app.example.com/cb#x", "/cb", "https:", "javascript:alert(1)", ""]
        {
            assert!(!valid_redirect_uri(bad), "{bad}");
        }
    }

    #[test]
    fn amr_names_the_factors() {
        assert_eq!(amr(None), ["pwd"]);
        assert_eq!(amr(Some("totp")), ["pwd", "otp", "mfa"]);
        assert_eq!(amr(Some("sms")), ["pwd", "sms", "mfa"]);
    }

    #[test]
    fn the_subject_is_stable_and_opaque() {
        assert_eq!(subject(1, 2), subject(1, 2));
        assert_ne!(subject(1, 2), subject(1, 3));
        assert_eq!(subject(1, 2).len(), 22);
    }
}
