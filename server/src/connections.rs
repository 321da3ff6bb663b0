//! Accepting connections, with the limits that keep one client from using
//! them all up. `axum::serve` has none of these: a socket that never sends
//! (or sends its request one byte at a time) stays open for good, and at
//! the file limit `accept` fails for everyone.
//!
//! - **Header-read timeout** ([`ConnectionLimits::header_timeout`]): a
//!   request's head must arrive whole within it, counted from when the
//!   server starts waiting for it: a new connection, and a kept-alive one
//!   between requests. Silent and slowloris sockets are closed.
//! - **Idle timeout** ([`ConnectionLimits::idle_timeout`]): a connection
//!   over which no byte moved either way for this long is closed (a body
//!   that stopped arriving, a download the client stopped reading).
//!   Upgraded (WebSocket) connections leave this to the relay, which pings
//!   them and closes the silent ones itself.
//! - **Per address** ([`ConnectionLimits::per_address`]): more connections
//!   from one address are closed as soon as accepted. Trusted proxies are
//!   exempt: all their clients come from their address. Whatever is
//!   configured, one address holds at most a quarter of the slots (at a
//!   low file limit the configured cap could otherwise be all of them).
//! - **In all** ([`capacity`]): never more connections than the file limit
//!   minus what the server needs besides (databases, blob files), so those
//!   never fail for want of a file descriptor. At the limit the server
//!   stops accepting; new connections wait in the listen queue until a slot
//!   frees (the header timeout frees slowloris slots within seconds) rather
//!   than being refused.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt as _;

use crate::client::Proxies;

/// How long connections may take and how many one client may hold.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// For a request's head to arrive, from when the server waits for one.
    pub header_timeout: Duration,
    /// With no byte moving either way, before the connection is closed.
    pub idle_timeout: Duration,
    /// Connections open at once from one address (not a trusted proxy's).
    pub per_address: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            per_address: 256,
        }
    }
}

/// File descriptors kept for everything but connections: the two
/// databases, blob files being written and read, the listener, the
/// runtime's own, standard streams.
const RESERVED_FILES: u64 = 64;

/// The most connections to hold at once: the file limit, after raising
/// the soft limit to the hard one, less [`RESERVED_FILES`].
pub fn capacity() -> usize {
    let limit = raise_file_limit();
    usize::try_from(limit.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX).clamp(16, 1 << 20)
}

/// Raises the soft limit on open files to the hard one (the usual default
/// soft limit, 1024, is far below what a relay of a few thousand devices
/// holds); returns the limit in force.
fn raise_file_limit() -> u64 {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit and setrlimit read and write only `limit`.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return 1024;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
        }
        #[allow(clippy::useless_conversion)] // rlim_t is not u64 everywhere
        u64::try_from(limit.rlim_cur).unwrap_or(u64::MAX)
    }
    #[cfg(not(unix))]
    1024
}

/// Serves `app` on `listener` until `signal` resolves, then lets the
/// requests in progress finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    proxies: Proxies,
    limits: ConnectionLimits,
    capacity: usize,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    let (stop_tx, stop_rx) = watch::channel(());
    tokio::spawn(async move {
        signal.await;
        drop(stop_rx);
    });
    // Each connection task holds a receiver; `closed` resolves when all are gone.
    let (done_tx, done_rx) = watch::channel(());
    let slots = Arc::new(Semaphore::new(capacity));
    let per_address = limits.per_address.min((capacity / 4).max(1));
    if per_address < limits.per_address {
        tracing::warn!(
            "{per_address} connections per address, not {}: the file limit leaves room for {capacity} in all",
            limits.per_address
        );
    }
    let addresses: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    let mut complaints = Complaints::default();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = stop_tx.closed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e, &mut complaints).await;
                    continue;
                }
            },
            () = stop_tx.closed() => break,
        };
        let ip = peer.ip().to_canonical();
        let address = if proxies.is_trusted(ip) {
            None
        } else {
            match AddressSlot::take(&addresses, ip, per_address) {
                Some(slot) => Some(slot),
                None => {
                    complaints.too_many(ip, per_address);
                    continue; // dropping the stream closes it
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let io = Watched::new(stream, Slot { _total: permit, _address: address });
        let activity = io.activity.clone();
        let service = TowerToHyperService::new(app.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req.map(Body::new)
        }));
        let connection = builder.serve_connection(TokioIo::new(io), service).with_upgrades();
        let (stop, done) = (stop_tx.clone(), done_rx.clone());
        let idle_timeout = limits.idle_timeout;
        tokio::spawn(async move {
            let mut connection = pin!(connection);
            let mut stopping = pin!(stop.closed());
            let mut idle = pin!(activity.idle_for(idle_timeout));
            let mut shutting_down = false;
            loop {
                tokio::select! {
                    _ = connection.as_mut() => break,
                    () = &mut stopping, if !shutting_down => {
                        shutting_down = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    () = &mut idle => {
                        tracing::debug!(%peer, "closing a connection idle for {idle_timeout:?}");
                        break;
                    }
                }
            }
            drop(done);
        });
    }
    drop(done_rx);
    drop(listener);
    done_tx.closed().await;
}

/// Rate-limited warnings, so that an attack does not also flood the log.
#[derive(Default)]
struct Complaints {
    last: Option<Instant>,
}

impl Complaints {
    fn due(&mut self) -> bool {
        let due = self.last.is_none_or(|at| at.elapsed() >= Duration::from_secs(10));
        if due {
            self.last = Some(Instant::now());
        }
        due
    }

    fn too_many(&mut self, ip: IpAddr, limit: usize) {
        if self.due() {
            tracing::warn!(%ip, "closing connections past {limit} from one address");
        }
    }
}

/// An `accept` that failed: out of file descriptors (other files than
/// connections, say), or a connection reset before it was taken. Waits a
/// moment rather than spinning; the listen queue keeps the clients.
async fn accept_failed(e: &io::Error, complaints: &mut Complaints) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
    ) {
        return;
    }
    if complaints.due() {
        tracing::error!("accepting a connection failed: {e}");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// One connection's places: in all, and for its address. Given back when
/// the connection's socket is dropped, upgraded ones included.
struct Slot {
    _total: OwnedSemaphorePermit,
    _address: Option<AddressSlot>,
}

/// A place among one address's connections.
struct AddressSlot {
    ip: IpAddr,
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl AddressSlot {
    fn take(counts: &Arc<Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr, limit: usize) -> Option<AddressSlot> {
        let mut map = counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = map.entry(ip).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(AddressSlot { ip, counts: counts.clone() })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = map.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// When a byte last moved over a connection.
struct Activity {
    epoch: Instant,
    /// Milliseconds after `epoch`.
    last: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    /// Resolves once nothing moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.epoch + Duration::from_millis(self.last.load(Ordering::Relaxed));
            let quiet = last.elapsed();
            if quiet >= limit {
                return;
            }
            tokio::time::sleep(limit - quiet).await;
        }
    }
}

/// A TCP stream that records when bytes move and holds the connection's
/// [`Slot`] for as long as it lives.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
    _slot: Slot,
}

impl Watched {
    fn new(stream: TcpStream, slot: Slot) -> Watched {
        let activity = Arc::new(Activity { epoch: Instant::now(), last: AtomicU64::new(0) });
        Watched { stream, activity, _slot: slot }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
