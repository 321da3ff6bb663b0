//! The session: who is signed in on this device, and what the server lets
//! them do with each roadmap.
//!
//! The signed-in person ([`Me`]) is kept in `localStorage`, so someone who
//! signed in once opens the app and works with no network; only a 401 from
//! the server ends the session ([`Session::Expired`]), never a lost
//! connection. Without a session the app still works, on this device only.

use std::collections::HashMap;
use std::rc::Rc;

use leptos::prelude::*;
use medk_shared::access::{Level, Org, Person, Unit};
use medk_shared::api::{self as contract, Me, RoadmapRight};
use serde::{Deserialize, Serialize};

use crate::api::{self, ApiError};

const ME_KEY: &str = "medk.me";
const ROADMAPS_KEY: &str = "medk.roadmaps";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Session {
    /// Nobody signed in on this device: roadmaps stay on it.
    SignedOut,
    SignedIn(Me),
    /// The server ended the session; unsent edits wait on the device for
    /// the person to sign in again.
    Expired(Me),
}

impl Session {
    pub fn me(&self) -> Option<&Me> {
        match self {
            Session::SignedOut => None,
            Session::SignedIn(me) | Session::Expired(me) => Some(me),
        }
    }

    pub fn is_signed_in(&self) -> bool {
        matches!(self, Session::SignedIn(_))
    }

    /// Who syncs: a change of it restarts the sync.
    fn key(&self) -> Option<&str> {
        match self {
            Session::SignedIn(me) => Some(&me.person.id),
            _ => None,
        }
    }
}

/// What the device keeps of the session between visits.
#[derive(Serialize, Deserialize)]
struct Cached {
    me: Me,
    expired: bool,
}

type Listener = Rc<dyn Fn(&Session)>;

/// A handle to the session; copy it anywhere.
#[derive(Clone, Copy)]
pub struct Account {
    pub session: RwSignal<Session>,
    /// The roadmaps the server lets the person read, by id (cached too).
    pub roadmaps: RwSignal<HashMap<String, RoadmapRight>>,
    /// Told when the person who syncs changes (signed in, out, expired).
    listeners: StoredValue<Vec<Listener>, LocalStorage>,
}

impl Account {
    /// The session this device had last time.
    pub fn load() -> Account {
        let session = match crate::browser::setting(ME_KEY).and_then(|t| api::from_json::<Cached>(&t)) {
            Some(Cached { me, expired: false }) => Session::SignedIn(me),
            Some(Cached { me, expired: true }) => Session::Expired(me),
            None => Session::SignedOut,
        };
        let roadmaps: Vec<RoadmapRight> = match session {
            Session::SignedOut => Vec::new(),
            _ => crate::browser::setting(ROADMAPS_KEY).and_then(|t| api::from_json(&t)).unwrap_or_default(),
        };
        let account = Account {
            session: RwSignal::new(session),
            roadmaps: RwSignal::new(roadmaps.into_iter().map(|r| (r.roadmap.id.clone(), r)).collect()),
            listeners: StoredValue::new_local(Vec::new()),
        };
        // A sign-in or sign-out in another tab of this app.
        let other_tab = window_event_listener(leptos::ev::storage, move |ev| {
            if ev.key().as_deref() == Some(ME_KEY) {
                let cached = ev.new_value().and_then(|t| api::from_json::<Cached>(&t));
                account.set(match cached {
                    Some(Cached { me, expired: false }) => Session::SignedIn(me),
                    Some(Cached { me, expired: true }) => Session::Expired(me),
                    None => Session::SignedOut,
                });
            }
        });
        std::mem::forget(other_tab);
        account
    }

    pub fn on_change(&self, f: Listener) {
        self.listeners.update_value(|l| l.push(f));
    }

    pub fn me(&self) -> Option<Me> {
        self.session.with(|s| s.me().cloned())
    }

