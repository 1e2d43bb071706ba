//! Outbound dialling seam and the loopback-only test guard.
//!
//! Core dials through `ConnectDirectly` / `ConnectThroughProxy` (netbase.cpp). Here every
//! outbound socket is opened by a [`Connector`]: the default one dials the address itself;
//! tests install one that maps routable addresses to loopback listeners. The
//! [`LoopbackOnly`] guard wraps any connector, asks it which socket address it would dial
//! ([`Connector::target`]), refuses anything that is not loopback, and then dials that
//! checked address itself, so the address checked is the address dialled.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use netbase::CService;

/// Port of DEFAULT_CONNECT_TIMEOUT (netbase.h): 5000 ms.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5000;

/// Opens outbound TCP connections.
pub trait Connector: Send + Sync {
    /// The socket address dialling `addr` connects to (`None`: not dialable, e.g. Tor).
    fn target(&self, addr: &CService) -> Option<SocketAddr> {
        addr.to_socket_addr()
    }

    /// Not in Core: the local address outbound sockets are bound to before connecting (`None`:
    /// the system picks, as Core). The simulator's loopback backend gives each node its own
    /// loopback address so its peers can tell its connections apart ([`Self::inbound_addr`]).
    fn source(&self) -> Option<IpAddr> {
        None
    }

    /// Not in Core: the address an accepted connection from `peer` is known by (its
    /// `CNode::addr`); by default `peer` itself. The simulator's loopback backend maps a node's
    /// loopback source address ([`Self::source`]) back to the routable address it simulates, so
    /// a listener sees its peers as on the simulated network (one IP per peer, its /16 group).
    fn inbound_addr(&self, peer: SocketAddr) -> CService {
        CService::from_socket_addr(&peer)
    }

    /// Open a non-blocking TCP connection to `addr`.
    fn dial(&self, addr: &CService, timeout: Duration) -> io::Result<mio::net::TcpStream> {
        match self.target(addr) {
            Some(t) => connect_socket_from(t, self.source(), timeout),
            None => Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("cannot dial {}", addr.to_string_addr_port()),
            )),
        }
    }
}

/// Dials the address itself (Core's direct connect, no proxy).
#[derive(Debug, Default, Clone, Copy)]
pub struct DirectConnector;

impl Connector for DirectConnector {}

/// Port of ConnectSocketDirectly (netbase.cpp): blocking connect with a timeout, then the
/// socket is made non-blocking with `TCP_NODELAY` and handed to mio.
pub fn connect_socket(target: SocketAddr, timeout: Duration) -> io::Result<mio::net::TcpStream> {
    connect_socket_from(target, None, timeout)
}

/// Port of ConnectSocketDirectly (netbase.cpp) as [`connect_socket`]; not in Core: with
/// `source`, the socket is first bound to that local address (any port).
pub fn connect_socket_from(
    target: SocketAddr,
    source: Option<IpAddr>,
    timeout: Duration,
) -> io::Result<mio::net::TcpStream> {
    let s = match source {
        None => std::net::TcpStream::connect_timeout(&target, timeout)?,
        Some(ip) => {
            use socket2::{Domain, Protocol, SockAddr, Socket, Type};
            let sock = Socket::new(
                Domain::for_address(target),
                Type::STREAM,
                Some(Protocol::TCP),
            )?;
            sock.bind(&SockAddr::from(SocketAddr::new(ip, 0)))?;
            sock.connect_timeout(&SockAddr::from(target), timeout)?;
            std::net::TcpStream::from(sock)
        }
    };
    s.set_nodelay(true)?;
    s.set_nonblocking(true)?;
    Ok(mio::net::TcpStream::from_std(s))
}

/// Test-mode guard: refuses to dial anything but 127.0.0.0/8 and ::1.
pub struct LoopbackOnly<C: Connector> {
    inner: C,
}

impl<C: Connector> LoopbackOnly<C> {
    /// Not in Core: wrap `inner`.
    pub fn new(inner: C) -> Self {
        LoopbackOnly { inner }
    }
}

impl<C: Connector> Connector for LoopbackOnly<C> {
    fn target(&self, addr: &CService) -> Option<SocketAddr> {
        self.inner.target(addr)
    }

    fn source(&self) -> Option<IpAddr> {
        self.inner.source()
    }

    fn inbound_addr(&self, peer: SocketAddr) -> CService {
        self.inner.inbound_addr(peer)
    }

    fn dial(&self, addr: &CService, timeout: Duration) -> io::Result<mio::net::TcpStream> {
        let target = self
            .inner
            .target(addr)
            .ok_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "no socket address"))?;
        //DMITRY: test mode dials a non-loopback address; Core: none (bitcoind has no such guard, -connect=0 is the nearest); changed: added so
        // no test can reach the real network.
        if !target.ip().is_loopback() {
            log::warn!(target: "net", "test mode: refusing to dial non-loopback address {} (for {})", target, addr.to_string_addr_port());
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("test mode: refusing to dial non-loopback address {target}"),
            ));
        }
        let source = self.inner.source();
        if source.is_some_and(|ip| !ip.is_loopback()) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "test mode: refusing a non-loopback source address",
            ));
        }
        let s = connect_socket_from(target, source, timeout)?;
        match s.peer_addr() {
            Ok(p) if p.ip().is_loopback() => Ok(s),
            Ok(p) => Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("test mode: connected to non-loopback {p}"),
            )),
            Err(e) => Err(e),
        }
    }
}

/// A connector that dials through `map`: each listed address goes to its mapped socket
/// address (tests map routable addresses to loopback listeners); others are dialled as is.
#[derive(Debug, Default, Clone)]
pub struct MappedConnector {
    /// (address as seen by the node, socket address actually dialled)
    pub map: Vec<(CService, SocketAddr)>,
}

impl Connector for MappedConnector {
    fn target(&self, addr: &CService) -> Option<SocketAddr> {
        self.map
            .iter()
            .find(|(a, _)| a == addr)
            .map(|(_, t)| *t)
            .or_else(|| addr.to_socket_addr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connector dialling `target` from `source`.
    struct FromSource {
        target: SocketAddr,
        source: IpAddr,
    }

    impl Connector for FromSource {
        fn target(&self, _addr: &CService) -> Option<SocketAddr> {
            Some(self.target)
        }
        fn source(&self) -> Option<IpAddr> {
            Some(self.source)
        }
    }

    /// The guard refuses a non-loopback source before opening a socket, and dials from a
    /// loopback source it is given (Linux answers for all of 127.0.0.0/8).
    #[test]
    fn loopback_guard_checks_the_source_too() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let target = l.local_addr().unwrap();
        let addr = CService::from_socket_addr(&target);
        let bad = LoopbackOnly::new(FromSource {
            target,
            source: IpAddr::from([10, 0, 0, 1]),
        });
        let e = bad.dial(&addr, Duration::from_secs(2)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        if cfg!(target_os = "linux") {
            let good = LoopbackOnly::new(FromSource {
                target,
                source: IpAddr::from([127, 1, 0, 9]),
            });
            let _s = good.dial(&addr, Duration::from_secs(2)).unwrap();
            let (_, peer) = l.accept().unwrap();
            assert_eq!(peer.ip(), IpAddr::from([127, 1, 0, 9]));
            assert_eq!(
                good.inbound_addr(peer),
                CService::from_socket_addr(&peer),
                "default: the peer's own address"
            );
        }
    }
}
