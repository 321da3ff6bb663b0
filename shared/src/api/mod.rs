//! The HTTP contract between the app and the server (`server/API.md`): each
//! endpoint is a type that names its method and path and the JSON it takes
//! and gives. The server routes and answers by these types
//! (`server/src/endpoint.rs`), the app calls by them (`app/src/api.rs`), so
//! a change to either side that the other does not follow does not compile.
//!
//! An endpoint's fields are its path parameters, named as in its
//! [`Endpoint::ROUTE`]; a body of `()` is no body, an answer of `()` is
//! `204 No Content`. Every error is an [`ErrorBody`].
//!
//! Files (`/api/blobs/…`) carry bytes, not JSON: [`blobs`] has their path
//! and answer, outside [`Endpoint`].

/// Declares an endpoint: its type (the path's parameters as fields, each a
/// `String`), method, route, body and answer. The path is written from the
/// route by `format!`, so a parameter without its field, or a field without
/// its parameter, does not compile.
macro_rules! endpoint {
    (@impl $name:ident, $method:ident, $route:literal, $body:ty, $answer:ty, $($param:ident),*) => {
        impl $crate::api::Endpoint for $name {
            const METHOD: $crate::api::Method = $crate::api::Method::$method;
            const ROUTE: &'static str = $route;
            type Body = $body;
            type Answer = $answer;

            fn path(&self) -> String {
                format!($route $(, $param = $crate::api::encode(&self.$param))*)
            }
        }
    };
    ($(#[$doc:meta])* $name:ident => $method:ident $route:literal, $body:ty => $answer:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct $name;

        endpoint!(@impl $name, $method, $route, $body, $answer,);
    };
    ($(#[$doc:meta])* $name:ident { $($param:ident),+ } => $method:ident $route:literal, $body:ty => $answer:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $(pub $param: String),+
        }

        endpoint!(@impl $name, $method, $route, $body, $answer, $($param),+);
    };
}

pub mod blobs;
pub mod invitations;
pub mod people;
pub mod roadmaps;
pub mod session;

pub use invitations::*;
pub use people::*;
pub use roadmaps::*;
pub use session::*;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The HTTP methods the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// One request of the API: the value holds the path's parameters.
pub trait Endpoint: Serialize + DeserializeOwned + Send + 'static {
    const METHOD: Method;
    /// The path pattern, parameters in braces named as the fields
    /// (`/api/roadmaps/{id}/access`): what the server routes.
    const ROUTE: &'static str;
    /// The JSON the request carries; `()` for none.
    type Body: Serialize + DeserializeOwned + Send + 'static;
    /// The JSON of a successful answer; `()` for `204 No Content`.
    type Answer: Serialize + DeserializeOwned + Send + 'static;

    /// The path of this request: [`Endpoint::ROUTE`] with the parameters
    /// filled in, percent-encoded.
    fn path(&self) -> String;
}

/// Whether requests to `E` carry a body (its body type is not `()`).
pub fn has_body<E: Endpoint>() -> bool {
    std::any::TypeId::of::<E::Body>() != std::any::TypeId::of::<()>()
}

/// Every refusal and failure: a status code and this.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, in Russian, for the person.
    pub error: String,
    /// After too many sign-in attempts (429): seconds to wait, as in
    /// `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

endpoint! {
    /// `GET /api/health`: the server is up (the e2e harness polls it; the
    /// app asks it to tell a live connection from a dead one).
    Health => Get "/api/health", () => Alive
}

/// The answer of [`Health`]: `{"ok": true}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alive {
    pub ok: bool,
}

/// Percent-encodes all but the unreserved characters (RFC 3986), for a
/// path segment or a query value.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The route's parameters, the value's fields and its path agree: the
    /// path has the route's fixed segments and, in each parameter's place,
    /// the value of the field of that name.
    fn check<E: Endpoint>(endpoint: E) {
        let fields = serde_json::to_value(&endpoint).unwrap();
        let path = endpoint.path();
        let route: Vec<&str> = E::ROUTE.split('/').collect();
        let segments: Vec<&str> = path.split('/').collect();
        assert_eq!(route.len(), segments.len(), "{path} against {}", E::ROUTE);
        let mut params = 0;
        for (pattern, segment) in route.iter().zip(&segments) {
            match pattern.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => {
                    params += 1;
                    let value = fields.get(name).and_then(|v| v.as_str());
                    assert_eq!(value.map(encode).as_deref(), Some(*segment), "{name} in {}", E::ROUTE);
                }
                None => assert_eq!(pattern, segment, "{}", E::ROUTE),
            }
        }
        let field_count = fields.as_object().map_or(0, |f| f.len());
        assert_eq!(params, field_count, "every field of {} is in its path", E::ROUTE);
    }

    #[test]
    fn every_endpoints_path_follows_its_route() {
        let id = || "2b8FjQzWx1".to_owned();
        let code = || "a b/ц".to_owned();
        check(Health);
        check(Login);
        check(Logout);
        check(GetMe);
        check(ChangePassword);
        check(CreateInvitation);
        check(ShowInvitation { code: code() });
        check(AcceptInvitation { code: code() });
        check(RevokeInvitation { code: id() });
        check(ListPeople);
        check(UpdatePerson { id: id() });
        check(AddUnit);
        check(ListRoadmaps);
        check(GetAccess { id: id() });
        check(UpdateAccess { id: id() });
        check(SetGrant { id: id(), user: "u 1".into() });
        check(ClearGrant { id: id(), user: "u1".into() });
        check(SetAdoptedOn { id: id() });
        check(DeleteRoadmap { id: id() });
    }

    #[test]
    fn bodies_are_sent_only_where_there_is_one() {
        assert!(!has_body::<GetMe>());
        assert!(!has_body::<Logout>());
        assert!(!has_body::<ClearGrant>());
        assert!(has_body::<Login>());
        assert!(has_body::<SetGrant>());
    }

    #[test]
    fn errors_read_as_the_server_writes_them() {
        let plain = ErrorBody { error: "нет прав".into(), retry_after_s: None };
        assert_eq!(serde_json::to_string(&plain).unwrap(), r#"{"error":"нет прав"}"#);
        let wait = ErrorBody { error: "подождите".into(), retry_after_s: Some(60) };
        assert_eq!(serde_json::to_string(&wait).unwrap(), r#"{"error":"подождите","retry_after_s":60}"#);
        assert_eq!(serde_json::to_string(&Alive { ok: true }).unwrap(), r#"{"ok":true}"#);
    }

    /// What the app sent before the contract was shared (optional fields
    /// left out, not `null`), and so what `server/API.md` and the JS
    /// interop tests expect.
    #[test]
    fn bodies_leave_out_what_does_not_change() {
        let moved = AccessChange { unit: Some("s1".into()), ..Default::default() };
        assert_eq!(json(&moved), r#"{"unit":"s1"}"#);
        let disabled = PersonChange { disabled: Some(true), ..Default::default() };
        assert_eq!(json(&disabled), r#"{"disabled":true}"#);
        let invitation = NewInvitation {
            role: crate::access::Role::SchoolTeam,
            unit: "s1".into(),
            schools: vec![],
            name: String::new(),
        };
        assert_eq!(json(&invitation), r#"{"role":"school-team","unit":"s1","name":""}"#);
        assert_eq!(json(&GrantRight { right: crate::access::Right::Read }), r#"{"right":"read"}"#);
    }

    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode("s1"), "s1");
        assert_eq!(encode("a b&c/d"), "a%20b%26c%2Fd");
        assert_eq!(encode("ш"), "%D1%88");
    }
}
