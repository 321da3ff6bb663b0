//! Sign-in throttling: how many password checks a login, an address and a
//! device may have, so that guessing is slow while the people who know
//! their password still get in.
//!
//! Every count is a leaky bucket: a failed check adds one, and the level
//! drains steadily (one per [`Rule::drain`]), so nothing stays locked for
//! good and an old burst of typos is forgotten. A check is *reserved* before
//! it queues for Argon2 (the level goes up at once, and comes back down
//! only if the password was right), so twenty requests sent at the same
//! moment cannot all slip past a limit of five.
//!
//! Three buckets, each for one threat:
//! - **per login** (5 free, then one guess a minute): guessing one
//!   person's password. Kept for any login typed, existing or not, so the
//!   answers never tell which logins exist.
//! - **per address** (20 free, then one every 15 s): one machine trying
//!   many logins. Behind a school's NAT or a proxy many people share an
//!   address, so this limit never locks anyone out: an address over it may
//!   still try a login whose own bucket is empty (nobody is guessing at it:
//!   a person signing in for the first time today) or one for which it
//!   shows that login's device cookie. So a correct password of a login
//!   not under attack is always checked. An attacker there gets one guess
//!   per login per quiet minute, which the per-login bucket allows anyway;
//!   for logins that do not exist it gets a "wrong login or password"
//!   after the time a check takes, but no Argon2 run (see
//!   [`Admitted::exempted`]).
//! - **per device** (as per login): a browser where the person signed in
//!   before holds a signed cookie naming them ([`DeviceCookie`]). While
//!   their login is locked by someone else's guesses, that device is
//!   checked against its own bucket instead, so a person on their usual
//!   tablet is not locked out by an attacker who keeps their login's
//!   bucket full (OWASP's "device cookies" against lockout abuse).
//!
//! Hand-written rather than `governor` (used for frame rates): these
//! buckets are reserved and refunded, and one decision reads three of them
//! under one lock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// How many failures a bucket takes before it refuses, and how fast it
/// forgets them.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub free: u32,
    /// One failure drains away per this long.
    pub drain: Duration,
}

/// The rules in force.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    pub login: Rule,
    pub address: Rule,
    pub device: Rule,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            login: Rule { free: 5, drain: Duration::from_secs(60) },
            address: Rule { free: 20, drain: Duration::from_secs(15) },
            device: Rule { free: 5, drain: Duration::from_secs(60) },
        }
    }
}

/// A check that may not go ahead yet: for how long, and which limit holds
/// it back (the person is told, with what they can do meanwhile).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    pub after: Duration,
    pub cause: Cause,
}

/// Which limit a [`Wait`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// Wrong passwords for this login (from anywhere).
    Login,
    /// Wrong passwords from this device (it showed its cookie).
    Device,
    /// Failed sign-ins from this address, some of them at this login.
    Address,
}

impl Wait {
    /// What the person reads: what happened, when to try again, and (for
    /// a limit their usual device is exempt from) that it still works.
    pub fn message_ru(&self, what: &str) -> String {
        let seconds = self.seconds();
        let when =
            if seconds >= 120 { format!("{} мин", seconds.div_ceil(60)) } else { format!("{seconds} с") };
        let known_device = "На устройстве, где вы уже входили в medk, войти можно и сейчас.";
        match self.cause {
            Cause::Login => format!(
                "{what}: для этого логина было много неверных паролей, следующая попытка — через {when}. {known_device}"
            ),
            Cause::Device => {
                format!(
                    "{what}: с этого устройства было много неверных паролей, следующая попытка — через {when}."
                )
            }
            Cause::Address => format!(
                "{what}: из этой сети было много неудачных попыток войти, следующая попытка — через {when}. \
                 {known_device}"
            ),
        }
    }

    /// Whole seconds to wait, at least one (for `Retry-After`).
    pub fn seconds(&self) -> u64 {
        self.after.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// Past this many remembered keys of one kind, empty buckets are forgotten;
/// past [`MAX_KEYS`] even after that, the exemption for clean logins stops
/// (an attacker inventing logins to fill memory is answered 429).
const FORGET_ABOVE: usize = 10_000;
const MAX_KEYS: usize = 200_000;

/// A failure count draining over time.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    level: f64,
    at: Instant,
}

impl Rule {
    fn level(&self, bucket: Option<&Bucket>, now: Instant) -> f64 {
        bucket.map_or(0.0, |b| {
            let drained = now.saturating_duration_since(b.at).as_secs_f64() / self.drain.as_secs_f64();
            (b.level - drained).max(0.0)
        })
    }

