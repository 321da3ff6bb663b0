//! Who may do what: the organisation tree (federal → region → municipality →
//! school), people with roles, and the one rule that turns (person, roadmap)
//! into a [`Right`]. The relay enforces it on every message; the app uses the
//! same code to explain what a person can do.
//!
//! Default rights follow the tree:
//! - a coordinator (federal, regional, municipal) writes the roadmaps of
//!   their own unit and reads every roadmap below it;
//! - a curator writes the roadmaps of the schools assigned to them;
//! - a school team member writes their own school's roadmaps;
//! - an observer reads the published roadmaps of their unit and below;
//! - anyone reads a published roadmap of a unit above their own (a school
//!   sees its municipality's published roadmap).
//!
//! An explicit per-roadmap entry for a person replaces the default for that
//! person entirely: `read` on a roadmap they would write limits them,
//! `none` revokes, `write` grants.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An org unit's id (short, stable, URL-safe).
pub type UnitId = String;
/// A person's id (not their login, which they may change).
pub type UserId = String;

/// The id of the tree's root, which always exists.
pub const ROOT_UNIT: &str = "rf";

/// What a writer of a school file may do beyond filing documents and
/// setting the stage, the survey and the risk profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchoolPowers {
    /// The curators' and coordinators' own work: record visits, confirm a
    /// filed document or return it with remarks (the school team files and
    /// submits; it is not the one to say it was visited or its documents
    /// are good).
    pub curate: bool,
    /// Change who serves the school (the coordinators who manage it).
    pub assign: bool,
}

/// The levels of the project, top down: of a unit in the organisation tree,
/// and of the roadmaps that unit keeps (a region keeps «Региональная»
/// roadmaps). One type for both, so a unit's roadmaps need no mapping.
///
/// Spellings, all stored somewhere and never to change: a level's name
/// ([`Self::as_str`]: `region`) in the accounts store, the HTTP API and on
/// the command line; a roadmap document's header keeps the adjective it was
/// first written with ([`Self::roadmap_key`]: `regional`). Reading by serde
/// takes both, so what the app stored under the roadmap's spelling (its
/// list of roadmaps in IndexedDB) still reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Federal,
    #[serde(alias = "regional")]
    Region,
    #[serde(alias = "municipal")]
    Municipality,
    School,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Federal, Level::Region, Level::Municipality, Level::School];

    /// The level's name, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Federal => "federal",
            Level::Region => "region",
            Level::Municipality => "municipality",
            Level::School => "school",
        }
    }

    /// The level by its name ([`Self::as_str`]).
    pub fn parse(text: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == text)
    }

    /// The value a roadmap document's header stores (`regional`); never
    /// change it.
    pub fn roadmap_key(self) -> &'static str {
        match self {
            Level::Federal => "federal",
            Level::Region => "regional",
            Level::Municipality => "municipal",
            Level::School => "school",
        }
    }

    /// The level by its roadmap key ([`Self::roadmap_key`]).
    pub fn from_roadmap_key(key: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.roadmap_key() == key)
    }

    /// Russian name of a unit's level, for the UI («Регион»).
    pub fn label(self) -> &'static str {
        match self {
            Level::Federal => "Федеральный уровень",
            Level::Region => "Регион",
            Level::Municipality => "Муниципалитет",
            Level::School => "Школа",
        }
    }

    /// Russian name of a roadmap of this level, for the UI («Региональная»).
    pub fn roadmap_label(self) -> &'static str {
        match self {
            Level::Federal => "Федеральная",
            Level::Region => "Региональная",
            Level::Municipality => "Муниципальная",
            Level::School => "Школьная",
        }
    }
}

/// What a person is in the project.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    FederalCoordinator,
    RegionalCoordinator,
    MunicipalCoordinator,
    /// Works with the schools listed in [`Person::schools`].
    Curator,
    /// Director, school coordinator or working-group member of one school.
    SchoolTeam,
    /// Reads published roadmaps.
    Observer,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::FederalCoordinator,
        Role::RegionalCoordinator,
        Role::MunicipalCoordinator,
        Role::Curator,
        Role::SchoolTeam,
        Role::Observer,
    ];

    /// Russian name, for the UI.
    pub fn label(self) -> &'static str {
        match self {
            Role::FederalCoordinator => "Федеральный координатор",
            Role::RegionalCoordinator => "Региональный координатор",
            Role::MunicipalCoordinator => "Муниципальный координатор",
            Role::Curator => "Куратор",
            Role::SchoolTeam => "Команда школы",
            Role::Observer => "Наблюдатель",
        }
    }

    /// The kebab-case name used on the command line and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::FederalCoordinator => "federal-coordinator",
            Role::RegionalCoordinator => "regional-coordinator",
            Role::MunicipalCoordinator => "municipal-coordinator",
            Role::Curator => "curator",
            Role::SchoolTeam => "school-team",
            Role::Observer => "observer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether a person with this role may belong to a unit of `level`.
    pub fn fits(self, level: Level) -> bool {
        match self {
            Role::FederalCoordinator => level == Level::Federal,
            Role::RegionalCoordinator => level == Level::Region,
            Role::MunicipalCoordinator => level == Level::Municipality,
            Role::SchoolTeam => level == Level::School,
            Role::Curator => level != Level::School,
            Role::Observer => true,
        }
    }

    pub fn is_coordinator(self) -> bool {
        matches!(self, Role::FederalCoordinator | Role::RegionalCoordinator | Role::MunicipalCoordinator)
    }
}

