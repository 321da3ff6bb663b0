//! The JSON API under `/api` (see `server/API.md`): sign-in and sessions,
//! invitations, people and units, and per-roadmap access. Authorisation is
//! `medk_shared::access`; storage is [`Accounts`].
//!
//! Defences here: the session cookie is HttpOnly and SameSite=Strict;
//! requests that change something must be JSON and, from a browser, from
//! this origin ([`Client::same_origin`]); password checks are throttled per
//! login, per address and per device ([`crate::throttle`]), and refusable
//! requests are refused before Argon2 runs; Argon2 runs on blocking
//! threads, never on the runtime's, a few at a time.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{CONTENT_TYPE, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use medk_shared::access::{Person, PersonChangeRefused, Right, RoadmapAccess, Role, UnitId};
use medk_shared::api::{self as contract, Endpoint, Me};
use medk_shared::ids::DocumentId;

use crate::accounts::{self, Accounts, AccountsError, SESSION_SECONDS};
use crate::assignment;
use crate::client::{self, Client, Proxies};
use crate::endpoint::{ApiError, Call, Reply, Routes};
use crate::sync::SyncHub;
use crate::throttle::{Attempt, DEVICE_COOKIE, DEVICE_SECONDS, DeviceCookie, Rules, Throttle};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "medk_session";

/// Shared by every API handler.
#[derive(Clone)]
pub struct ApiState {
    pub accounts: Accounts,
    throttle: Arc<Throttle>,
    devices: Arc<DeviceCookie>,
    /// Argon2 takes ~19 MiB and tens of ms of a core per password: at most
    /// this many run at once, whatever arrives.
    hashing: Arc<tokio::sync::Semaphore>,
    secure_cookies: bool,
    /// The relay, through which the server writes what it assigns into
    /// school files ([`crate::assignment`]); set by the router.
    hub: Option<SyncHub>,
    /// Whose forwarding headers say who the client is.
    proxies: Proxies,
}

/// Passwords hashed or checked at the same time, at most.
const CONCURRENT_HASHES: usize = 2;

impl ApiState {
    pub fn new(accounts: Accounts, secure_cookies: bool) -> ApiState {
        ApiState {
            devices: Arc::new(DeviceCookie::new(accounts.device_key())),
            accounts,
            throttle: Arc::new(Throttle::new(Rules::default())),
            hashing: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_HASHES)),
            secure_cookies,
            proxies: Proxies::new(Vec::new(), secure_cookies),
            hub: None,
        }
    }

    /// Writes through `hub` what the API assigns.
    pub fn with_hub(mut self, hub: SyncHub) -> ApiState {
        self.hub = Some(hub);
        self
    }

    /// Behind these reverse proxies: their `X-Forwarded-For` and
    /// `X-Forwarded-Proto` name the client ([`crate::client`]).
    pub fn behind(mut self, trusted_proxies: Vec<IpAddr>) -> ApiState {
        self.proxies = Proxies::new(trusted_proxies, self.secure_cookies);
        self
    }

    pub fn proxies(&self) -> &Proxies {
        &self.proxies
    }

    /// The relay the server writes its own changes through.
    fn hub(&self) -> ApiResult<&SyncHub> {
        self.hub.as_ref().ok_or_else(|| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "синхронизация на сервере не запущена")
        })
    }
}

impl From<AccountsError> for ApiError {
    fn from(e: AccountsError) -> Self {
        let status = match &e {
            AccountsError::BadCredentials => StatusCode::UNAUTHORIZED,
            AccountsError::LoginTaken(_) => StatusCode::CONFLICT,
            AccountsError::NoSuchInvitation | AccountsError::NoSuchPerson | AccountsError::NotFound => {
                StatusCode::NOT_FOUND
            }
            AccountsError::Forbidden => StatusCode::FORBIDDEN,
            AccountsError::Gone => StatusCode::GONE,
            AccountsError::Storage(detail) => {
                tracing::error!("accounts storage failed: {detail}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            AccountsError::DiskFull(detail) => {
                tracing::error!("accounts storage: the disk is full: {detail}");
                StatusCode::INSUFFICIENT_STORAGE
            }
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.to_string())
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The answer of a handler for endpoint `E`.
type Answer<E> = ApiResult<Reply<E>>;

fn forbidden() -> ApiError {
    AccountsError::Forbidden.into()
}

/// Runs password hashing off the async threads, a few at a time. The
/// permit goes with the blocking task: a client that hangs up does not free
/// a place while its hash still runs.
async fn hashing<T: Send + 'static>(
    state: &ApiState,
    f: impl FnOnce() -> T + Send + 'static,
) -> ApiResult<T> {
    let internal = || ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "внутренняя ошибка сервера");
    let permit = state.hashing.clone().acquire_owned().await.map_err(|_| internal())?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f()
    })
    .await
    .map_err(|_| internal())
}

