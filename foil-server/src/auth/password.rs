//! Argon2id password hashing for self-hosted identity (api.md §2.1).
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), so the parameters travel
//! with each hash: verification uses the stored parameters, and raising them later only affects
//! new hashes.

use std::cell::RefCell;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

/// Memory cost in KiB. With [`T_COST`] and [`P_COST`] this is OWASP's recommended minimum for
/// Argon2id (19 MiB, 2 passes, 1 lane): tens of milliseconds per hash on one core.
const M_COST_KIB: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

// Stored hashes asking for more than this are treated as corrupt instead of being run: verifying
// runs the cost a hash names, and an absurd memory cost would be an allocation of that size.
const MAX_M_COST_KIB: u32 = 256 * 1024;
const MAX_T_COST: u32 = 16;
const MAX_P_COST: u32 = 16;

/// Argon2's default output length, which [`hash_password`] uses.
const OUTPUT_LEN: usize = 32;
/// Salt of [`dummy_verify`]'s computation: only the work matters, not the value. Same length
/// as the random salts of real hashes.
const DUMMY_SALT: &[u8; 16] = b"foil-dummy-salt!";

/// Hashing failed. Only invalid parameters cause this, never the password; the message never
/// contains the password.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub(crate) struct PasswordError(String);

/// Runs Argon2 work off the async workers on a few threads of its own (one per CPU) with a
/// bounded queue: password hashing is the server's most expensive operation (19 MiB and tens of
/// ms each). Without a bound a burst of logins starts hundreds at once; and on the shared
/// blocking pool each new thread's allocator arena keeps its own 19 MiB, so even a semaphore
/// would let memory grow with the thread count. Dedicated threads keep it at one job's memory
/// per CPU.
pub(crate) struct PasswordWork {
    jobs: std::sync::mpsc::SyncSender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// The work queue is full; the caller should retry shortly (503 + `Retry-After`).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("password work queue is full")]
pub(crate) struct PasswordWorkBusy;

impl PasswordWork {
    /// `parallel` threads; at most `max_queued` jobs waiting for one.
    pub(crate) fn new(parallel: usize, max_queued: usize) -> Self {
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(max_queued);
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for n in 0..parallel.max(1) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("foil-argon2-{n}"))
                .spawn(move || loop {
                    // The lock is held only while waiting for the next job, not while it runs.
                    let next = queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .recv();
                    match next {
                        // A panicking job must not take its worker with it: with every
                        // worker gone, each later sign-up and login would be refused.
                        Ok(job) => {
                            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err()
                            {
                                tracing::error!("a password job panicked");
                            }
                        }
                        Err(_) => return, // the pool was dropped
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password worker thread");
            }
        }
        PasswordWork { jobs }
    }

