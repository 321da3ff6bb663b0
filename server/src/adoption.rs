//! «Дата принятия плана» set by a coordinator: `PUT
//! /api/roadmaps/{id}/adopted-on`. A coordinator only reads a school's
//! roadmap, yet the day its plan was adopted is theirs to state (an imported
//! plan counts on monitoring dates from that day). The server writes the
//! one header field through its relay ([`ServerPeer`]), signed with the
//! coordinator's name, so it is vetted, stored and passed to every device
//! with the roadmap open like any change.

use automerge::AutoCommit;
use medk_shared::doc::{Edit, RoadmapDoc};
use medk_shared::history::signed;
use medk_shared::ids::DocumentId;

use crate::peer::PeerError;
use crate::sync::SyncHub;

/// The action recorded in the roadmap's history.
const ACTION: &str = "set adoption date";

/// Writes `day` (`YYYY-MM-DD`, or empty to clear it) as the adoption date
/// of roadmap `id`, signed by `by` (a name). Nothing is written when the
/// roadmap already says so.
pub async fn write(hub: &SyncHub, id: DocumentId, day: &str, by: &str) -> Result<(), PeerError> {
    let mut peer = hub.server_peer().await?;
    let mut doc = AutoCommit::new();
    peer.catch_up(id, &mut doc).await?;
    let mut roadmap = RoadmapDoc::from_automerge(doc).map_err(|e| PeerError::Protocol(e.to_string()))?;
    if roadmap.read().header.adopted_on == day {
        return Ok(());
    }
    roadmap
        .apply(vec![Edit::SetAdoptedOn(day.to_owned())], crate::peer::now_ms(), &signed(ACTION, by))
        .map_err(|e| PeerError::Protocol(e.to_string()))?;
    peer.push(id, roadmap.automerge()).await
}