/// The value of the cookie `name` in a request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
        .filter(|value| !value.is_empty())
}

/// The id of a genuine device cookie for `person` among `headers`, if any.
fn known_device(state: &ApiState, headers: &HeaderMap, person: &str) -> Option<String> {
    state.devices.verify(cookie(headers, DEVICE_COOKIE)?, person, accounts::now())
}

/// The signed-in person of a request, from the session cookie.
pub struct SignedIn {
    pub person: Person,
    /// The session's key (not its token).
    pub session: String,
}

/// The session token in a `Cookie` header, if any.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE)
}

impl FromRequestParts<ApiState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let token = session_token(&parts.headers)
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "войдите в систему"))?;
        let (person, session) = state
            .accounts
            .session(token)
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "сеанс истёк, войдите снова"))?;
        Ok(SignedIn { person, session })
    }
}

/// Refuses changes that are not JSON from this origin (cross-site forms and
/// scripts cannot send those with the cookie).
async fn guard(req: Request, next: Next) -> Response {
    let reads = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !client::of(req.extensions()).same_origin(req.headers()) {
        return ApiError::new(StatusCode::FORBIDDEN, "запрос с чужого сайта").into_response();
    }
    let json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !reads && *req.method() != Method::DELETE && !json {
        return ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "ожидается application/json")
            .into_response();
    }
    next.run(req).await
}

/// Every endpoint of [`medk_shared::api`] but the files ([`crate::blobs`]),
/// each at its own path (the handler's answer type names it).
pub fn routes(state: ApiState) -> Router {
    let guarded = Routes::new()
        .at(login)
        .at(logout)
        .at(me)
        .at(change_password)
        .at(create_invitation)
        .at(show_invitation)
        .at(delete_invitation)
        .at(accept_invitation)
        .at(people)
        .at(update_person)
        .at(add_unit)
        .at(roadmaps)
        .at(delete_roadmap)
        .at(roadmap_access)
        .at(update_access)
        .at(set_adopted_on)
        .at(set_grant)
        .at(clear_grant)
        .into_router()
        .layer(middleware::from_fn(guard));
    guarded.merge(Routes::new().at(health).into_router()).with_state(state)
}

/// Liveness probe; the e2e harness polls it to know the server is up.
async fn health() -> Answer<contract::Health> {
    Ok(Reply::ok(contract::Alive { ok: true }))
}

// ---- session ----

fn session_cookie(state: &ApiState, token: &str, max_age: u64) -> HeaderValue {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("a hex token is a valid header value")
}

/// The answer to a sign-in: a new session, and the device cookie with this
/// person added (the browser sent `headers`).
async fn signed_in<E: Endpoint<Answer = Me>>(
    state: &ApiState,
    headers: &HeaderMap,
    person: Person,
) -> Answer<E> {
    let token = state.accounts.start_session(&person.id)?;
    let device = state.devices.issue(cookie(headers, DEVICE_COOKIE), &person.id, accounts::now());
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let device = HeaderValue::from_str(&format!(
        "{DEVICE_COOKIE}={device}; Path=/api; HttpOnly; SameSite=Strict; Max-Age={DEVICE_SECONDS}{secure}"
    ))
    .expect("ids and hex are valid header values");
    let me = Me::of(&state.accounts.org(), person);
    Ok(Reply::ok(me).with_cookie(session_cookie(state, &token, SESSION_SECONDS)).with_cookie(device))
}