    /// How long until one more check fits, if it does not now.
    fn wait(&self, level: f64) -> Option<Duration> {
        let over = level + 1.0 - f64::from(self.free);
        (over > 0.0).then(|| self.drain.mul_f64(over))
    }
}

/// A bucket's key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Login(String),
    Address(IpAddr),
    Device(String),
}

/// The sign-in throttle, shared by every request.
pub struct Throttle {
    rules: Rules,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

/// What is being tried: a login (as typed), from where, and whether the
/// request showed a valid device cookie for it (its id, see
/// [`DeviceCookie::verify`]).
#[derive(Clone, Debug)]
pub struct Attempt<'a> {
    pub login: &'a str,
    pub address: Option<IpAddr>,
    pub device: Option<String>,
}

/// A check that may go ahead, with its reservation. Dropping it without
/// [`Admitted::succeeded`] leaves the reservation as a failure (a request
/// abandoned halfway has still cost a check).
pub struct Admitted {
    throttle: Arc<Throttle>,
    keys: Vec<Key>,
    /// Admitted only because the login's bucket is empty while the address
    /// is over its limit: for a login that does not exist, answer without
    /// running Argon2 (nobody can sign in as it anyway).
    pub exempted: bool,
}

impl Admitted {
    /// The password was right: the reservation is given back.
    pub fn succeeded(self) {
        self.throttle.refund(&self.keys, Instant::now());
    }
}

impl Throttle {
    pub fn new(rules: Rules) -> Throttle {
        Throttle { rules, buckets: Mutex::new(HashMap::new()) }
    }

    fn login_key(login: &str) -> Key {
        Key::Login(login.trim().to_lowercase())
    }

    fn rule(&self, key: &Key) -> Rule {
        match key {
            Key::Login(_) => self.rules.login,
            Key::Address(_) => self.rules.address,
            Key::Device(_) => self.rules.device,
        }
    }

    /// Decides, and reserves one check when it may go ahead; otherwise how
    /// long to wait, and why.
    pub fn admit(self: &Arc<Self>, attempt: &Attempt<'_>) -> Result<Admitted, Wait> {
        self.admit_at(attempt, Instant::now())
    }

    fn admit_at(self: &Arc<Self>, attempt: &Attempt<'_>, now: Instant) -> Result<Admitted, Wait> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() > FORGET_ABOVE {
            buckets.retain(|key, bucket| self.rule(key).level(Some(bucket), now) > 0.0);
        }
        let level = |key: &Key| self.rule(key).level(buckets.get(key), now);
        let login = Self::login_key(attempt.login);
        let device = attempt.device.clone().map(Key::Device);
        // The person's own bucket: their device's if they showed one, else the login's.
        let personal = device.clone().unwrap_or_else(|| login.clone());
        if let Some(after) = self.rule(&personal).wait(level(&personal)) {
            let cause = if attempt.device.is_some() { Cause::Device } else { Cause::Login };
            return Err(Wait { after, cause });
        }
        let address = attempt.address.map(|ip| Key::Address(ip.to_canonical()));
        let mut exempted = false;
        if let Some(address) = &address
            && let Some(address_wait) = self.rules.address.wait(level(address))
            && device.is_none()
        {
            let login_level = level(&login);
            if login_level > 0.0 || buckets.len() > MAX_KEYS {
                // Someone is guessing at this login: this address waits
                // until the address drains or the login is quiet again.
                let after = address_wait.min(self.rules.login.drain.mul_f64(login_level.max(1.0)));
                return Err(Wait { after, cause: Cause::Address });
            }
            exempted = true;
        }
        let mut keys = vec![login];
        keys.extend(device);
        keys.extend(address);
        for key in &keys {
            let rule = self.rule(key);
            let level = rule.level(buckets.get(key), now);
            buckets.insert(key.clone(), Bucket { level: level + 1.0, at: now });
        }
        Ok(Admitted { throttle: self.clone(), keys, exempted })
    }

    fn refund(&self, keys: &[Key], now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        for key in keys {
            let rule = self.rule(key);
            let level = rule.level(buckets.get(key), now);
            buckets.insert(key.clone(), Bucket { level: (level - 1.0).max(0.0), at: now });
        }
    }
}

