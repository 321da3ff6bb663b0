//! Who may do what with each roadmap, and what only the server writes into
//! one (its adoption date, deleting it for everyone).

use serde::{Deserialize, Serialize};

use crate::access::{Right, UnitId, UserId};

endpoint! {
    /// `GET /api/roadmaps`: every roadmap the caller may read.
    ListRoadmaps => Get "/api/roadmaps", () => Vec<RoadmapRight>
}

/// What every answer about one roadmap starts with: which it is, the unit
/// it belongs to, whether it is published, and the caller's right on it.
/// Flattened into each answer, so its fields stand at the top of the JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoadmapStanding {
    pub id: String,
    pub unit: UnitId,
    #[serde(default)]
    pub published: bool,
    /// The caller's own right.
    pub right: Right,
}

/// One roadmap the person may read, and their right on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoadmapRight {
    #[serde(flatten)]
    pub roadmap: RoadmapStanding,
    /// As the relay last read it; empty before it has.
    #[serde(default)]
    pub title: String,
}

impl RoadmapRight {
    /// Its title as lists show it (never its id).
    pub fn shown_title(&self) -> String {
        if self.title.trim().is_empty() { "Без названия".to_owned() } else { self.title.clone() }
    }
}

endpoint! {
    /// `GET /api/roadmaps/{id}/access`: 404 to whoever may not read it, 410
    /// once it was deleted for everyone.
    GetAccess { id } => Get "/api/roadmaps/{id}/access", () => Access
}

/// A roadmap's access as the person who asks sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    #[serde(flatten)]
    pub roadmap: RoadmapStanding,
    /// Whether the caller manages the roadmap's unit.
    #[serde(default)]
    pub manages: bool,
    /// Explicit rights that replace the defaults.
    #[serde(default)]
    pub grants: Vec<Grant>,
}

/// One person's explicit right on a roadmap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub user: UserId,
    pub login: String,
    pub name: String,
    pub right: Right,
}

endpoint! {
    /// `PUT /api/roadmaps/{id}/access`: moves or (un)publishes it.
    UpdateAccess { id } => Put "/api/roadmaps/{id}/access", AccessChange => Access
}

/// What changes; what is left out stays.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<UnitId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<bool>,
}

endpoint! {
    /// `PUT /api/roadmaps/{id}/grants/{user}`: an explicit right for one
    /// person (`none` revokes).
    SetGrant { id, user } => Put "/api/roadmaps/{id}/grants/{user}", GrantRight => Access
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRight {
    pub right: Right,
}

endpoint! {
    /// `DELETE /api/roadmaps/{id}/grants/{user}`: back to the default right.
    ClearGrant { id, user } => Delete "/api/roadmaps/{id}/grants/{user}", () => Access
}

endpoint! {
    /// `PUT /api/roadmaps/{id}/adopted-on`: «Дата принятия плана», written
    /// by the server into the roadmap.
    SetAdoptedOn { id } => Put "/api/roadmaps/{id}/adopted-on", AdoptedOn => AdoptionStated
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptedOn {
    /// `YYYY-MM-DD`, or empty: not stated.
    pub adopted_on: String,
}

/// The date as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptionStated {
    pub id: String,
    pub adopted_on: String,
}

endpoint! {
    /// `DELETE /api/roadmaps/{id}`: deletes it for everyone.
    DeleteRoadmap { id } => Delete "/api/roadmaps/{id}", () => ()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn standing() -> RoadmapStanding {
        RoadmapStanding { id: "2b8FjQzWx1".into(), unit: "s1".into(), published: true, right: Right::Write }
    }

    /// The common part is flattened: the JSON is what it was before there
    /// was one, so older apps and servers read it alike.
    #[test]
    fn both_answers_keep_their_json_shape() {
        let listed = RoadmapRight { roadmap: standing(), title: "План".into() };
        let old =
            json!({"id": "2b8FjQzWx1", "unit": "s1", "published": true, "right": "write", "title": "План"});
        assert_eq!(serde_json::to_value(&listed).unwrap(), old);
        assert_eq!(serde_json::from_value::<RoadmapRight>(old).unwrap(), listed);

        let grant =
            Grant {
                user: "p1".into(), login: "ivanova".into(), name: "Иванова".into(), right: Right::Read
            };
        let access = Access { roadmap: standing(), manages: true, grants: vec![grant] };
        let old = json!({
            "id": "2b8FjQzWx1", "unit": "s1", "published": true, "right": "write", "manages": true,
            "grants": [{"user": "p1", "login": "ivanova", "name": "Иванова", "right": "read"}],
        });
        assert_eq!(serde_json::to_value(&access).unwrap(), old);
        assert_eq!(serde_json::from_value::<Access>(old).unwrap(), access);
    }

    /// What an older server left out still reads as before.
    #[test]
    fn left_out_fields_read_as_their_defaults() {
        let listed: RoadmapRight =
            serde_json::from_value(json!({"id": "2b8FjQzWx1", "unit": "s1", "right": "write"})).unwrap();
        assert_eq!(
            listed,
            RoadmapRight {
                roadmap: RoadmapStanding { published: false, ..standing() },
                title: String::new()
            }
        );
        let access: Access = serde_json::from_value(
            json!({"id": "2b8FjQzWx1", "unit": "s1", "published": true, "right": "write"}),
        )
        .unwrap();
        assert_eq!(access, Access { roadmap: standing(), manages: false, grants: Vec::new() });
    }
}