/// Reads its body itself: a sign-in's is small, and a malformed one is
/// told what is missing.
async fn login(State(state): State<ApiState>, req: Request) -> Answer<contract::Login> {
    let client = client::of(req.extensions());
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "слишком большой запрос"))?;
    let creds: <contract::Login as Endpoint>::Body = serde_json::from_slice(&body)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "нужны логин и пароль"))?;
    let known = state.accounts.person_by_login(&creds.login);
    let device = known.as_ref().and_then(|p| known_device(&state, &parts.headers, &p.id));
    let attempt = Attempt { login: &creds.login, address: client.address, device };
    let admitted =
        state.throttle.admit(&attempt).map_err(|wait| ApiError::too_many("Вход не выполнен", wait))?;
    if admitted.exempted && known.is_none() {
        // An address over its limit trying a login nobody has: refused as
        // any wrong login is, after as long, but without running Argon2.
        let pause = tokio::task::spawn_blocking(accounts::check_duration).await;
        tokio::time::sleep(pause.unwrap_or(Duration::from_millis(50))).await;
        return Err(AccountsError::BadCredentials.into());
    }
    let accounts = state.accounts.clone();
    let person = hashing(&state, move || accounts.verify(&creds.login, &creds.password)).await??;
    admitted.succeeded();
    tracing::info!(login = %person.login, "signed in");
    signed_in(&state, &parts.headers, person).await
}

async fn logout(State(state): State<ApiState>, headers: HeaderMap) -> Answer<contract::Logout> {
    if let Some((_, key)) = session_token(&headers).and_then(|t| state.accounts.session(t)) {
        state.accounts.end_session(&key)?;
    }
    Ok(Reply::done().with_cookie(session_cookie(&state, "", 0)))
}

async fn me(State(state): State<ApiState>, who: SignedIn) -> Answer<contract::GetMe> {
    Ok(Reply::ok(Me::of(&state.accounts.org(), who.person)))
}

/// The current password is checked under the same limits as a sign-in
/// (a stolen session must not become a way to guess it).
async fn change_password(
    State(state): State<ApiState>,
    who: SignedIn,
    client: Client,
    headers: HeaderMap,
    Call { body: change, .. }: Call<contract::ChangePassword>,
) -> Answer<contract::ChangePassword> {
    let device = known_device(&state, &headers, &who.person.id);
    let attempt = Attempt { login: &who.person.login, address: client.address, device };
    // Its attempts are counted with the sign-ins, but said as what they were.
    let admitted = state
        .throttle
        .admit(&attempt)
        .map_err(|wait| ApiError::too_many("Текущий пароль не проверен", wait))?;
    let accounts = state.accounts.clone();
    let login = who.person.login.clone();
    hashing(&state, move || {
        accounts.verify(&login, &change.current).map_err(|_| AccountsError::Forbidden)?;
        admitted.succeeded();
        accounts.set_password(&who.person.id, &change.new, Some(&who.session))
    })
    .await?
    .map_err(|e| match e {
        AccountsError::Forbidden => ApiError::new(StatusCode::FORBIDDEN, "текущий пароль неверен"),
        other => other.into(),
    })?;
    Ok(Reply::done())
}

// ---- invitations ----

async fn create_invitation(
    State(state): State<ApiState>,
    who: SignedIn,
    Call { body: new, .. }: Call<contract::CreateInvitation>,
) -> Answer<contract::CreateInvitation> {
    if !state.accounts.org().manages_all(&who.person, &new.unit, &new.schools) {
        return Err(forbidden());
    }
    let invitation =
        state.accounts.create_invitation(&who.person.id, new.role, &new.unit, new.schools, &new.name)?;
    Ok(Reply::created(invitation))
}

async fn show_invitation(
    State(state): State<ApiState>,
    Call { endpoint, .. }: Call<contract::ShowInvitation>,
) -> Answer<contract::ShowInvitation> {
    let invitation = state.accounts.invitation(&endpoint.code).ok_or(AccountsError::NoSuchInvitation)?;
    let org = state.accounts.org();
    let unit_name = org.path(&invitation.unit).iter().map(|u| u.name.as_str()).collect::<Vec<_>>().join(", ");
    Ok(Reply::ok(contract::InvitationInfo {
        role: invitation.role,
        unit_name,
        expires_at: invitation.expires_at,
        name: invitation.name,
    }))
}

/// Revokes an invitation named by its id (as listed), or by its code.
async fn delete_invitation(
    State(state): State<ApiState>,
    who: SignedIn,
    Call { endpoint: contract::RevokeInvitation { code: id }, .. }: Call<contract::RevokeInvitation>,
) -> Answer<contract::RevokeInvitation> {
    let invitation = state
        .accounts
        .invitation_by_id(&id)
        .or_else(|| state.accounts.invitation(&id))
        .ok_or(AccountsError::NoSuchInvitation)?;
    if !state.accounts.org().manages(&who.person, &invitation.unit) {
        return Err(forbidden());
    }
    state.accounts.delete_invitation(&invitation.id)?;
    Ok(Reply::done())
}

