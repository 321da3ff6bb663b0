//! `/api/blobs/{address}?unit=…`: the bytes of a school's attached files,
//! addressed by their content ([`crate::address`]). The body is the file
//! itself, not JSON, so these are not [`super::Endpoint`]s: the app uploads
//! and downloads them with their own timeouts.

use serde::{Deserialize, Serialize};

use crate::access::UnitId;

/// The route the server serves both calls at (`GET` downloads, `PUT`
/// uploads).
pub const ROUTE: &str = "/api/blobs/{address}";

/// The path of a blob for `unit`: uploaded for it, or downloaded with the
/// type its uploader gave.
pub fn path(address: &str, unit: &str) -> String {
    format!("/api/blobs/{address}?unit={}", super::encode(unit))
}

/// The query of both calls.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobQuery {
    pub unit: Option<UnitId>,
}

/// The answer to an upload (`201`), whether or not the bytes were new.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub address: String,
    pub size: u64,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_unit_is_encoded_in_the_path() {
        let path = super::path("sha256:ab", "s1");
        assert_eq!(path.split('?').next(), Some(super::ROUTE.replace("{address}", "sha256:ab").as_str()));
        assert_eq!(super::path("sha256:ab", "s1"), "/api/blobs/sha256:ab?unit=s1");
        assert_eq!(super::path("sha256:ab", "a b&c"), "/api/blobs/sha256:ab?unit=a%20b%26c");
        assert_eq!(super::path("sha256:ab", "ш"), "/api/blobs/sha256:ab?unit=%D1%88");
    }
}