    /// The signed-in person's id; empty when nobody is (it names the maker
    /// of the roadmaps made now).
    pub fn person_id(&self) -> String {
        self.session.with_untracked(|s| s.me().map(|me| me.person.id.clone()).unwrap_or_default())
    }

    /// The name that signs the changes this person makes (empty when
    /// signed out: the change is then unsigned).
    pub fn author(&self) -> String {
        self.session.with_untracked(|s| s.me().map(|me| me.person.name.clone()).unwrap_or_default())
    }

    pub fn is_signed_in(&self) -> bool {
        self.session.with_untracked(Session::is_signed_in)
    }

    /// The organisation tree as far as the person sees it.
    pub fn org(&self) -> Option<(Org, Person)> {
        self.session.with(|s| {
            let me = s.me()?;
            let mut org = Org::default();
            // Parents before children, level by level; units whose parent is
            // not visible (a curator's schools) are left out of the tree.
            for level in Level::ALL {
                for unit in me.units.iter().filter(|u| u.level == level) {
                    let _ = org.add(unit.clone());
                }
            }
            Some((org, me.person.clone()))
        })
    }

    /// Whether the person manages `unit` (invites there, grants access).
    pub fn manages(&self, unit: &str) -> bool {
        self.org().is_some_and(|(org, person)| org.manages(&person, unit))
    }

    /// The units the person manages, in tree order, with their depth below
    /// the person's own unit.
    pub fn managed_units(&self) -> Vec<(Unit, usize)> {
        let Some((org, person)) = self.org() else { return Vec::new() };
        // Children by name, Z to A (the stack below reverses them). Inserted
        // in place: a sort would add its code to the wasm for this alone.
        let mut children: HashMap<&str, Vec<&Unit>> = HashMap::new();
        for unit in org.units() {
            if let Some(parent) = &unit.parent {
                let list = children.entry(parent).or_default();
                let at = list.iter().position(|u| u.name < unit.name).unwrap_or(list.len());
                list.insert(at, unit);
            }
        }
        let mut out = Vec::new();
        let mut stack = vec![(person.unit.as_str(), 0)];
        while let Some((id, depth)) = stack.pop() {
            let Some(unit) = org.get(id).filter(|u| org.manages(&person, &u.id)) else { continue };
            out.push((unit.clone(), depth));
            if let Some(below) = children.get(id) {
                stack.extend(below.iter().map(|u| (u.id.as_str(), depth + 1)));
            }
        }
        out
    }

    /// A unit's name, if the person can see it.
    pub fn unit_name(&self, id: &str) -> Option<String> {
        self.session.with(|s| s.me()?.units.iter().find(|u| u.id == id).map(|u| u.name.clone()))
    }

    /// The server's word on one roadmap, as last heard.
    pub fn roadmap(&self, id: &str) -> Option<RoadmapRight> {
        self.roadmaps.with(|r| r.get(id).cloned())
    }

    /// Asks the server who is signed in, to refresh a session: a 401 ends
    /// it, no answer changes nothing. The answer is dropped if the person
    /// signed out meanwhile (it was asked with the old cookie).
    pub async fn check(&self) -> Result<(), ApiError> {
        let answer = api::call(&contract::GetMe, &()).await;
        if !self.is_signed_in() {
            return answer.map(|_| ());
        }
        match answer {
            Ok(me) => {
                self.set(Session::SignedIn(me));
                Ok(())
            }
            Err(e) => {
                if e.is_status(401) {
                    self.expire();
                }
                Err(e)
            }
        }
    }

    /// The server refused the session (a 401).
    pub fn expire(&self) {
        let me = self.session.with_untracked(|s| s.me().cloned());
        self.set(match me {
            Some(me) => Session::Expired(me),
            None => Session::SignedOut,
        });
    }

    pub async fn login(&self, login: &str, password: &str) -> Result<(), ApiError> {
        let credentials = contract::Credentials { login: login.to_owned(), password: password.to_owned() };
        let me = api::call(&contract::Login, &credentials).await?;
        self.signed_in(me);
        Ok(())
    }