async fn accept_invitation(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Call { endpoint: contract::AcceptInvitation { code }, body: reg }: Call<contract::AcceptInvitation>,
) -> Answer<contract::AcceptInvitation> {
    let accounts = state.accounts.clone();
    let (mut person, invited) =
        hashing(&state, move || accounts.accept_invitation(&code, &reg.login, &reg.name, &reg.password))
            .await??;
    tracing::info!(login = %person.login, role = person.role.as_str(), "registered by invitation");
    // The schools the invitation names: written into their files, which
    // give the rights. The person is registered whatever happens here; a
    // school not written stays unassigned, as its screen says.
    if !invited.schools.is_empty() && person.role == Role::Curator {
        let changes = person.school_changes(&invited.schools);
        if let Err(e) = write_assignment(&state, &person, &changes, &invited.invited_by).await {
            tracing::error!(login = %person.login, "an invited curator's schools were not assigned: {}", e.message());
        }
        person = state.accounts.person(&person.id).unwrap_or(person);
    }
    signed_in(&state, &headers, person).await
}

// ---- people and units ----

async fn people(State(state): State<ApiState>, who: SignedIn) -> Answer<contract::ListPeople> {
    if !who.person.is_manager() {
        return Err(forbidden());
    }
    let org = state.accounts.org();
    let people = state.accounts.people().into_iter().filter(|p| org.manages_person(&who.person, p)).collect();
    let invitations =
        state.accounts.invitations().into_iter().filter(|i| org.manages(&who.person, &i.unit)).collect();
    Ok(Reply::ok(contract::People { people, invitations }))
}

async fn update_person(
    State(state): State<ApiState>,
    who: SignedIn,
    Call { endpoint: contract::UpdatePerson { id }, body: change }: Call<contract::UpdatePerson>,
) -> Answer<contract::UpdatePerson> {
    if !who.person.is_manager() {
        return Err(forbidden());
    }
    let org = state.accounts.org();
    let person = state.accounts.person(&id).ok_or(AccountsError::NoSuchPerson)?;
    org.may_change_person(&who.person, &person, change.schools.as_deref(), change.disabled).map_err(
        |refused| match refused {
            PersonChangeRefused::Forbidden => forbidden(),
            PersonChangeRefused::DisablingOneself => {
                ApiError::new(StatusCode::BAD_REQUEST, "нельзя отключить самого себя")
            }
        },
    )?;
    // A curator's schools are written into the schools' files, and the
    // rights follow the files, as when the app assigns them.
    let mut schools = change.schools;
    if person.role == Role::Curator
        && let Some(new) = schools.take()
    {
        org.check_person(person.role, &person.unit, &new).map_err(AccountsError::from)?;
        let changes = person.school_changes(&new);
        write_assignment(&state, &person, &changes, &who.person.name).await?;
    }
    Ok(Reply::ok(state.accounts.update_person(&id, schools, change.disabled)?))
}

/// Writes a curator's assignment ([`assignment::write_through_relay`]);
/// an error names the schools whose files were not written.
async fn write_assignment(
    state: &ApiState,
    curator: &Person,
    changes: &[(UnitId, bool)],
    by: &str,
) -> ApiResult<()> {
    let hub = state.hub()?;
    assignment::write_through_relay(hub, &state.accounts, curator, changes, by).await.map_err(|failed| {
        let org = state.accounts.org();
        let schools: Vec<String> = failed
            .iter()
            .map(|(s, why)| format!("«{}»: {why}", org.get(s).map_or(s.as_str(), |u| u.name.as_str())))
            .collect();
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("куратор не записан в файлы школ: {}", schools.join("; ")),
        )
    })
}

async fn add_unit(
    State(state): State<ApiState>,
    who: SignedIn,
    Call { body: new, .. }: Call<contract::AddUnit>,
) -> Answer<contract::AddUnit> {
    if !state.accounts.org().manages(&who.person, &new.parent) {
        return Err(forbidden());
    }
    Ok(Reply::created(state.accounts.add_unit(&new.parent, new.level, &new.name, None)?))
}

// ---- roadmaps ----

async fn roadmaps(State(state): State<ApiState>, who: SignedIn) -> Answer<contract::ListRoadmaps> {
    let list = state
        .accounts
        .readable_roadmaps(&who.person)
        .into_iter()
        .map(|(id, r, right)| contract::RoadmapRight {
            roadmap: standing(id.to_string(), &r, right),
            title: r.title,
        })
        .collect();
    Ok(Reply::ok(list))
}