/// What a person may do with one roadmap. Ordered: `None < Read < Write`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Right {
    #[default]
    None,
    Read,
    Write,
}

impl Right {
    pub fn as_str(self) -> &'static str {
        match self {
            Right::None => "none",
            Right::Read => "read",
            Right::Write => "write",
        }
    }

    pub fn parse(text: &str) -> Option<Right> {
        [Right::None, Right::Read, Right::Write].into_iter().find(|r| r.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Right::None => "нет доступа",
            Right::Read => "просмотр",
            Right::Write => "редактирование",
        }
    }
}

/// One node of the organisation tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub id: UnitId,
    /// None only for the root.
    pub parent: Option<UnitId>,
    pub level: Level,
    pub name: String,
}

/// A person with an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: UserId,
    pub login: String,
    /// Full name as others see it.
    pub name: String,
    pub role: Role,
    pub unit: UnitId,
    /// A curator's assigned schools.
    #[serde(default)]
    pub schools: Vec<UnitId>,
    /// A disabled account cannot sign in and its sessions end.
    #[serde(default)]
    pub disabled: bool,
}

impl Person {
    /// Whether they manage units at all (a coordinator whose account is
    /// on): their own unit and everything below it ([`Org::manages`]).
    pub fn is_manager(&self) -> bool {
        self.role.is_coordinator() && !self.disabled
    }

    /// Which schools change for this curator when their schools become
    /// `schools`: each with whether they serve it from now on.
    pub fn school_changes(&self, schools: &[UnitId]) -> Vec<(UnitId, bool)> {
        let added = schools.iter().filter(|s| !self.schools.contains(s)).map(|s| (s.clone(), true));
        let removed = self.schools.iter().filter(|s| !schools.contains(s)).map(|s| (s.clone(), false));
        let mut all: Vec<(UnitId, bool)> = added.chain(removed).collect();
        all.dedup();
        all
    }
}

/// Why a change to a person's account ([`Org::may_change_person`]) is
/// refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersonChangeRefused {
    /// Not theirs to change.
    Forbidden,
    /// Nobody disables their own account.
    DisablingOneself,
}

/// What the relay knows about a roadmap besides its content.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoadmapAccess {
    /// The unit the roadmap belongs to.
    pub unit: UnitId,
    /// Visible to observers and to units below.
    #[serde(default)]
    pub published: bool,
    /// Explicit rights that replace the defaults, per person.
    #[serde(default)]
    pub grants: BTreeMap<UserId, Right>,
    /// Who registered it by syncing it first (none: an import, or before
    /// this was kept); counts against their limit of registrations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<UserId>,
    /// Its title as the relay last read it ([`crate::doc::title_of`]), so
    /// people find it by name before it is on their device.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
}

impl RoadmapAccess {
    /// Gives `user` an explicit right (`Some(Right::None)` revokes), or with
    /// `None` removes their entry so the default applies again.
    pub fn set_grant(&mut self, user: &str, right: Option<Right>) {
        match right {
            Some(right) => self.grants.insert(user.to_owned(), right),
            None => self.grants.remove(user),
        };
    }
}

/// Why a change to the tree or to a person was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("нет такой организации: {0}")]
    NoSuchUnit(UnitId),
    #[error("организация уровня «{child}» не может входить в «{parent}»")]
    WrongLevel { parent: &'static str, child: &'static str },
    #[error("роль «{role}» не подходит для уровня «{level}»")]
    RoleDoesNotFit { role: &'static str, level: &'static str },
    #[error("куратору можно назначить только школы, а {0} — не школа")]
    NotASchool(UnitId),
    #[error("организация {0} уже есть")]
    DuplicateUnit(UnitId),
    #[error(
        "название: от 1 до {MAX_NAME_CHARS} символов, без управляющих символов и символов смены направления текста"
    )]
    BadName,
}

/// The longest unit name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 300;

/// A unit's name as it will be shown everywhere (lists, paths, exports):
/// trimmed, 1 to [`MAX_NAME_CHARS`] characters, with no control characters
/// (line breaks, escapes) and no bidirectional formatting characters, which
/// could make a name display as something else («Школа №1» followed by a
/// right-to-left override reads backwards, and can pass for another unit).
pub fn check_unit_name(name: &str) -> Result<&str, AccessError> {
    let name = name.trim();
    let fits = (1..=MAX_NAME_CHARS).contains(&name.chars().count());
    if fits && !name.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        Ok(name)
    } else {
        Err(AccessError::BadName)
    }
}

/// Unicode's explicit directional formatting characters (UAX #9): the
/// embeddings, overrides and isolates, and the implicit marks.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The organisation tree. Always has the root [`ROOT_UNIT`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    units: BTreeMap<UnitId, Unit>,
}

impl Default for Org {
    fn default() -> Self {
        let root =
            Unit {
                id: ROOT_UNIT.into(), parent: None, level: Level::Federal, name: "Проект «500+»".into()
            };
        Org { units: BTreeMap::from([(root.id.clone(), root)]) }
    }
}

