//! Invitations: a coordinator invites people to the units they manage; the
//! invited person opens the link and registers.

use serde::{Deserialize, Serialize};

use super::Me;
use crate::access::{Role, UnitId, UserId};

/// An invitation as the server keeps and lists it: by its id, without its
/// code, which the server does not keep (it is in the answer that created
/// it, and in the link shown then).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// What it is stored under, the SHA-256 of its code (hex): names it in
    /// lists and for revoking, and opens nothing.
    #[serde(default)]
    pub id: String,
    /// The code itself: only in the answer that created the invitation.
    /// The server keeps none (records an older server wrote with one are
    /// rewritten on open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub role: Role,
    pub unit: UnitId,
    #[serde(default)]
    pub schools: Vec<UnitId>,
    pub created_by: UserId,
    /// Unix seconds.
    pub expires_at: u64,
    /// Whom it is for, as the coordinator wrote it: two invitations to
    /// one school's team are told apart by it.
    #[serde(default)]
    pub name: String,
    /// Who accepted it: kept (and listed) until it would have expired, so
    /// the coordinator sees who came in by it. An accepted invitation
    /// opens nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_by: Option<Accepted>,
}

/// Who accepted an invitation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub id: UserId,
    pub login: String,
    pub name: String,
}

endpoint! {
    /// `POST /api/invitations`: `201` with the invitation and its code.
    CreateInvitation => Post "/api/invitations", NewInvitation => Invitation
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInvitation {
    pub role: Role,
    pub unit: UnitId,
    /// A curator's schools, written into their files once they accept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schools: Vec<UnitId>,
    /// Whom it is for (optional).
    #[serde(default)]
    pub name: String,
}

endpoint! {
    /// `GET /api/invitations/{code}`: public, what the link invites to.
    ShowInvitation { code } => Get "/api/invitations/{code}", () => InvitationInfo
}

/// What an invitation's link shows before registering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationInfo {
    pub role: Role,
    /// The unit and its parents, «Школа № 7, Каменский район, …».
    pub unit_name: String,
    /// Unix seconds.
    pub expires_at: u64,
    /// Whom the coordinator invited (the form's «ФИО» starts with it).
    #[serde(default)]
    pub name: String,
}

endpoint! {
    /// `POST /api/invitations/{code}/accept`: registers and signs in.
    AcceptInvitation { code } => Post "/api/invitations/{code}/accept", Registration => Me
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub login: String,
    #[serde(default)]
    pub name: String,
    pub password: String,
}

endpoint! {
    /// `DELETE /api/invitations/{code}`: `code` is its id as listed, or
    /// its code (one name for the parameter of every path below
    /// `/api/invitations/`, as the router needs).
    RevokeInvitation { code } => Delete "/api/invitations/{code}", () => ()
}
