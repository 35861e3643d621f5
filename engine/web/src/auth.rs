//! Dashboard credentials: argon2id password hashes and random tokens (sessions, CSRF,
//! API) of which only a SHA-256 is stored, and the threads that check passwords.
//!
//! Must not touch: HTTP, SQL. Functions the web layer and the CLI share.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::SaltString;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Passwords shorter than this are refused when a user is created.
pub const MIN_PASSWORD_LEN: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the password must have at least {MIN_PASSWORD_LEN} characters")]
    PasswordTooShort,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &SecretString) -> Result<String, AuthError> {
    if password.expose_secret().chars().count() < MIN_PASSWORD_LEN {
        return Err(AuthError::PasswordTooShort);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Argon2's working memory (19 MiB with the default parameters), kept from one check to the
/// next by a checking thread.
pub type CheckMemory = Vec<Block>;

/// Salt of the stand-in check for an unknown user.
const NO_SUCH_USER_SALT: &[u8] = b"liza: no such user";

/// True when `password` matches `stored`. With no stored hash (unknown user) the same work is
/// done anyway, so the answer takes as long and tells nobody which names exist.
pub fn verify_password(password: &SecretString, stored: Option<&str>) -> bool {
    verify_password_in(password, stored, &mut CheckMemory::new())
}

/// [`verify_password`] in `memory` (grown when it is too small, never shrunk).
pub fn verify_password_in(
    password: &SecretString,
    stored: Option<&str>,
    memory: &mut CheckMemory,
) -> bool {
    let password = password.expose_secret().as_bytes();
    match stored.and_then(|s| PasswordHash::new(s).ok()) {
        Some(hash) => matches_hash(password, &hash, memory).unwrap_or(false),
        None => {
            let mut out = [0u8; 32];
            let _ = hash_in(
                &Argon2::default(),
                password,
                NO_SUCH_USER_SALT,
                &mut out,
                memory,
            );
            false
        }
    }
}

/// Hashes `password` with the algorithm, version, parameters and salt of `hash` and compares
/// in constant time.
fn matches_hash(
    password: &[u8],
    hash: &PasswordHash<'_>,
    memory: &mut CheckMemory,
) -> Result<bool, argon2::password_hash::Error> {
    use subtle::ConstantTimeEq;
    let expected = hash.hash.ok_or(argon2::password_hash::Error::Password)?;
    let salt = hash.salt.ok_or(argon2::password_hash::Error::Password)?;
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let version = hash
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let argon2 = Argon2::new(
        Algorithm::try_from(hash.algorithm)?,
        version,
        Params::try_from(hash)?,
    );
    let mut out = vec![0u8; expected.len()];
    hash_in(&argon2, password, salt, &mut out, memory)?;
    Ok(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
}

fn hash_in(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut CheckMemory,
) -> Result<(), argon2::Error> {
    let blocks = argon2.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    // Every block is written before it is read, so what an earlier check left does not matter.
    argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..])
}

/// Threads of their own that check passwords, each with an Argon2 memory it keeps: memory
/// stays at threads × 19 MiB whatever the load, instead of a fresh 19 MiB per check that the
/// allocator may keep per thread.
pub struct PasswordChecker {
    jobs: flume::Sender<CheckJob>,
}

type CheckJob = Box<dyn FnOnce(&mut CheckMemory) + Send>;

impl PasswordChecker {
    /// Starts `threads` checking threads (at least one); they end when the checker is dropped.
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let (jobs, queue) = flume::unbounded::<CheckJob>();
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("liza-password-{n}"))
                .spawn(move || {
                    let mut memory = CheckMemory::new();
                    while let Ok(job) = queue.recv() {
                        job(&mut memory);
                    }
                })?;
        }
        Ok(Self { jobs })
    }

    /// Checks `password` against `stored` on a checking thread. `hold` (e.g. the permit that
    /// admitted the check) is dropped when the check has run, even if the caller stopped
    /// waiting for it.
    pub async fn check(
        &self,
        password: SecretString,
        stored: Option<String>,
        hold: impl Send + 'static,
    ) -> bool {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: CheckJob = Box::new(move |memory| {
            let matches = verify_password_in(&password, stored.as_deref(), memory);
            drop(hold);
            let _ = answer.send(matches);
        });
        if self.jobs.send(job).is_err() {
            return false;
        }
        answered.await.unwrap_or(false)
    }
}

/// 32 random bytes, URL-safe base64: a session cookie, a CSRF token or an API token.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two tokens in constant time.
pub fn tokens_match(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let password = SecretString::from("correct horse battery");
        let hash = hash_password(&password).unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        assert!(verify_password(&password, Some(&hash)));
        assert!(!verify_password(
            &SecretString::from("wrong horse battery"),
            Some(&hash)
        ));
        assert!(!verify_password(&password, None));
        assert!(!verify_password(&password, Some("not a PHC string")));
    }

    #[test]
    fn reused_memory_gives_the_same_answers() {
        let password = SecretString::from("correct horse battery");
        let other = SecretString::from("another password!");
        let (hash, other_hash) = (
            hash_password(&password).unwrap(),
            hash_password(&other).unwrap(),
        );
        let mut memory = CheckMemory::new();
        for _ in 0..2 {
            assert!(verify_password_in(&password, Some(&hash), &mut memory));
            assert!(!verify_password_in(&other, Some(&hash), &mut memory));
            assert!(!verify_password_in(&password, None, &mut memory));
            assert!(verify_password_in(&other, Some(&other_hash), &mut memory));
        }
        assert_eq!(
            memory.len(),
            Params::DEFAULT_M_COST as usize,
            "19 MiB, kept"
        );
    }

    #[tokio::test]
    async fn the_checker_answers_and_drops_what_it_holds_when_done() {
        let checker = PasswordChecker::new(2).unwrap();
        let password = SecretString::from("correct horse battery");
        let hash = hash_password(&password).unwrap();
        let held = std::sync::Arc::new(());
        assert!(
            checker
                .check(password.clone(), Some(hash.clone()), held.clone())
                .await
        );
        assert!(
            !checker
                .check(
                    SecretString::from("wrong horse battery"),
                    Some(hash),
                    held.clone()
                )
                .await
        );
        assert_eq!(std::sync::Arc::strong_count(&held), 1);
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(
            hash_password(&SecretString::from("short")),
            Err(AuthError::PasswordTooShort)
        ));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
        assert!(tokens_match(&a, &a.clone()));
        assert!(!tokens_match(&a, &b));
    }
}
