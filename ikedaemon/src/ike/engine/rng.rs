//! Where the engine's randomness comes from (SPIs, nonces, IVs): the
//! operating system's generator through OpenSSL in the daemon, a seeded
//! deterministic generator in tests, so every run can be replayed.

/// A source of random bytes.
pub trait Rng: std::fmt::Debug {
    /// Fills `buf`.
    fn fill(&mut self, buf: &mut [u8]);

    /// `n` random bytes.
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill(&mut v);
        v
    }

    /// A random non-zero u64 (SPIs).
    fn nonzero_u64(&mut self) -> u64 {
        loop {
            let mut b = [0u8; 8];
            self.fill(&mut b);
            let v = u64::from_be_bytes(b);
            if v != 0 {
                return v;
            }
        }
    }
}

/// A number in `0..n` (0 when `n` is 0); the modulo bias is irrelevant
/// for timers.
pub fn below(rng: &mut dyn Rng, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let mut b = [0u8; 8];
    rng.fill(&mut b);
    u64::from_be_bytes(b) % n
}

/// A rekey time with random jitter: up to a tenth earlier, so that SAs
/// set up together do not all rekey in the same second (and two peers
/// with the same settings rarely start rekeying at once).
pub fn jittered(rekey: std::time::Duration, rng: &mut dyn Rng) -> std::time::Duration {
    let ms = u64::try_from(rekey.as_millis()).unwrap_or(u64::MAX);
    rekey.saturating_sub(std::time::Duration::from_millis(below(rng, ms / 10 + 1)))
}

/// OpenSSL's CSPRNG.
#[derive(Debug, Default)]
pub struct OsRng;

impl Rng for OsRng {
    fn fill(&mut self, buf: &mut [u8]) {
        if openssl::rand::rand_bytes(buf).is_err() {
            // OpenSSL's DRBG does not fail once seeded; if it ever did,
            // refuse to continue with predictable values.
            std::process::abort();
        }
    }
}

/// A deterministic generator for tests and simulations (splitmix64).
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
}

impl Rng for SeededRng {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            let b = z.to_be_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
    }
}
