//! Auth tokens, as go-livepeer issues them with OrchestratorInfo: a session id, an expiry and an
//! opaque token the orchestrator can check without storing it (here HMAC-SHA256 over the session
//! id and the expiry with a secret that never leaves the process). Pure apart from the clock
//! the caller passes in. Tokens are secrets: nothing here prints them.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::net::wire::pb;

/// go-livepeer's `authTokenValidPeriod`: 30 minutes.
pub const TOKEN_VALID_SECONDS: i64 = 30 * 60;

/// Why a token is refused (the counted reason of a 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the segment carries no auth token")]
    Missing,
    #[error("the auth token was not issued by this orchestrator")]
    Forged,
    #[error("the auth token has expired; ask for orchestrator info again")]
    Expired,
}

impl TokenError {
    /// The counted reason.
    pub fn reason(self) -> &'static str {
        match self {
            TokenError::Missing => "auth_token_missing",
            TokenError::Forged => "auth_token_forged",
            TokenError::Expired => "auth_token_expired",
        }
    }
}

/// Issues and checks tokens with one secret.
pub struct TokenIssuer {
    secret: [u8; 32],
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenIssuer(<secret hidden>)")
    }
}

impl TokenIssuer {
    pub fn new(secret: [u8; 32]) -> TokenIssuer {
        TokenIssuer { secret }
    }

    fn mac(&self, session_id: &str, expiration: i64) -> Vec<u8> {
        // HMAC accepts any key length; `new_from_slice` cannot fail for HMAC.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.secret) {
            Ok(m) => m,
            Err(_) => return Vec::new(),
        };
        mac.update(session_id.as_bytes());
        mac.update(&[0]);
        mac.update(&expiration.to_be_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// A token for `session_id`, valid until `now_unix + TOKEN_VALID_SECONDS`.
    pub fn issue(&self, session_id: &str, now_unix: i64) -> pb::AuthToken {
        let expiration = now_unix.saturating_add(TOKEN_VALID_SECONDS);
        pb::AuthToken {
            token: self.mac(session_id, expiration),
            session_id: session_id.to_string(),
            expiration,
        }
    }

    /// Checks a token presented at `now_unix`.
    pub fn check(&self, token: Option<&pb::AuthToken>, now_unix: i64) -> Result<(), TokenError> {
        let t = token.ok_or(TokenError::Missing)?;
        if t.session_id.is_empty() || t.token.is_empty() {
            return Err(TokenError::Missing);
        }
        let want = self.mac(&t.session_id, t.expiration);
        // Constant-time comparison: the token is a MAC.
        let same = want.len() == t.token.len()
            && want
                .iter()
                .zip(&t.token)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Err(TokenError::Forged);
        }
        if t.expiration <= now_unix {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let issuer = TokenIssuer::new([7u8; 32]);
        let other = TokenIssuer::new([8u8; 32]);
        let t = issuer.issue("abc", 1000);
        let mut tampered = t.clone();
        tampered.session_id = "abd".into();
        let mut extended = t.clone();
        extended.expiration += 1;
        let cases: Vec<(
            Option<&pb::AuthToken>,
            &TokenIssuer,
            i64,
            Result<(), TokenError>,
        )> = vec![
            (Some(&t), &issuer, 1000, Ok(())),
            (
                Some(&t),
                &issuer,
                1000 + TOKEN_VALID_SECONDS,
                Err(TokenError::Expired),
            ),
            (Some(&t), &other, 1000, Err(TokenError::Forged)),
            (Some(&tampered), &issuer, 1000, Err(TokenError::Forged)),
            (Some(&extended), &issuer, 1000, Err(TokenError::Forged)),
            (None, &issuer, 1000, Err(TokenError::Missing)),
        ];
        for (i, (token, who, now, want)) in cases.into_iter().enumerate() {
            assert_eq!(who.check(token, now), want, "case {i}");
        }
    }
}
