//! Bringing broken copies back: a document whose bytes on this device do
//! not load is moved to quarantine when it is opened
//! ([`crate::replica`]); here it is rebuilt from what can still be read of
//! it, from a well-known file's genesis, or (online) from the server's copy
//! fetched through the sync, keeping every change still readable from the
//! broken one. The person is told what came back and what may be lost.

use leptos::prelude::*;
use medk_shared::doc::RoadmapDoc;
use medk_shared::ids::DocumentId;

use super::{Connection, FetchError, SyncService};
use crate::files::Wanted;
use crate::storage::DocKind;

impl SyncService {
    /// Tries to bring back every broken document: from what can still be
    /// read of it, and (`online`) from the server's copy.
    pub(super) fn recover_all(&self, online: bool) {
        let broken = self.0.device.borrow().broken();
        for id in broken {
            let service = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = service.recover(id, online).await {
                    web_sys::console::warn_1(&format!("{id} stays broken: {e}").into());
                }
            });
        }
    }

    /// «Загрузить с сервера заново» on a broken document: its server copy
    /// replaces it, with every change still readable from the broken one.
    pub async fn reload_from_server(&self, id: DocumentId) -> Result<(), String> {
        self.may_fetch()?;
        self.recover(id, true).await
    }

    /// «Вернуть копию с сервера» on a roadmap whose changes from this
    /// device the relay refused (the person may only read it): the device's
    /// copy, refused changes and all, gives way to the server's.
    pub async fn take_servers_copy(&self, id: DocumentId) -> Result<(), String> {
        self.may_fetch()?;
        self.forget(id);
        crate::replica::delete(&self.0.storage, &id).await.map_err(|e| e.to_string())?;
        self.0.list_version.update(|v| *v += 1);
        self.fetch(id).await.map_err(|e| {
            format!("{e} (копии на этом устройстве уже нет: откройте дорожную карту по ссылке ещё раз)")
        })
    }

    /// A document as a person knows it: a roadmap by its title, a school's
    /// file by the school's name (its list record holds the school's id).
    fn name_of(&self, meta: &crate::storage::RoadmapMeta) -> String {
        match meta.kind {
            DocKind::Roadmap if meta.title.trim().is_empty() => "дорожная карта «Без названия»".to_owned(),
            DocKind::Roadmap => format!("дорожная карта «{}»", meta.title),
            DocKind::School => {
                let school = self.0.account.unit_name(&meta.title).unwrap_or_else(|| meta.title.clone());
                format!("файл школы «{school}»")
            }
            DocKind::Catalogue => "каталог".to_owned(),
        }
    }

    /// Whether the server's copy can be asked for now.
    fn may_fetch(&self) -> Result<(), String> {
        if !self.0.account.is_signed_in() {
            return Err("войдите, чтобы получить копию с сервера".to_owned());
        }
        if self.0.status.get_untracked().connection != Connection::Online {
            return Err("нет связи с сервером: попробуйте, когда появится сеть".to_owned());
        }
        Ok(())
    }

    /// Brings a broken document back into use (see [`Self::recover_all`]).
    pub(super) async fn recover(&self, id: DocumentId, online: bool) -> Result<(), String> {
        if !self.0.recovering.borrow_mut().insert(id) {
            return Ok(());
        }
        let result = self.recover_once(id, online).await;
        self.0.recovering.borrow_mut().remove(&id);
        self.refresh_kept().await;
        self.0.list_version.update(|v| *v += 1);
        result
    }

    async fn recover_once(&self, id: DocumentId, online: bool) -> Result<(), String> {
        let storage = &self.0.storage;
        let meta =
            storage.meta(&id).await.map_err(|e| e.to_string())?.ok_or("документа нет на устройстве")?;
        if meta.broken.is_none() {
            return Ok(());
        }
        let damaged = self.damaged_bytes(id).await?;
        // What today's loader makes of the bytes alone (a copy quarantined
        // by an older version may load whole now).
        let refs: Vec<&[u8]> = damaged.iter().map(Vec::as_slice).collect();
        let loaded = medk_shared::replica::load::load(&refs);
        let whole = loaded.complete() && loaded.waiting_for.is_empty();
        if let Some(mut fixed) = recovered_meta(&id, meta.kind, &meta.title, loaded.doc.clone()) {
            let mut am = loaded.doc;
            fixed.unsent = None;
            storage.restore(&fixed, am.save(), whole).await.map_err(|e| e.to_string())?;
            (self.0.on_info)(format!(
                "{} снова открывается: данные на устройстве прочитаны целиком.",
                medk_shared::ru::sentence(&self.name_of(&fixed))
            ));
            return Ok(());
        }
        // A well-known file starts from its genesis, like on a new device;
        // the relay brings the rest.
        let wanted = match meta.kind {
            DocKind::School => Some(Wanted::School(meta.title.clone())),
            DocKind::Catalogue => Some(Wanted::Catalogue),
            DocKind::Roadmap => None,
        };
        if let Some(wanted) = wanted {
            let mut am = wanted.genesis_automerge();
            let salvaged = medk_shared::replica::salvage(&mut am, &damaged);
            let lost = salvaged.unreadable || salvaged.left_out > 0;
            // Offline, a file rebuilt with parts missing would look like a
            // school with nothing done: it stays broken (and says so) until
            // the server's copy can fill it in.
            if lost && !online {
                return Err("нужна копия с сервера".to_owned());
            }
            let mut fixed = recovered_meta(&id, meta.kind, &meta.title, am.clone())
                .ok_or("даже начальное состояние файла не читается")?;
            fixed.unsent = None;
            storage.restore(&fixed, am.save(), false).await.map_err(|e| e.to_string())?;
            (self.0.on_info)(recovered_text(
                &self.name_of(&fixed),
                salvaged.added,
                lost && crate::replica::wrote_here(&id),
                false,
            ));
            return Ok(());
        }
        if !online {
            return Err("нужна копия с сервера".to_owned());
        }
        self.fetch_for(id, true).await.map_err(|e| e.to_string())
    }

    /// Every byte string kept for a broken document: quarantined, and any
    /// chunks written since.
    async fn damaged_bytes(&self, id: DocumentId) -> Result<Vec<Vec<u8>>, String> {
        let storage = &self.0.storage;
        let mut damaged = storage.quarantined(&id).await.map_err(|e| e.to_string())?;
        damaged.extend(storage.load(&id).await.map_err(|e| e.to_string())?.into_iter().map(|p| p.bytes));
        Ok(damaged)
    }

    /// The server's copy of a broken roadmap arrived: every change still
    /// readable from the broken copy goes into it, and it replaces the
    /// broken copy (whose bytes stay in quarantine).
    pub(super) async fn store_recovered(&self, id: DocumentId, bytes: &[u8]) -> Result<(), FetchError> {
        let storage = &self.0.storage;
        let meta = storage
            .meta(&id)
            .await
            .map_err(|e| FetchError::Storage(e.to_string()))?
            .ok_or_else(|| FetchError::Storage("документа нет на устройстве".into()))?;
        let mut am =
            automerge::AutoCommit::load(bytes).map_err(|e| FetchError::NotARoadmap(e.to_string()))?;
        crate::replica::relay_had(&id, &am.get_heads());
        let damaged = self.damaged_bytes(id).await.map_err(FetchError::Storage)?;
        let mut salvaged = am.clone();
        let counted = medk_shared::replica::salvage(&mut salvaged, &damaged);
        // What was salvaged must still read as such a document; if not,
        // the server's copy alone.
        let (mut am, added, lost) = match recovered_meta(&id, meta.kind, &meta.title, salvaged.clone()) {
            Some(_) => (salvaged, counted.added, counted.unreadable || counted.left_out > 0),
            None => (am.clone(), 0, true),
        };
        let mut fixed = recovered_meta(&id, meta.kind, &meta.title, am.clone())
            .ok_or_else(|| FetchError::NotARoadmap("копия сервера не читается".into()))?;
        fixed.unsent = None;
        storage.restore(&fixed, am.save(), false).await.map_err(|e| FetchError::Storage(e.to_string()))?;
        (self.0.on_info)(recovered_text(
            &self.name_of(&fixed),
            added,
            lost && crate::replica::wrote_here(&id),
            true,
        ));
        if meta.kind == DocKind::Roadmap {
            self.open(id).await.map_err(|e| FetchError::Storage(e.to_string()))?;
        }
        Ok(())
    }
}