impl Org {
    pub fn get(&self, id: &str) -> Option<&Unit> {
        self.units.get(id)
    }

    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        self.units.values()
    }

    /// Adds a unit below an existing one of a higher level.
    pub fn add(&mut self, unit: Unit) -> Result<(), AccessError> {
        if self.units.contains_key(&unit.id) {
            return Err(AccessError::DuplicateUnit(unit.id));
        }
        let parent_id = unit.parent.clone().ok_or_else(|| AccessError::NoSuchUnit(String::new()))?;
        let parent = self.units.get(&parent_id).ok_or(AccessError::NoSuchUnit(parent_id))?;
        if unit.level <= parent.level {
            return Err(AccessError::WrongLevel { parent: parent.level.label(), child: unit.level.label() });
        }
        self.units.insert(unit.id.clone(), unit);
        Ok(())
    }

    /// Whether `unit` is `ancestor` or lies below it. Unknown units are
    /// within nothing.
    pub fn within(&self, unit: &str, ancestor: &str) -> bool {
        let mut at = self.units.get(unit);
        // The depth is at most four; the bound guards against a cycle in
        // data read from disk.
        for _ in 0..=Level::ALL.len() {
            match at {
                Some(u) if u.id == ancestor => return true,
                Some(u) => at = u.parent.as_deref().and_then(|p| self.units.get(p)),
                None => return false,
            }
        }
        false
    }

    /// The unit and its ancestors' names, root last ("Школа № 1, Каменский район, ...").
    pub fn path(&self, unit: &str) -> Vec<&Unit> {
        let mut out = Vec::new();
        let mut at = self.units.get(unit);
        while let Some(u) = at {
            if out.len() > Level::ALL.len() {
                break;
            }
            out.push(u);
            at = u.parent.as_deref().and_then(|p| self.units.get(p));
        }
        out
    }

    /// Checks that a person's role fits their unit and that a curator's
    /// schools are schools.
    pub fn check_person(&self, role: Role, unit: &str, schools: &[UnitId]) -> Result<(), AccessError> {
        let u = self.units.get(unit).ok_or_else(|| AccessError::NoSuchUnit(unit.into()))?;
        if !role.fits(u.level) {
            return Err(AccessError::RoleDoesNotFit { role: role.label(), level: u.level.label() });
        }
        for school in schools {
            match self.units.get(school) {
                Some(s) if s.level == Level::School => {}
                Some(_) => return Err(AccessError::NotASchool(school.clone())),
                None => return Err(AccessError::NoSuchUnit(school.clone())),
            }
        }
        Ok(())
    }

    /// The one curator assignment: the school file's «Куратор»
    /// ([`crate::school::Assignment`]) says who serves `school`, and a
    /// curator's `schools` (which give the rights) follow it. What
    /// `person`'s schools become once `curator` is the school's curator:
    /// `None` when they stay as they are (not a curator, or nothing to
    /// change).
    pub fn schools_following(person: &Person, school: &str, curator: Option<&str>) -> Option<Vec<UnitId>> {
        if person.role != Role::Curator {
            return None;
        }
        let has = person.schools.iter().any(|s| s == school);
        let should = curator == Some(person.id.as_str());
        match (has, should) {
            (false, true) => Some(person.schools.iter().cloned().chain([school.to_owned()]).collect()),
            (true, false) => Some(person.schools.iter().filter(|s| *s != school).cloned().collect()),
            _ => None,
        }
    }

    /// What `person` may do with a roadmap, before explicit grants.
    pub fn default_right(&self, person: &Person, roadmap: &RoadmapAccess) -> Right {
        if person.disabled {
            return Right::None;
        }
        let at = roadmap.unit.as_str();
        let mine = person.unit == at;
        let below_mine = self.within(at, &person.unit);
        let above_mine = self.within(&person.unit, at);
        let by_role = match person.role {
            _ if person.role.is_coordinator() && mine => Right::Write,
            _ if person.role.is_coordinator() && below_mine => Right::Read,
            Role::Curator if person.schools.iter().any(|s| s == at) => Right::Write,
            Role::SchoolTeam if mine => Right::Write,
            Role::Observer if roadmap.published && below_mine => Right::Read,
            _ => Right::None,
        };
        let published = if roadmap.published && above_mine { Right::Read } else { Right::None };
        by_role.max(published)
    }

    /// What `person` may do with a roadmap: an explicit grant if there is
    /// one, else the default.
    pub fn right(&self, person: &Person, roadmap: &RoadmapAccess) -> Right {
        if person.disabled {
            return Right::None;
        }
        match roadmap.grants.get(&person.id) {
            Some(explicit) => *explicit,
            None => self.default_right(person, roadmap),
        }
    }

    /// What `person` may do with the file of `school` (visits, risk
    /// profile, documents and their review, assignments): coordinators of
    /// the school's municipality, region and the project write it, as do its
    /// curators and its own team; an observer above it reads it.
    pub fn school_file_right(&self, person: &Person, school: &str) -> Right {
        if person.disabled {
            return Right::None;
        }
        let under_mine = self.within(school, &person.unit);
        match person.role {
            _ if person.role.is_coordinator() && under_mine => Right::Write,
            Role::Curator if person.schools.iter().any(|s| s == school) => Right::Write,
            Role::SchoolTeam if person.unit == school => Right::Write,
            Role::Observer if under_mine => Right::Read,
            _ => Right::None,
        }
    }

    /// What `person` may change in the school file of `school` beyond what
    /// [`Org::school_file_right`]'s `write` gives everyone who has it
    /// (stage, survey, the risk profile, filing documents): the relay checks
    /// every change a writer sends against these
    /// ([`crate::school::vet_changes`]), so the rules the app's buttons
    /// follow hold for any client.
    pub fn school_powers(&self, person: &Person, school: &str) -> SchoolPowers {
        let writes = self.school_file_right(person, school) == Right::Write;
        SchoolPowers {
            curate: writes && person.role != Role::SchoolTeam,
            assign: writes && self.manages(person, school),
        }
    }

    /// What `person` may do with the project's catalogue (risk factors,
    /// required documents, visit intervals): the federal coordinators keep
    /// it, everyone else reads it.
    pub fn catalogue_right(&self, person: &Person) -> Right {
        match person.role {
            _ if person.disabled => Right::None,
            Role::FederalCoordinator => Right::Write,
            _ => Right::Read,
        }
    }

    /// Whether `person` manages `unit`: invites people there, adds units
    /// below it, assigns curators, grants access to its roadmaps.
    /// Coordinators manage their own unit and everything below it.
    pub fn manages(&self, person: &Person, unit: &str) -> bool {
        person.is_manager() && self.within(unit, &person.unit)
    }

    /// Whether `person` may grant rights on a roadmap, delete it for
    /// everyone, or state the day its plan was adopted (the server writes
    /// that date, so a coordinator who only reads the roadmap states it):
    /// they manage the roadmap's unit.
    pub fn manages_roadmap(&self, person: &Person, roadmap: &RoadmapAccess) -> bool {
        self.manages(person, &roadmap.unit)
    }

    /// Whether `person` may publish a roadmap or take it back: whoever
    /// manages its unit or writes it.
    pub fn may_publish(&self, person: &Person, roadmap: &RoadmapAccess) -> bool {
        self.manages_roadmap(person, roadmap) || self.right(person, roadmap) == Right::Write
    }

    /// Whether `person` may move a roadmap to the unit `to`: they must manage
    /// the unit it belongs to and the one it goes to. Writing it is not
    /// enough: a move decides who else reads and writes the roadmap, and who
    /// manages its grants, so a person with an explicit grant (or a school
    /// team, or a curator) could otherwise carry another unit's roadmap off
    /// to their own unit, out of the reach of the coordinators it belonged to.
    pub fn may_move_roadmap(&self, person: &Person, roadmap: &RoadmapAccess, to: &str) -> bool {
        self.manages_roadmap(person, roadmap) && self.manages(person, to)
    }

    /// Whether `person` manages `unit` and every one of `schools`: what
    /// inviting someone there takes.
    pub fn manages_all(&self, person: &Person, unit: &str, schools: &[UnitId]) -> bool {
        self.manages(person, unit) && schools.iter().all(|s| self.manages(person, s))
    }

    /// Whether `manager` sees `person` among «Люди и доступ»: people of the
    /// units they manage, and curators assigned to their schools.
    pub fn manages_person(&self, manager: &Person, person: &Person) -> bool {
        self.manages(manager, &person.unit) || person.schools.iter().any(|s| self.manages(manager, s))
    }

    /// The units `person` is shown (names in lists, pickers, breadcrumbs,
    /// the schools table, monitoring): the units above their own and their
    /// schools', their schools, and the units below their own — except for
    /// a curator, who sees only the schools she is assigned to (the others
    /// of her municipality she may not read: shown, they would read as
    /// unassigned and unvisited).
    pub fn visible_units(&self, person: &Person) -> Vec<Unit> {
        let below_own = person.role != Role::Curator;
        let related = |u: &Unit| {
            (below_own && self.within(&u.id, &person.unit))
                || self.within(&person.unit, &u.id)
                || person.schools.iter().any(|s| self.within(s, &u.id) || self.within(&u.id, s))
        };
        self.units().filter(|u| related(u)).cloned().collect()
    }

    /// What `person` may do with a file attached for `unit`: as with the
    /// unit's own roadmaps, or, for a school, as with its school file,
    /// whichever is more.
    pub fn file_right(&self, person: &Person, unit: &str) -> Right {
        let roadmap = self.right(person, &RoadmapAccess { unit: unit.to_owned(), ..Default::default() });
        let school = match self.get(unit) {
            Some(u) if u.level == Level::School => self.school_file_right(person, unit),
            _ => Right::None,
        };
        roadmap.max(school)
    }

    /// Whether `manager` may change `person`'s account: their schools (a
    /// curator's: `schools`, what they become) and whether it is disabled.
    /// Every school added or removed must be one `manager` manages, and so
    /// must `person`'s unit, except that a coordinator may assign a curator
    /// from elsewhere to their own schools; disabling follows
    /// [`Org::may_disable`].
    pub fn may_change_person(
        &self,
        manager: &Person,
        person: &Person,
        schools: Option<&[UnitId]>,
        disabled: Option<bool>,
    ) -> Result<(), PersonChangeRefused> {
        let changed = schools.map(|new| person.school_changes(new)).unwrap_or_default();
        let schools_ok = changed.iter().all(|(s, _)| self.manages(manager, s));
        let only_assigning = person.role == Role::Curator && disabled.is_none();
        if !schools_ok || !(self.manages(manager, &person.unit) || only_assigning) {
            return Err(PersonChangeRefused::Forbidden);
        }
        if disabled == Some(true) && person.id == manager.id {
            return Err(PersonChangeRefused::DisablingOneself);
        }
        if disabled.is_some() && !self.may_disable(manager, person) {
            return Err(PersonChangeRefused::Forbidden);
        }
        Ok(())
    }

    /// Whether `manager` may disable `person`'s account (or enable it again):
    /// a coordinator may for the people of the units they manage, except
    /// coordinators of their own unit, whom only a coordinator above may
    /// disable. So coordinators of one unit cannot lock each other out (the
    /// first to act would win), nobody can disable a superior, and nobody
    /// disables themselves.
    pub fn may_disable(&self, manager: &Person, person: &Person) -> bool {
        manager.id != person.id
            && self.manages(manager, &person.unit)
            && !(person.role.is_coordinator() && person.unit == manager.unit)
    }

    /// The unit a new roadmap of `person` belongs to when they do not say:
    /// their own unit if they write there, else their first school.
    pub fn home_unit(&self, person: &Person) -> Option<UnitId> {
        if person.disabled {
            return None;
        }
        match person.role {
            Role::Curator => person.schools.first().cloned(),
            Role::Observer => None,
            _ => Some(person.unit.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_level_keeps_roadmaps_of_its_own_level() {
        // One type: a unit's level is its roadmaps' level; each keeps the
        // roadmap spelling it was stored under.
        let keys: Vec<_> = Level::ALL.iter().map(|l| l.roadmap_key()).collect();
        assert_eq!(keys, ["federal", "regional", "municipal", "school"]);
        let labels: Vec<_> = Level::ALL.iter().map(|l| l.roadmap_label()).collect();
        assert_eq!(labels, ["Федеральная", "Региональная", "Муниципальная", "Школьная"]);
    }

    /// Every spelling a level was ever stored or sent in still reads: the
    /// unit names (accounts store, API, command line) and the roadmap keys
    /// (roadmap documents, the app's list of roadmaps in IndexedDB, the
    /// import's dry run); each is still written where it was.
    #[test]
    fn old_level_spellings_still_read() {
        let read = |text: &str| serde_json::from_value::<Level>(serde_json::json!(text)).ok();
        for (name, key, level) in [
            ("federal", "federal", Level::Federal),
            ("region", "regional", Level::Region),
            ("municipality", "municipal", Level::Municipality),
            ("school", "school", Level::School),
        ] {
            assert_eq!(read(name), Some(level), "{name}");
            assert_eq!(read(key), Some(level), "{key}");
            assert_eq!(
                serde_json::to_value(level).unwrap(),
                serde_json::json!(name),
                "serde writes the name"
            );
            assert_eq!((Level::parse(name), level.as_str()), (Some(level), name));
            assert_eq!((Level::from_roadmap_key(key), level.roadmap_key()), (Some(level), key));
        }
        assert_eq!(read("Region"), None);
        // A unit as the accounts store and the API hold it.
        let unit: Unit =
            serde_json::from_str(r#"{"id":"r1","parent":"rf","level":"region","name":"Р"}"#).unwrap();
        assert_eq!(unit.level, Level::Region);
        // Each document keeps only its own spelling: a roadmap header that
        // says `region` is off the layout, as before.
        assert_eq!(Level::from_roadmap_key("region"), None);
        assert_eq!(Level::parse("regional"), None);
    }

    fn unit(id: &str, parent: &str, level: Level) -> Unit {
        Unit { id: id.into(), parent: Some(parent.into()), level, name: id.into() }
    }

    /// rf → {r1 → {m1 → {s1, s2}, m2 → {s3}}, r2}
    fn org() -> Org {
        let mut org = Org::default();
        for u in [
            unit("r1", "rf", Level::Region),
            unit("r2", "rf", Level::Region),
            unit("m1", "r1", Level::Municipality),
            unit("m2", "r1", Level::Municipality),
            unit("s1", "m1", Level::School),
            unit("s2", "m1", Level::School),
            unit("s3", "m2", Level::School),
        ] {
            org.add(u).unwrap();
        }
        org
    }

    #[test]
    fn people_see_their_branch_of_the_tree_and_their_schools() {
        let org = org();
        let ids = |p: &Person| org.visible_units(p).into_iter().map(|u| u.id).collect::<Vec<_>>();
        let mut curator = person(Role::Curator, "m2");
        curator.schools = vec!["s1".into()];
        let mut seen = ids(&curator);
        seen.sort();
        assert_eq!(
            seen,
            ["m1", "m2", "r1", "rf", "s1"],
            "not s3, a school of her unit she is not assigned to"
        );
        let team = person(Role::SchoolTeam, "s2");
        let mut seen = ids(&team);
        seen.sort();
        assert_eq!(seen, ["m1", "r1", "rf", "s2"]);

        let muni = person(Role::MunicipalCoordinator, "m1");
        assert!(org.manages_person(&muni, &team));
        assert!(org.manages_person(&muni, &curator), "a curator of one of her schools");
        assert!(!org.manages_person(&muni, &person(Role::SchoolTeam, "s3")));
        assert!(org.manages_all(&muni, "m1", &["s1".into(), "s2".into()]));
        assert!(!org.manages_all(&muni, "m1", &["s3".into()]));
        assert_eq!(org.file_right(&team, "s2"), Right::Write);
        assert_eq!(org.file_right(&team, "s1"), Right::None);
    }

    fn person(role: Role, unit: &str) -> Person {
        Person {
            id: "p".into(),
            login: "p".into(),
            name: "P".into(),
            role,
            unit: unit.into(),
            schools: vec![],
            disabled: false,
        }
    }

    fn roadmap(unit: &str, published: bool) -> RoadmapAccess {
        RoadmapAccess {
            unit: unit.into(),
            published,
            grants: BTreeMap::new(),
            registered_by: None,
            title: String::new(),
        }
    }

    #[test]
    fn a_school_file_is_written_by_those_who_serve_the_school() {
        let org = org();
        let right = |role, unit: &str| org.school_file_right(&person(role, unit), "s1");
        assert_eq!(right(Role::MunicipalCoordinator, "m1"), Right::Write);
        assert_eq!(right(Role::RegionalCoordinator, "r1"), Right::Write);
        assert_eq!(right(Role::FederalCoordinator, "rf"), Right::Write);
        assert_eq!(right(Role::MunicipalCoordinator, "m2"), Right::None, "another municipality");
        assert_eq!(right(Role::SchoolTeam, "s1"), Right::Write);
        assert_eq!(right(Role::SchoolTeam, "s2"), Right::None, "another school");
        assert_eq!(right(Role::Observer, "r1"), Right::Read);
        assert_eq!(right(Role::Curator, "m1"), Right::None, "a curator without the school");
        let mut curator = person(Role::Curator, "m1");
        curator.schools = vec!["s1".into()];
        assert_eq!(org.school_file_right(&curator, "s1"), Right::Write);
        curator.disabled = true;
        assert_eq!(org.school_file_right(&curator, "s1"), Right::None);

        assert_eq!(org.catalogue_right(&person(Role::FederalCoordinator, "rf")), Right::Write);
        assert_eq!(org.catalogue_right(&person(Role::RegionalCoordinator, "r1")), Right::Read);
        assert_eq!(org.catalogue_right(&person(Role::SchoolTeam, "s1")), Right::Read);
    }

    #[test]
    fn coordinators_write_their_unit_and_read_below() {
        let org = org();
        let m = person(Role::MunicipalCoordinator, "m1");
        assert_eq!(org.right(&m, &roadmap("m1", false)), Right::Write);
        assert_eq!(org.right(&m, &roadmap("s1", false)), Right::Read);
        assert_eq!(org.right(&m, &roadmap("s3", false)), Right::None, "a sibling municipality's school");
        assert_eq!(org.right(&m, &roadmap("m2", false)), Right::None, "sibling");
        assert_eq!(org.right(&m, &roadmap("r1", false)), Right::None, "parent, unpublished");
        assert_eq!(org.right(&m, &roadmap("r1", true)), Right::Read, "parent, published");
        assert_eq!(org.right(&m, &roadmap("r2", true)), Right::None, "unrelated, even published");
        let f = person(Role::FederalCoordinator, "rf");
        assert_eq!(org.right(&f, &roadmap("s3", false)), Right::Read);
        assert_eq!(org.right(&f, &roadmap("rf", false)), Right::Write);
    }

    #[test]
    fn a_curators_schools_follow_the_school_files_assignment() {
        let mut c = person(Role::Curator, "m1");
        c.id = "c".into();
        c.schools = vec!["s2".into()];
        assert_eq!(Org::schools_following(&c, "s1", Some("c")), Some(vec!["s2".into(), "s1".into()]));
        assert_eq!(Org::schools_following(&c, "s2", Some("c")), None, "already theirs");
        assert_eq!(
            Org::schools_following(&c, "s2", Some("other")),
            Some(vec![]),
            "someone else serves it now"
        );
        assert_eq!(Org::schools_following(&c, "s2", None), Some(vec![]), "nobody serves it now");
        assert_eq!(Org::schools_following(&c, "s1", None), None);
        let coordinator = person(Role::MunicipalCoordinator, "m1");
        assert_eq!(Org::schools_following(&coordinator, "s1", Some(&coordinator.id)), None);
    }

    #[test]
    fn curators_write_assigned_schools_only() {
        let org = org();
        let mut c = person(Role::Curator, "m1");
        c.schools = vec!["s1".into(), "s3".into()];
        assert_eq!(org.right(&c, &roadmap("s1", false)), Right::Write);
        assert_eq!(org.right(&c, &roadmap("s3", false)), Right::Write);
        assert_eq!(org.right(&c, &roadmap("s2", false)), Right::None);
        assert_eq!(org.right(&c, &roadmap("m1", false)), Right::None);
        assert_eq!(org.home_unit(&c), Some("s1".into()));
    }

    #[test]
    fn school_teams_write_their_school_and_read_published_parents() {
        let org = org();
        let t = person(Role::SchoolTeam, "s1");
        assert_eq!(org.right(&t, &roadmap("s1", false)), Right::Write);
        assert_eq!(org.right(&t, &roadmap("s2", true)), Right::None, "a sibling school, even published");
        assert_eq!(org.right(&t, &roadmap("m1", false)), Right::None);
        assert_eq!(org.right(&t, &roadmap("m1", true)), Right::Read);
        assert_eq!(org.right(&t, &roadmap("rf", true)), Right::Read);
    }

    #[test]
    fn observers_read_published_roadmaps_of_their_subtree() {
        let org = org();
        let o = person(Role::Observer, "r1");
        assert_eq!(org.right(&o, &roadmap("s3", true)), Right::Read);
        assert_eq!(org.right(&o, &roadmap("s3", false)), Right::None);
        assert_eq!(org.right(&o, &roadmap("r1", true)), Right::Read);
        assert_eq!(org.right(&o, &roadmap("r2", true)), Right::None);
        assert_eq!(org.home_unit(&o), None, "observers create no roadmaps on the relay");
    }

    #[test]
    fn explicit_entries_replace_defaults_and_disabled_people_get_nothing() {
        let org = org();
        let mut t = person(Role::SchoolTeam, "s1");
        let mut r = roadmap("s1", false);
        r.grants.insert("p".into(), Right::Read);
        assert_eq!(org.right(&t, &r), Right::Read, "limited to reading");
        r.grants.insert("p".into(), Right::None);
        assert_eq!(org.right(&t, &r), Right::None, "revoked");
        let mut other = roadmap("s3", false);
        other.grants.insert("p".into(), Right::Write);
        assert_eq!(org.right(&t, &other), Right::Write, "granted");
        t.disabled = true;
        assert_eq!(org.right(&t, &other), Right::None);
    }

    #[test]
    fn the_tree_refuses_wrong_levels_and_roles() {
        let mut org = org();
        assert!(matches!(org.add(unit("x", "s1", Level::School)), Err(AccessError::WrongLevel { .. })));
        assert!(matches!(org.add(unit("x", "nope", Level::School)), Err(AccessError::NoSuchUnit(_))));
        assert!(matches!(org.add(unit("s1", "m1", Level::School)), Err(AccessError::DuplicateUnit(_))));
        org.add(unit("s9", "r2", Level::School)).unwrap(); // a school run by the region itself
        assert!(org.within("s9", "rf"));
        assert!(org.check_person(Role::SchoolTeam, "m1", &[]).is_err());
        assert!(org.check_person(Role::Curator, "m1", &["m2".into()]).is_err());
        assert!(org.check_person(Role::Curator, "m1", &["s3".into()]).is_ok());
        assert_eq!(
            org.path("s1").iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
            ["s1", "m1", "r1", "rf"]
        );
    }

    #[test]
    fn moving_a_roadmap_needs_managing_both_units() {
        let org = org();
        let mun = person(Role::MunicipalCoordinator, "m1");
        assert!(org.may_move_roadmap(&mun, &roadmap("m1", false), "s1"), "down to one of its schools");
        assert!(org.may_move_roadmap(&mun, &roadmap("s1", false), "s2"), "between its schools");
        assert!(!org.may_move_roadmap(&mun, &roadmap("s1", false), "s3"), "to another municipality's school");
        assert!(
            !org.may_move_roadmap(&mun, &roadmap("r1", true), "m1"),
            "its region's roadmap, though it reads it"
        );
        // A write grant on another unit's roadmap does not make it movable.
        let team = person(Role::SchoolTeam, "s3");
        let mut granted = roadmap("m1", false);
        granted.grants.insert(team.id.clone(), Right::Write);
        assert_eq!(org.right(&team, &granted), Right::Write);
        assert!(!org.may_move_roadmap(&team, &granted, "s3"));
        // Nor does writing by default: a school team or a curator.
        assert!(!org.may_move_roadmap(&team, &roadmap("s3", false), "s3"));
        let mut curator = person(Role::Curator, "m1");
        curator.schools = vec!["s1".into(), "s2".into()];
        assert!(!org.may_move_roadmap(&curator, &roadmap("s1", false), "s2"));
        let mut reg = person(Role::RegionalCoordinator, "r1");
        assert!(org.may_move_roadmap(&reg, &roadmap("s1", false), "s3"));
        reg.disabled = true;
        assert!(
            !org.may_move_roadmap(&reg, &roadmap("s1", false), "s3"),
            "a disabled account manages nothing"
        );
    }

    #[test]
    fn managing_a_roadmap_is_managing_its_unit_and_publishing_needs_writing_or_managing() {
        let org = org();
        let mun = person(Role::MunicipalCoordinator, "m1");
        assert!(
            org.manages_roadmap(&mun, &roadmap("s1", false)),
            "a school of hers, though she only reads it"
        );
        assert!(!org.manages_roadmap(&mun, &roadmap("r1", true)), "her region's, though she reads it");
        assert!(!org.manages_roadmap(&mun, &roadmap("s3", false)));
        let team = person(Role::SchoolTeam, "s1");
        assert!(!org.manages_roadmap(&team, &roadmap("s1", false)), "writing is not managing");
        assert!(org.may_publish(&team, &roadmap("s1", false)), "but writing publishes");
        assert!(org.may_publish(&mun, &roadmap("s1", false)));
        assert!(!org.may_publish(&mun, &roadmap("r1", true)), "reading does not");
        let mut limited = roadmap("s1", false);
        limited.grants.insert(team.id.clone(), Right::Read);
        assert!(!org.may_publish(&team, &limited), "limited to reading by a grant");
        let mut off = mun.clone();
        off.disabled = true;
        assert!(!org.manages_roadmap(&off, &roadmap("s1", false)));
        assert!(!org.may_publish(&off, &roadmap("s1", false)));
    }

    #[test]
    fn only_coordinators_whose_accounts_are_on_are_managers() {
        for role in Role::ALL {
            let mut p = person(role, "rf");
            assert_eq!(p.is_manager(), role.is_coordinator(), "{role:?}");
            p.disabled = true;
            assert!(!p.is_manager(), "{role:?}, disabled");
        }
    }

    #[test]
    fn a_curators_school_changes_are_what_is_added_and_what_is_removed() {
        let mut c = person(Role::Curator, "m1");
        c.schools = vec!["s1".into(), "s2".into()];
        assert_eq!(
            c.school_changes(&["s2".into(), "s3".into()]),
            [("s3".into(), true), ("s1".into(), false)]
        );
        assert_eq!(c.school_changes(&["s1".into(), "s2".into()]), []);
        assert_eq!(c.school_changes(&[]), [("s1".into(), false), ("s2".into(), false)]);
        assert_eq!(
            c.school_changes(&["s3".into(), "s3".into()]),
            [("s3".into(), true), ("s1".into(), false), ("s2".into(), false)]
        );
    }

    #[test]
    fn a_person_is_changed_by_who_manages_them_and_their_schools() {
        use PersonChangeRefused::*;
        let org = org();
        let named = |id: &str, role, unit: &str| Person { id: id.into(), ..person(role, unit) };
        let mun1 = named("mun1", Role::MunicipalCoordinator, "m1");
        let mun2 = named("mun2", Role::MunicipalCoordinator, "m2");
        let mut curator = named("c", Role::Curator, "m2");
        curator.schools = vec!["s3".into()];
        let schools = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();

        // A curator from elsewhere assigned to one's own schools.
        let mine = schools(&["s3", "s1"]);
        assert_eq!(org.may_change_person(&mun1, &curator, Some(&mine), None), Ok(()));
        let taken = schools(&["s1"]);
        assert_eq!(
            org.may_change_person(&mun1, &curator, Some(&taken), None),
            Err(Forbidden),
            "s3 is not hers to take away"
        );
        assert_eq!(
            org.may_change_person(&mun2, &curator, Some(&taken), None),
            Err(Forbidden),
            "s1 is not hers to give"
        );
        assert_eq!(org.may_change_person(&mun2, &curator, Some(&[]), None), Ok(()));
        assert_eq!(
            org.may_change_person(&mun1, &curator, None, Some(true)),
            Err(Forbidden),
            "not her curator's account"
        );
        assert_eq!(org.may_change_person(&mun2, &curator, None, Some(true)), Ok(()));

        let team = named("t", Role::SchoolTeam, "s1");
        assert_eq!(org.may_change_person(&mun1, &team, None, Some(true)), Ok(()));
        assert_eq!(org.may_change_person(&mun2, &team, None, None), Err(Forbidden), "another municipality's");
        assert_eq!(org.may_change_person(&mun1, &mun1, None, Some(true)), Err(DisablingOneself));
        assert_eq!(org.may_change_person(&mun1, &mun1, None, Some(false)), Err(Forbidden));
        let peer = named("mun3", Role::MunicipalCoordinator, "m1");
        assert_eq!(
            org.may_change_person(&mun1, &peer, None, Some(true)),
            Err(Forbidden),
            "a peer of her unit"
        );
        assert_eq!(org.may_change_person(&mun1, &peer, None, None), Ok(()), "nothing asked");
        let reg = named("reg", Role::RegionalCoordinator, "r1");
        assert_eq!(org.may_change_person(&reg, &peer, None, Some(true)), Ok(()), "from above");
        assert_eq!(
            org.may_change_person(&curator, &team, None, Some(true)),
            Err(Forbidden),
            "curators manage nobody"
        );
    }

    #[test]
    fn coordinators_disable_people_below_them_but_not_their_peers() {
        let org = org();
        let named = |id: &str, role, unit: &str| Person { id: id.into(), ..person(role, unit) };
        let mun1 = named("mun1", Role::MunicipalCoordinator, "m1");
        let mun2 = named("mun2", Role::MunicipalCoordinator, "m1");
        let reg = named("reg", Role::RegionalCoordinator, "r1");
        let team = named("team", Role::SchoolTeam, "s1");
        let obs = named("obs", Role::Observer, "m1");
        assert!(!org.may_disable(&mun1, &mun2), "a peer of the same unit");
        assert!(!org.may_disable(&mun2, &mun1));
        assert!(!org.may_disable(&mun1, &mun1), "oneself");
        assert!(!org.may_disable(&mun1, &reg), "a superior");
        assert!(org.may_disable(&reg, &mun1), "from above");
        assert!(org.may_disable(&mun1, &team));
        assert!(org.may_disable(&mun1, &obs), "not a coordinator, in the coordinator's own unit");
        assert!(
            !org.may_disable(&named("x", Role::MunicipalCoordinator, "m2"), &team),
            "another municipality"
        );
        assert!(!org.may_disable(&named("c", Role::Curator, "m1"), &team), "curators manage nobody");
    }

    #[test]
    fn unit_names_are_plain_visible_text() {
        assert_eq!(check_unit_name("  Школа № 7 "), Ok("Школа № 7"));
        assert_eq!(check_unit_name(&"ш".repeat(MAX_NAME_CHARS)).map(str::len), Ok(2 * MAX_NAME_CHARS));
        for bad in [
            String::new(),
            "   ".into(),
            "ш".repeat(MAX_NAME_CHARS + 1),
            "Школа\nИгнорировать".into(),
            "Школа\u{7}".into(),
            "Школа \u{202E}7 ?\u{202C}".into(),
            "\u{2067}Школа\u{2069}".into(),
            "Школа\u{200F}".into(),
        ] {
            assert_eq!(check_unit_name(&bad), Err(AccessError::BadName), "{bad:?}");
        }
    }

    #[test]
    fn coordinators_manage_their_subtree() {
        let org = org();
        let r = person(Role::RegionalCoordinator, "r1");
        assert!(org.manages(&r, "r1"));
        assert!(org.manages(&r, "s3"));
        assert!(!org.manages(&r, "r2"));
        assert!(!org.manages(&r, "rf"));
        assert!(!org.manages(&person(Role::Curator, "r1"), "s1"));
    }
}
