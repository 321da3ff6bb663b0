//! Signing in and out, who is signed in, and changing one's password.

use serde::{Deserialize, Serialize};

use crate::access::{Org, Person, Unit};

/// Who is signed in, and what of the organisation they see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub person: Person,
    /// Every unit the person may see ([`Org::visible_units`]).
    pub units: Vec<Unit>,
    /// A coordinator whose account is on ([`Person::is_manager`]): the app
    /// offers «Люди и доступ».
    #[serde(default)]
    pub manages: bool,
}

impl Me {
    /// What `person` is told about themselves in `org`.
    pub fn of(org: &Org, person: Person) -> Me {
        Me { units: org.visible_units(&person), manages: person.is_manager(), person }
    }
}

endpoint! {
    /// `POST /api/login`: signs in; the answer comes with the session and
    /// device cookies.
    Login => Post "/api/login", Credentials => Me
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub login: String,
    pub password: String,
}

endpoint! {
    /// `POST /api/logout`: ends the session and clears its cookie.
    Logout => Post "/api/logout", () => ()
}

endpoint! {
    /// `GET /api/me`.
    GetMe => Get "/api/me", () => Me
}

endpoint! {
    /// `POST /api/password`: ends the person's other sessions.
    ChangePassword => Post "/api/password", PasswordChange => ()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Level, Role};

    #[test]
    fn a_person_is_told_what_they_see_and_whether_they_manage() {
        let mut org = Org::default();
        for (id, parent, level) in
            [("r1", "rf", Level::Region), ("r2", "rf", Level::Region), ("m1", "r1", Level::Municipality)]
        {
            org.add(Unit { id: id.into(), parent: Some(parent.into()), level, name: id.into() }).unwrap();
        }
        let mut person = Person {
            id: "p".into(),
            login: "p".into(),
            name: "P".into(),
            role: Role::RegionalCoordinator,
            unit: "r1".into(),
            schools: vec![],
            disabled: false,
        };
        let me = Me::of(&org, person.clone());
        let mut seen: Vec<&str> = me.units.iter().map(|u| u.id.as_str()).collect();
        seen.sort();
        assert_eq!(seen, ["m1", "r1", "rf"], "not the other region");
        assert!(me.manages);
        person.disabled = true;
        assert!(!Me::of(&org, person.clone()).manages, "a disabled coordinator manages nothing");
        person.disabled = false;
        person.role = Role::Observer;
        assert!(!Me::of(&org, person).manages);
    }
}