/// The device cookie: proof that this browser signed in as a person
/// before. Its value lists up to [`DEVICE_PEOPLE`] entries
/// `<user id>.<issued, unix s>.<HMAC-SHA256 hex>` separated by `~` (a
/// school's shared tablet serves several people). The key never leaves the
/// server (it is kept in `access.redb`), so only the server makes them;
/// knowing one proves nothing but that the browser once signed in, which is
/// all it is used for.
pub struct DeviceCookie {
    key: [u8; 32],
}

/// The cookie's name. Sent only to `/api` (sign-in and password changes).
pub const DEVICE_COOKIE: &str = "medk_device";
/// How long a device stays known without signing in again.
pub const DEVICE_SECONDS: u64 = 365 * 24 * 3600;
/// People one device cookie remembers, most recent first.
const DEVICE_PEOPLE: usize = 4;

impl DeviceCookie {
    pub fn new(key: [u8; 32]) -> DeviceCookie {
        DeviceCookie { key }
    }

    fn mac(&self, user: &str, issued: u64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(user.as_bytes());
        mac.update(b".");
        mac.update(issued.to_string().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The id of the entry for `user` in `value` if it is genuine and not
    /// expired at `now` (unix s): the bucket key of that device.
    pub fn verify(&self, value: &str, user: &str, now: u64) -> Option<String> {
        value.split('~').find_map(|entry| {
            let mut parts = entry.splitn(3, '.');
            let (who, issued, mac) = (parts.next()?, parts.next()?, parts.next()?);
            let issued: u64 = issued.parse().ok()?;
            let fresh = issued <= now && now - issued < DEVICE_SECONDS;
            let genuine = who == user && constant_time_eq(mac.as_bytes(), self.mac(who, issued).as_bytes());
            (fresh && genuine).then(|| mac.to_owned())
        })
    }

    /// The cookie value after `user` signed in at `now` on a browser that
    /// sent `old`: their new entry first, then the other people's genuine
    /// ones that still fit.
    pub fn issue(&self, old: Option<&str>, user: &str, now: u64) -> String {
        let mut entries = vec![format!("{user}.{now}.{}", self.mac(user, now))];
        for entry in old.unwrap_or_default().split('~') {
            let who = entry.split('.').next().unwrap_or_default();
            if entries.len() < DEVICE_PEOPLE
                && who != user
                && !who.is_empty()
                && self.verify(entry, who, now).is_some()
            {
                entries.push(entry.to_owned());
            }
        }
        entries.join("~")
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Arc<Throttle> {
        Arc::new(Throttle::new(Rules::default()))
    }

    fn attempt(login: &str, address: &str) -> Attempt<'static> {
        Attempt { login: login.to_owned().leak(), address: Some(address.parse().unwrap()), device: None }
    }

    #[test]
    fn a_login_takes_five_failures_then_one_a_minute_and_forgets_them() {
        let t = throttle();
        let t0 = Instant::now();
        for i in 0..5 {
            drop(t.admit_at(&attempt("Anna", &format!("10.0.0.{i}")), t0).expect("free"));
        }
        let wait = t.admit_at(&attempt("anna ", "10.0.1.1"), t0).err().expect("the sixth waits");
        assert_eq!(wait, Wait { after: Duration::from_secs(60), cause: Cause::Login });
        let later = t0 + Duration::from_secs(61);
        drop(t.admit_at(&attempt("anna", "10.0.1.1"), later).expect("one more a minute later"));
        assert!(t.admit_at(&attempt("anna", "10.0.1.1"), later).is_err());
        // Counts decay: after five quiet minutes the bucket is empty again.
        let quiet = later + Duration::from_secs(5 * 60);
        for _ in 0..5 {
            drop(t.admit_at(&attempt("anna", "10.0.1.1"), quiet).expect("forgotten"));
        }
    }

    #[test]
    fn reservations_hold_until_the_check_ends_and_a_success_gives_them_back() {
        let t = throttle();
        let now = Instant::now();
        let in_flight: Vec<Admitted> =
            (0..5).map(|_| t.admit_at(&attempt("boris", "10.0.0.1"), now).unwrap()).collect();
        assert!(t.admit_at(&attempt("boris", "10.0.0.2"), now).is_err(), "five checks in flight fill it");
        for admitted in in_flight {
            admitted.succeeded();
        }
        for _ in 0..5 {
            t.admit_at(&attempt("boris", "10.0.0.1"), now).unwrap().succeeded();
        }
        assert!(t.admit_at(&attempt("boris", "10.0.0.1"), now).is_ok(), "successes cost nothing");
    }

    #[test]
    fn an_address_over_its_limit_still_gets_logins_nobody_is_guessing_at() {
        let t = throttle();
        let now = Instant::now();
        for i in 0..20 {
            drop(t.admit_at(&attempt(&format!("guess{i}"), "192.0.2.1"), now).unwrap());
        }
        // A colleague behind the same NAT signs in: their login is clean.
        let colleague = t.admit_at(&attempt("vera", "192.0.2.1"), now).expect("not locked out");
        assert!(colleague.exempted);
        colleague.succeeded();
        // A login with a failure (from anywhere) is not tried from there.
        drop(t.admit_at(&attempt("galina", "198.51.100.1"), now).unwrap());
        let wait = t.admit_at(&attempt("galina", "192.0.2.1"), now).err().expect("waits");
        assert_eq!(wait.cause, Cause::Address);
        assert!(wait.message_ru("Вход не выполнен").contains("из этой сети"));
        assert!(t.admit_at(&attempt("guess3", "192.0.2.1"), now).is_err(), "nor one it already failed");
        // Elsewhere the same login is fine, and unaffected addresses are not exempted.
        let other = t.admit_at(&attempt("galina", "198.51.100.2"), now).unwrap();
        assert!(!other.exempted);
        // The address drains: four minutes on it is under its limit again.
        let later = now + Duration::from_secs(4 * 60);
        assert!(!t.admit_at(&attempt("guess3", "192.0.2.1"), later).unwrap().exempted);
    }

    #[test]
    fn a_known_device_is_checked_on_its_own_bucket_while_the_login_is_locked() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..5 {
            drop(t.admit_at(&attempt("dina", "203.0.113.5"), now).unwrap());
        }
        assert!(t.admit_at(&attempt("dina", "192.0.2.7"), now).is_err(), "locked for new devices");
        let mine = Attempt { device: Some("mac1".into()), ..attempt("dina", "192.0.2.7") };
        t.admit_at(&mine, now).expect("her own tablet still gets in").succeeded();
        for _ in 0..5 {
            drop(t.admit_at(&mine, now).unwrap());
        }
        let wait = t.admit_at(&mine, now).err().expect("a device has its own limit");
        assert_eq!(wait.cause, Cause::Device);
        assert!(!wait.message_ru("Вход не выполнен").contains("можно и сейчас"), "no false hope");
    }

    #[test]
    fn device_cookies_are_genuine_per_person_and_keep_several_people() {
        let cookie = DeviceCookie::new([7; 32]);
        let now = 1_800_000_000;
        let anna = cookie.issue(None, "anna-id", now);
        assert!(cookie.verify(&anna, "anna-id", now + 10).is_some());
        assert!(cookie.verify(&anna, "boris-id", now).is_none(), "names one person");
        assert!(cookie.verify(&anna, "anna-id", now + DEVICE_SECONDS).is_none(), "expires");
        let forged = anna.replacen("anna-id", "boris-id", 1);
        assert!(cookie.verify(&forged, "boris-id", now).is_none());
        assert!(DeviceCookie::new([8; 32]).verify(&anna, "anna-id", now).is_none(), "another server's key");
        let both = cookie.issue(Some(&anna), "boris-id", now + 5);
        assert!(
            cookie.verify(&both, "anna-id", now + 6).is_some()
                && cookie.verify(&both, "boris-id", now + 6).is_some()
        );
        let mut shared = both;
        for i in 0..10 {
            shared = cookie.issue(Some(&shared), &format!("p{i}"), now + 7);
        }
        assert_eq!(shared.split('~').count(), DEVICE_PEOPLE);
        assert!(cookie.verify(&shared, "p9", now + 8).is_some());
    }
}