    /// Sized to this machine: one thread per CPU, 16 jobs waiting per CPU.
    pub(crate) fn for_this_machine() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cpus, cpus * 16)
    }

    /// Runs `job` on a password thread; refuses at once when the queue is full.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordWorkBusy> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(job());
        });
        self.jobs.try_send(job).map_err(|_| {
            metrics::counter!("foil_password_work_refused_total").increment(1);
            PasswordWorkBusy
        })?;
        result.await.map_err(|_| PasswordWorkBusy)
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, Some(OUTPUT_LEN))
        .expect("static Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

thread_local! {
    /// Argon2's working memory, kept by each thread between jobs. Allocating and freeing
    /// 19 MiB per job lets glibc's heap grow with every burst (measured: +210 MiB of RSS for
    /// 200 concurrent logins on two password threads, against +20 MiB with the memory kept).
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs Argon2 with `params` on this thread's kept memory; a cost above ours (an old or
/// foreign hash, within [`within_limits`]) gets memory of its own, freed afterwards.
fn hash_into(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    let count = params.block_count();
    if count > own_block_count() {
        return argon2.hash_password_into_with_memory(
            password,
            salt,
            out,
            vec![Block::default(); count],
        );
    }
    BLOCKS.with_borrow_mut(|blocks| {
        if blocks.len() < count {
            blocks.resize(count, Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..count])
    })
}

fn own_block_count() -> usize {
    argon2().params().block_count()
}

/// Hashes a password with Argon2id and a fresh random salt into a PHC string.
pub(crate) fn hash_password(password: &str) -> Result<String, PasswordError> {
    let failed = |e: &dyn std::fmt::Display| PasswordError(e.to_string());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; Salt::RECOMMENDED_LENGTH * 4];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(|e| failed(&e))?;
    let argon2 = argon2();
    let mut out = [0u8; OUTPUT_LEN];
    hash_into(
        &argon2,
        argon2.params(),
        password.as_bytes(),
        salt_bytes,
        &mut out,
    )
    .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2.params().try_into().map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`. False for a malformed hash, an algorithm
/// other than Argon2, or parameters beyond sane bounds; never panics.
pub(crate) fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let params = match Params::try_from(&hash) {
        Ok(params) if within_limits(&params) => params,
        _ => return false,
    };
    let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    hash_into(&argon2, &params, password.as_bytes(), salt_bytes, &mut out).is_ok()
        && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

fn within_limits(params: &Params) -> bool {
    params.m_cost() <= MAX_M_COST_KIB
        && params.t_cost() <= MAX_T_COST
        && params.p_cost() <= MAX_P_COST
}

/// Does the work of one [`verify_password`] against a hash made by [`hash_password`], and
/// discards it. Call it when a login names an unknown email, so that response times do not
/// reveal which accounts exist.
pub(crate) fn dummy_verify(password: &str) {
    std::hint::black_box(dummy_hash(password));
}

fn dummy_hash(password: &str) -> Option<[u8; OUTPUT_LEN]> {
    let mut out = [0u8; OUTPUT_LEN];
    let argon2 = argon2();
    hash_into(
        &argon2,
        argon2.params(),
        password.as_bytes(),
        DUMMY_SALT,
        &mut out,
    )
    .ok()
    .map(|()| out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    /// A real PHC hash with custom (cheap) parameters.
    fn hash_with(params: Params, password: &str) -> String {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
    }

    #[test]
    fn roundtrip_wrong_password_and_salting() {
        for password in ["correct horse battery staple", "", "pässwörd 🔑"] {
            let hash = hash_password(password).unwrap();
            assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
            assert!(verify_password(password, &hash), "{password:?}");
            // The argon2 crate's own verifier agrees: a standard PHC hash.
            let parsed = PasswordHash::new(&hash).unwrap();
            assert!(argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok());
            assert!(!verify_password(&format!("{password}x"), &hash));
            assert_ne!(hash, hash_password(password).unwrap(), "random salt");
        }
        let hash = hash_password("correct horse").unwrap();
        assert!(!hash.contains("correct horse"));
        assert!(!verify_password("Correct horse", &hash));
        assert!(!verify_password("correct hors", &hash));
    }

    #[test]
    fn hashes_carry_the_owasp_parameters() {
        let hash = hash_password("pw").unwrap();
        let params = Params::try_from(&PasswordHash::new(&hash).unwrap()).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (19 * 1024, 2, 1)
        );
        assert_eq!(PasswordHash::new(&hash).unwrap().hash.unwrap().len(), 32);
    }

    #[test]
    fn malformed_or_foreign_hashes_never_verify() {
        let good = hash_password("pw").unwrap();
        let mut flipped = good.clone();
        // Change the last character of the hash part to another valid base64 character.
        let last = flipped.pop().unwrap();
        flipped.push(if last == 'A' { 'B' } else { 'A' });
        let without_hash = good.rsplit_once('$').unwrap().0.to_string();
        for bad in [
            "",
            "pw",
            "garbage",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            &good[..good.len() - 10],
            &flipped,
            &without_hash,
            // Valid PHC syntax, not Argon2.
            "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
        ] {
            assert!(!verify_password("pw", bad), "{bad:?}");
        }
        assert!(
            verify_password("pw", &good),
            "the untouched hash still verifies"
        );
    }

    #[test]
    fn stored_parameters_are_used_within_bounds() {
        // An older, weaker hash still verifies: the parameters come from the hash.
        let legacy = hash_with(Params::new(8, 1, 1, None).unwrap(), "pw");
        assert!(verify_password("pw", &legacy));
        assert!(!verify_password("other", &legacy));
        // At the bounds it verifies; one step beyond, the hash is refused unrun.
        assert!(verify_password(
            "pw",
            &hash_with(Params::new(8, MAX_T_COST, 1, None).unwrap(), "pw")
        ));
        assert!(!verify_password(
            "pw",
            &hash_with(Params::new(8, MAX_T_COST + 1, 1, None).unwrap(), "pw")
        ));
        let lanes = MAX_P_COST + 1;
        assert!(!verify_password(
            "pw",
            &hash_with(Params::new(8 * lanes, 1, lanes, None).unwrap(), "pw")
        ));
        // Too costly to run in a test; checked on the parameters alone.
        assert!(within_limits(
            &Params::new(MAX_M_COST_KIB, 1, 1, None).unwrap()
        ));
        assert!(!within_limits(
            &Params::new(MAX_M_COST_KIB + 1, 1, 1, None).unwrap()
        ));
    }

    #[test]
    fn dummy_verify_does_the_work_of_a_real_verification() {
        // Same output as a real hash of the password with the dummy salt: the whole Argon2id
        // computation, with the parameters real hashes get, is run.
        let salt = SaltString::encode_b64(DUMMY_SALT).unwrap();
        let real = argon2().hash_password(b"some password", &salt).unwrap();
        let dummy = dummy_hash("some password").expect("dummy hash computed");
        assert_eq!(real.hash.unwrap().as_bytes(), dummy.as_slice());
        assert_ne!(dummy_hash("another password"), Some(dummy));
        dummy_verify("some password");
    }
}