    /// Accepts an invitation: the new person is signed in.
    pub async fn accept(&self, code: &str, login: &str, name: &str, password: &str) -> Result<(), ApiError> {
        let registration = contract::Registration {
            login: login.to_owned(),
            name: name.to_owned(),
            password: password.to_owned(),
        };
        let me = api::call(&contract::AcceptInvitation { code: code.to_owned() }, &registration).await?;
        self.signed_in(me);
        Ok(())
    }

    fn signed_in(&self, me: Me) {
        let other = self.session.with_untracked(|s| s.me().is_some_and(|m| m.person.id != me.person.id));
        if other {
            self.set_roadmaps(Vec::new());
        }
        self.set(Session::SignedIn(me));
        self.refresh_roadmaps();
    }

    /// Ends the session here and on the server. Roadmaps stay on the device.
    /// Fails only if the server could not be told (the device is signed
    /// out all the same).
    pub async fn logout(&self) -> Result<(), ApiError> {
        let told = api::call(&contract::Logout, &()).await;
        self.set(Session::SignedOut);
        self.set_roadmaps(Vec::new());
        // Nobody was signed in there any more: that is what was asked.
        if told.as_ref().is_err_and(|e| e.is_status(401)) { Ok(()) } else { told }
    }

    pub async fn change_password(&self, current: &str, new: &str) -> Result<(), ApiError> {
        let change = contract::PasswordChange { current: current.to_owned(), new: new.to_owned() };
        let result = api::call(&contract::ChangePassword, &change).await;
        if result.as_ref().is_err_and(|e| e.is_status(401)) {
            self.expire();
        }
        result
    }

    /// Fetches what the person may do with each roadmap (in the background).
    pub fn refresh_roadmaps(&self) {
        let account = *self;
        leptos::task::spawn_local(async move {
            if !account.is_signed_in() {
                return;
            }
            match api::call(&contract::ListRoadmaps, &()).await {
                Ok(list) => account.set_roadmaps(list),
                Err(e) if e.is_status(401) => account.expire(),
                Err(_) => {}
            }
        });
    }

    /// Replaces one roadmap's entry after a change made here.
    pub fn update_roadmap(&self, entry: RoadmapRight) {
        let mut list: Vec<RoadmapRight> = self.roadmaps.with_untracked(|r| r.values().cloned().collect());
        list.retain(|r| r.roadmap.id != entry.roadmap.id);
        list.push(entry);
        self.set_roadmaps(list);
    }

    fn set_roadmaps(&self, list: Vec<RoadmapRight>) {
        match list.is_empty() {
            true => crate::browser::remove_setting(ROADMAPS_KEY),
            false => {
                if let Some(text) = api::to_json(&list) {
                    crate::browser::set_setting(ROADMAPS_KEY, &text);
                }
            }
        }
        let map: HashMap<String, RoadmapRight> =
            list.into_iter().map(|r| (r.roadmap.id.clone(), r)).collect();
        if self.roadmaps.with_untracked(|r| *r != map) {
            self.roadmaps.set(map);
        }
    }

    /// Stores and shows a new session; the sync hears of it when the person
    /// who syncs changed.
    fn set(&self, session: Session) {
        if self.session.with_untracked(|s| *s == session) {
            return;
        }
        match session.me() {
            Some(me) => {
                let cached = Cached { me: me.clone(), expired: matches!(session, Session::Expired(_)) };
                if let Some(text) = api::to_json(&cached) {
                    crate::browser::set_setting(ME_KEY, &text);
                }
            }
            None => crate::browser::remove_setting(ME_KEY),
        }
        let changed = self.session.with_untracked(|s| s.key() != session.key());
        self.session.set(session.clone());
        if changed {
            for listener in self.listeners.with_value(Clone::clone) {
                listener(&session);
            }
        }
    }
}
