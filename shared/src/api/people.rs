//! People and units, for the coordinators who manage them.

use serde::{Deserialize, Serialize};

use super::Invitation;
use crate::access::{Level, Person, Unit, UnitId};

endpoint! {
    /// `GET /api/people`: the people and invitations of the units the
    /// caller manages.
    ListPeople => Get "/api/people", () => People
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct People {
    pub people: Vec<Person>,
    #[serde(default)]
    pub invitations: Vec<Invitation>,
}

endpoint! {
    /// `PUT /api/people/{id}`: a curator's schools, or disabling an account.
    UpdatePerson { id } => Put "/api/people/{id}", PersonChange => Person
}

/// What changes; what is left out stays.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schools: Option<Vec<UnitId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

endpoint! {
    /// `POST /api/units`: `201` with the new unit.
    AddUnit => Post "/api/units", NewUnit => Unit
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUnit {
    pub parent: UnitId,
    pub level: Level,
    pub name: String,
}