/// What a 410 says about a roadmap deleted for everyone: when (Moscow
/// time, as official papers date things) and by whom.
fn deleted_text(accounts: &Accounts, tombstone: &accounts::Tombstone) -> String {
    let moscow = time::UtcOffset::from_hms(3, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let when = i64::try_from(tombstone.at)
        .ok()
        .and_then(|at| time::OffsetDateTime::from_unix_timestamp(at).ok())
        .map(|at| at.to_offset(moscow))
        .map(|at| {
            format!(
                "{} в {:02}:{:02} по московскому времени",
                medk_shared::ru::date(at.date()),
                at.hour(),
                at.minute()
            )
        });
    let who = accounts.person(&tombstone.by).map(|p| if p.name.trim().is_empty() { p.login } else { p.name });
    let mut text = String::from("дорожная карта удалена для всех");
    if let Some(when) = when {
        text.push(' ');
        text.push_str(&when);
    }
    if let Some(who) = who {
        text.push_str(&format!(", удалил(а): {who}"));
    }
    text
}

/// The roadmap named by `id` and the caller's right on it; 404 when they may
/// not read it (so its existence is not revealed) or `id` names nothing; 410
/// when it was deleted for everyone and they could read it.
fn readable(state: &ApiState, who: &SignedIn, id: &str) -> ApiResult<(DocumentId, RoadmapAccess, Right)> {
    let doc = DocumentId::parse(id).map_err(|_| AccountsError::NotFound)?;
    if let Some(tombstone) = state.accounts.deleted(&doc) {
        let could_read = state.accounts.org().right(&who.person, &tombstone.access) > Right::None;
        if !could_read {
            return Err(AccountsError::NotFound.into());
        }
        return Err(ApiError::new(StatusCode::GONE, deleted_text(&state.accounts, &tombstone)));
    }
    let roadmap = state.accounts.roadmap(&doc).ok_or(AccountsError::NotFound)?;
    let right = state.accounts.org().right(&who.person, &roadmap);
    if right == Right::None {
        return Err(AccountsError::NotFound.into());
    }
    Ok((doc, roadmap, right))
}

/// Which roadmap, where it belongs, and `right`: how every answer about
/// one roadmap starts.
fn standing(id: String, roadmap: &RoadmapAccess, right: Right) -> contract::RoadmapStanding {
    contract::RoadmapStanding { id, unit: roadmap.unit.clone(), published: roadmap.published, right }
}

/// A roadmap's access as `who` sees it.
fn access_of(state: &ApiState, who: &SignedIn, id: String, roadmap: &RoadmapAccess) -> contract::Access {
    let org = state.accounts.org();
    let grants = accounts::named_grants(&state.accounts, roadmap)
        .into_iter()
        .map(|(p, right)| contract::Grant { user: p.id, login: p.login, name: p.name, right })
        .collect();
    contract::Access {
        roadmap: standing(id, roadmap, org.right(&who.person, roadmap)),
        manages: org.manages_roadmap(&who.person, roadmap),
        grants,
    }
}

async fn roadmap_access(
    State(state): State<ApiState>,
    who: SignedIn,
    Call { endpoint: contract::GetAccess { id }, .. }: Call<contract::GetAccess>,
) -> Answer<contract::GetAccess> {
    let (_, roadmap, _) = readable(&state, &who, &id)?;
    Ok(Reply::ok(access_of(&state, &who, id, &roadmap)))
}

/// Deletes a roadmap for everyone (a coordinator who manages its unit):
/// the relay forgets it and deletes what it stored, devices that sync it are
/// told `doc-unavailable`, and this API answers 410 for it from then on.
async fn delete_roadmap(
    State(state): State<ApiState>,
    who: SignedIn,
    Call { endpoint: contract::DeleteRoadmap { id }, .. }: Call<contract::DeleteRoadmap>,
) -> Answer<contract::DeleteRoadmap> {
    let (doc, roadmap, _) = readable(&state, &who, &id)?;
    if !state.accounts.org().manages_roadmap(&who.person, &roadmap) {
        return Err(forbidden());
    }
    let (accounts, by) = (state.accounts.clone(), who.person.id.clone());
    tokio::task::spawn_blocking(move || accounts.delete_roadmap(&doc, &by))
        .await
        .map_err(|e| AccountsError::Storage(e.to_string()))??;
    Ok(Reply::done())
}

/// States the day a roadmap's plan was adopted ([`crate::adoption`]): a
/// coordinator who manages the roadmap's unit, although they only read the
/// roadmap itself.
async fn set_adopted_on(
    State(state): State<ApiState>,
    who: SignedIn,
    Call { endpoint: contract::SetAdoptedOn { id }, body: change }: Call<contract::SetAdoptedOn>,
) -> Answer<contract::SetAdoptedOn> {
    let (doc, roadmap, _) = readable(&state, &who, &id)?;
    if !state.accounts.org().manages_roadmap(&who.person, &roadmap) {
        return Err(forbidden());
    }
    let day = change.adopted_on.trim();
    let day = match day {
        "" => String::new(),
        text => medk_shared::deadline::parse_iso(text).map(medk_shared::deadline::iso).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "дата принятия плана — это дата вида ГГГГ-ММ-ДД")
        })?,
    };
    let hub = state.hub()?;
    crate::adoption::write(hub, doc, &day, &who.person.name).await.map_err(|e| match e {
        crate::peer::PeerError::Unavailable => AccountsError::NotFound.into(),
        e => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("дата принятия плана не записана: {e}")),
    })?;
    Ok(Reply::ok(contract::AdoptionStated { id, adopted_on: day }))
}

