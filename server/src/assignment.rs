//! The one curator assignment, from the paths that assign a curator
//! outside the app: `PUT /api/people/{id}` with `schools`, a curator's
//! invitation naming schools, and `medk-server admin create-user --school`.
//!
//! Like the app's «Изменить школы», each writes the curator into the
//! school's file («Участники»), and the curator's rights follow the file
//! ([`Accounts::follow_assignment`]): the school screen, the participants
//! table, the dashboards and the rights agree whichever path was used. A
//! running server writes through its relay ([`ServerPeer`]), so devices
//! with the file open get the change at once; the admin command, which runs
//! with the server stopped, writes the store directly.

use medk_shared::access::{Person, UnitId};
use medk_shared::actions::school::name_curator;
use medk_shared::history::signed;
use medk_shared::school::{PersonRef, SchoolDoc, school_file_id};

use crate::accounts::{Accounts, AccountsError};
use crate::peer::{PeerError, ServerPeer};
use crate::store::{Store, Write};
use crate::sync::SyncHub;

/// The action recorded in the school file's history.
const ACTION: &str = "set curator";

/// Writes `changes` (from [`Person::school_changes`]) into the schools' files through the
/// running relay, signed by `by` (a name), and makes the rights follow each
/// file. The schools whose file could not be written are returned with why;
/// their rights stay as they were.
pub async fn write_through_relay(
    hub: &SyncHub,
    accounts: &Accounts,
    curator: &Person,
    changes: &[(UnitId, bool)],
    by: &str,
) -> Result<(), Vec<(UnitId, String)>> {
    if changes.is_empty() {
        return Ok(());
    }
    let who = PersonRef { id: curator.id.clone(), name: curator.name.clone() };
    let mut peer = match hub.server_peer().await {
        Ok(peer) => peer,
        Err(e) => return Err(changes.iter().map(|(s, _)| (s.clone(), e.to_string())).collect()),
    };
    let mut failed = Vec::new();
    for (school, serves) in changes {
        if let Err(e) = write_one(&mut peer, accounts, school, &who, *serves, by).await {
            tracing::warn!(school, curator = who.id, "the curator assignment was not written: {e:?}");
            failed.push((school.clone(), e.to_string()));
        }
    }
    if failed.is_empty() { Ok(()) } else { Err(failed) }
}

async fn write_one(
    peer: &mut ServerPeer,
    accounts: &Accounts,
    school: &str,
    curator: &PersonRef,
    serves: bool,
    by: &str,
) -> Result<(), PeerError> {
    let id = school_file_id(school);
    let mut file = SchoolDoc::genesis(school);
    peer.catch_up(id, file.automerge()).await?;
    if let Some(edit) = name_curator(&file.read(), curator, serves) {
        file.apply(vec![edit], crate::peer::now_ms(), &signed(ACTION, by))
            .map_err(|e| PeerError::Protocol(format!("{e}: {:?}", e.detail())))?;
        peer.push(id, file.automerge()).await?;
    }
    // The relay made the rights follow the change; this also mends rights
    // that disagreed with a file already naming the curator.
    follow(accounts, school, &file).map_err(|e| PeerError::Protocol(e.to_string()))
}

/// Writes `changes` into the schools' files in `store` directly (the
/// server is stopped), and makes the rights follow each file.
pub fn write_to_store(
    store: &dyn Store,
    accounts: &Accounts,
    curator: &Person,
    changes: &[(UnitId, bool)],
    by: &str,
) -> anyhow::Result<()> {
    let who = PersonRef { id: curator.id.clone(), name: curator.name.clone() };
    for (school, serves) in changes {
        let id = school_file_id(school);
        let chunks = store.load(&id)?;
        let mut file = if chunks.is_empty() {
            SchoolDoc::genesis(school)
        } else {
            SchoolDoc::load(&chunks.concat())
                .map_err(|e| anyhow::anyhow!("the file of school {school} does not load: {e}"))?
        };
        if let Some(edit) = name_curator(&file.read(), &who, *serves) {
            file.apply(vec![edit], crate::peer::now_ms(), &signed(ACTION, by))
                .map_err(|e| anyhow::anyhow!("writing the file of school {school}: {e}"))?;
            store.commit(vec![Write::Replace { doc: id, snapshot: file.save() }])?;
        }
        follow(accounts, school, &file)?;
    }
    Ok(())
}

fn follow(accounts: &Accounts, school: &str, file: &SchoolDoc) -> Result<(), AccountsError> {
    let curator = file.read().assignment.curator.map(|c| c.id);
    accounts.follow_assignment(school, curator.as_deref())
}
