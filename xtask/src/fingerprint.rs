//! A content fingerprint (64-bit FNV-1a): enough to tell builds apart for
//! cache busting and to notice a changed lockfile; not a security hash.

#[derive(Clone, Copy)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Self::new()
    }
}

impl Fingerprint {
    pub fn new() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }

    pub fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn of(bytes: &[u8]) -> Self {
        let mut fingerprint = Self::new();
        fingerprint.update(bytes);
        fingerprint
    }

    /// The full 16 hex digits.
    pub fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Fingerprint;

    #[test]
    fn matches_reference_fnv1a_64() {
        assert_eq!(Fingerprint::of(b"").hex(), "cbf29ce484222325");
        assert_eq!(Fingerprint::of(b"a").hex(), "af63dc4c8601ec8c");
    }
}