async fn update_access(
    State(state): State<ApiState>,
    who: SignedIn,
    Call { endpoint: contract::UpdateAccess { id }, body: change }: Call<contract::UpdateAccess>,
) -> Answer<contract::UpdateAccess> {
    let (doc, _, _) = readable(&state, &who, &id)?;
    let me = who.person.clone();
    let updated = state.accounts.update_roadmap(&doc, |org, roadmap| {
        if change.published.is_some() && !org.may_publish(&me, roadmap) {
            return Err(AccountsError::Forbidden);
        }
        if let Some(unit) = &change.unit {
            if !org.may_move_roadmap(&me, roadmap, unit) {
                return Err(AccountsError::Forbidden);
            }
            roadmap.unit = unit.clone();
        }
        if let Some(published) = change.published {
            roadmap.published = published;
        }
        Ok(())
    })?;
    Ok(Reply::ok(access_of(&state, &who, id, &updated)))
}

async fn set_grant(
    State(state): State<ApiState>,
    who: SignedIn,
    Call { endpoint: contract::SetGrant { id, user }, body }: Call<contract::SetGrant>,
) -> Answer<contract::SetGrant> {
    Ok(Reply::ok(change_grant(state, who, id, user, Some(body.right)).await?))
}

async fn clear_grant(
    State(state): State<ApiState>,
    who: SignedIn,
    Call { endpoint: contract::ClearGrant { id, user }, .. }: Call<contract::ClearGrant>,
) -> Answer<contract::ClearGrant> {
    Ok(Reply::ok(change_grant(state, who, id, user, None).await?))
}

/// Gives `user` an explicit right on roadmap `id`, or with `None` takes it
/// back; the roadmap's access as it now is.
async fn change_grant(
    state: ApiState,
    who: SignedIn,
    id: String,
    user: String,
    right: Option<Right>,
) -> ApiResult<contract::Access> {
    let (doc, _, _) = readable(&state, &who, &id)?;
    if state.accounts.person(&user).is_none() {
        return Err(AccountsError::NoSuchPerson.into());
    }
    let me = who.person.clone();
    let updated = state.accounts.update_roadmap(&doc, |org, roadmap| {
        if !org.manages_roadmap(&me, roadmap) {
            return Err(AccountsError::Forbidden);
        }
        roadmap.set_grant(&user, right);
        Ok(())
    })?;
    tracing::info!(roadmap = %id, by = %who.person.login, "access changed");
    Ok(access_of(&state, &who, id, &updated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_has_a_route_of_its_own() {
        // The router refuses, when built, two routes that clash (the same
        // method and path, or one path with its parameter named twice).
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::open(dir.path()).unwrap();
        let _ = routes(ApiState::new(accounts, false));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; medk_session=abc; b=2"));
        assert_eq!(session_token(&headers), Some("abc"));
        headers.insert(COOKIE, HeaderValue::from_static("medk_sessionx=abc; medk_session="));
        assert_eq!(session_token(&headers), None);
    }
}
