//! Test support shared by the modules: polling with a deadline instead of sleeping "long
//! enough", and a loopback port that refuses every connection for as long as a test holds it.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// How often [`wait_for`] and [`poll_until`] look again.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// Waits until `condition` holds, looking every 20 ms; panics naming `what` after `timeout`.
/// The condition is evaluated once more at the deadline, so a slow machine only waits longer,
/// it never fails a test that would have passed.
#[track_caller]
pub fn wait_for(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    poll_until(what, timeout, || condition().then_some(()))
}

/// Waits until `f` returns `Some`, and returns that value; panics naming `what` after `timeout`.
#[track_caller]
pub fn poll_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(POLL_EVERY);
    }
}

/// A loopback port with a socket bound to it that never listens: every connection to it is
/// refused at once (RST), and no other socket can take the port while this value lives (a
/// port bound, dropped and connected to again could be reused in between, or be chosen as the
/// client's own source port and connect to itself).
pub struct ClosedPort {
    fd: libc::c_int,
    pub port: u16,
}

impl ClosedPort {
    pub fn new() -> ClosedPort {
        // SAFETY: plain socket calls on a descriptor this value owns; the address structures
        // are initialised and sized as the calls require.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from(Ipv4Addr::LOCALHOST).to_be();
            addr.sin_port = 0;
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let bound = libc::bind(fd, &addr as *const _ as *const libc::sockaddr, len);
            assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
            let mut got_len = len;
            let named =
                libc::getsockname(fd, &mut addr as *mut _ as *mut libc::sockaddr, &mut got_len);
            assert_eq!(named, 0, "getsockname: {}", std::io::Error::last_os_error());
            ClosedPort {
                fd,
                port: u16::from_be(addr.sin_port),
            }
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for ClosedPort {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe {
            libc::close(self.fd);
        }
    }
}

#[test]
fn a_closed_port_refuses_connections_while_held() {
    let p = ClosedPort::new();
    for _ in 0..3 {
        let e = std::net::TcpStream::connect(("127.0.0.1", p.port)).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
    }
    // Nobody else can listen on it meanwhile.
    assert!(std::net::TcpListener::bind(("127.0.0.1", p.port)).is_err());
}

#[test]
fn wait_for_polls_until_the_condition_holds() {
    let mut polls = 0;
    wait_for("three polls", Duration::from_secs(10), || {
        polls += 1;
        polls == 3
    });
    assert_eq!(polls, 3);
    let mut n = 0;
    let v = poll_until("a value", Duration::from_secs(10), || {
        n += 1;
        (n == 2).then_some("ready")
    });
    assert_eq!(v, "ready");
}

#[test]
#[should_panic(expected = "waiting for a condition that never holds")]
fn wait_for_names_what_it_waited_for() {
    wait_for(
        "a condition that never holds",
        Duration::from_millis(50),
        || false,
    );
}

/// A webhook receiver on loopback (`/hook`): keeps the JSON body of every POST it accepted.
/// `fail` makes it answer 500, `stall` makes it accept and never answer; it can also fail its
/// first `n` requests ([`Receiver::failing_first`]).
pub struct Receiver {
    pub srv: crate::server::TestServer,
    received: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    pub fail: crate::server::Switch,
    pub stall: crate::server::Switch,
}

impl Receiver {
    pub fn start() -> Receiver {
        Receiver::failing_first(0)
    }

    /// A receiver whose first `n` requests answer 500.
    pub fn failing_first(n: usize) -> Receiver {
        use crate::server::{status, with_headers, Reply, Routes, Switch, TestServer};
        let received: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>> = Default::default();
        let (fail, stall) = (Switch::new(), Switch::new());
        let (r2, f2, s2) = (received.clone(), fail.clone(), stall.clone());
        let seen = std::sync::atomic::AtomicUsize::new(0);
        let srv = TestServer::start(Routes::new().at("/hook", move |req| {
            if s2.is_on() {
                return Reply::Stall;
            }
            if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < n || f2.is_on() {
                return status(500);
            }
            if let Ok(v) = serde_json::from_slice(&req.body) {
                r2.lock().unwrap().push(v);
            }
            with_headers(200, &[], "ok")
        }));
        Receiver {
            srv,
            received,
            fail,
            stall,
        }
    }

    pub fn url(&self) -> String {
        self.srv.url("/hook")
    }

    /// Requests that reached it, accepted or not.
    pub fn hits(&self) -> usize {
        self.srv.hits("/hook")
    }

    /// Every event accepted, in order.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.received.lock().unwrap().clone()
    }

    /// The accepted events of one kind (`confirmed`, `recovered`).
    pub fn events_of(&self, kind: &str) -> Vec<serde_json::Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == kind)
            .collect()
    }
}