/// The list record of `am` as a document of `kind`, if it reads as one.
fn recovered_meta(
    id: &DocumentId,
    kind: DocKind,
    _title: &str,
    am: automerge::AutoCommit,
) -> Option<crate::storage::RoadmapMeta> {
    use crate::replica::Kept;
    match kind {
        DocKind::Roadmap => RoadmapDoc::from_automerge(am).ok().map(|doc| crate::document::meta_of(id, &doc)),
        DocKind::School | DocKind::Catalogue => {
            let doc = crate::files::FileDoc::from_automerge(am).ok()?;
            let meta = doc.meta(id);
            (meta.kind == kind).then_some(meta)
        }
    }
}

/// What a person is told once a broken copy was replaced: from where, how
/// many changes made here came back, and (`lost`) that part of the broken
/// copy could not be read, so unsent changes made here may be gone.
fn recovered_text(name: &str, added: usize, lost: bool, from_server: bool) -> String {
    let source =
        if from_server { "загружена с сервера" } else { "собрана заново" };
    let kept = match added {
        0 => String::new(),
        n => format!(", из повреждённой копии восстановлено изменений: {n}"),
    };
    let lost = if lost {
        " Часть повреждённой копии прочитать не удалось: изменения из неё, которых не было на сервере, \
         могли не восстановиться — проверьте последние правки."
    } else {
        ""
    };
    format!(
        "{}: копия на этом устройстве была повреждена, она {source}{kept}.{lost} Повреждённые данные сохранены отдельно.",
        medk_shared::ru::sentence(name)
    )
}
