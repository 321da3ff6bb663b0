//! A file's content address: `sha256:` and the 64 lowercase hex digits of
//! its SHA-256. School files name attachments by it, the app uploads and
//! caches by it, the relay stores and checks blobs by it.

use sha2::{Digest as _, Sha256};

const PREFIX: &str = "sha256:";

/// A checked content address; holds the hex digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobAddress(String);

impl BlobAddress {
    /// The address of `bytes`.
    pub fn of(bytes: &[u8]) -> BlobAddress {
        BlobAddress::of_digest(&Sha256::digest(bytes))
    }

    /// The address of a SHA-256 digest computed elsewhere (a streamed upload).
    pub fn of_digest(digest: &[u8]) -> BlobAddress {
        BlobAddress(hex::encode(digest))
    }

    /// Reads `sha256:<64 lowercase hex>`; anything else is `None`.
    pub fn parse(text: &str) -> Option<BlobAddress> {
        let hex = text.strip_prefix(PREFIX)?;
        let valid = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        valid.then(|| BlobAddress(hex.to_owned()))
    }

    /// The 64 hex digits, without the prefix (file names on the relay).
    pub fn hex(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BlobAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PREFIX}{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn addresses_are_the_sha256_of_the_bytes() {
        assert_eq!(BlobAddress::of(b"").to_string(), format!("sha256:{EMPTY}"));
        assert_eq!(
            BlobAddress::of(b"hello").to_string(),
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }

    #[test]
    fn only_the_canonical_form_parses() {
        assert_eq!(BlobAddress::parse(&format!("sha256:{EMPTY}")).unwrap().hex(), EMPTY);
        for bad in [
            EMPTY.to_owned(),
            format!("sha256:{}", EMPTY.to_uppercase()),
            format!("sha256:{}", &EMPTY[1..]),
            format!("sha256:{EMPTY}0"),
            format!("sha256:../{}", &EMPTY[3..]),
            format!("sha1:{EMPTY}"),
        ] {
            assert_eq!(BlobAddress::parse(&bad), None, "{bad}");
        }
    }
}
