//! The listening sockets: which addresses to bind (Core's `CConnman::InitBinds`), and how
//! (Core's `CConnman::BindListenPort`).
//!
//! Without `-bind` and `-whitebind` Core binds both wildcards, `[::]` first (a failure there is
//! not fatal: the host may have no IPv6) and then `0.0.0.0` (a failure is fatal). The IPv6
//! socket is `IPV6_V6ONLY`, so the two do not collide on the same port; std and mio cannot set
//! that option before `bind`, so the socket is built with `socket2`.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::net_permissions::{NetPermissionFlags, NetWhitebindPermissions};

/// Core's `SOMAXCONN` backlog for `listen()` (Linux's default value of the constant).
const LISTEN_BACKLOG: i32 = 4096;

/// One socket to bind (Core's arguments of `CConnman::Bind`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenSpec {
    /// Address and port.
    pub addr: SocketAddr,
    /// Permissions of peers that connect to it (`-whitebind`), else none.
    pub permissions: NetPermissionFlags,
    /// Core's `BF_REPORT_ERROR`: a failure to bind stops the start.
    pub report_error: bool,
}

/// Port of CConnman::InitBinds (net.cpp), the choice of sockets: every `-bind` (errors fatal),
/// every `-whitebind` with its permissions (errors fatal), and with neither (Core's
/// `bind_on_any`, init.cpp) `[::]:port` (error not fatal) then `0.0.0.0:port` (fatal).
pub fn listen_plan(
    binds: &[SocketAddr],
    white_binds: &[NetWhitebindPermissions],
    port: u16,
) -> Vec<ListenSpec> {
    let mut plan: Vec<ListenSpec> = binds
        .iter()
        .map(|a| ListenSpec {
            addr: *a,
            permissions: NetPermissionFlags::NONE,
            report_error: true,
        })
        .collect();
    for wb in white_binds {
        if let Some(addr) = wb.m_service.to_socket_addr() {
            plan.push(ListenSpec {
                addr,
                permissions: wb.m_flags,
                report_error: true,
            });
        }
    }
    if binds.is_empty() && white_binds.is_empty() {
        plan.push(ListenSpec {
            addr: SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
            permissions: NetPermissionFlags::NONE,
            report_error: false,
        });
        plan.push(ListenSpec {
            addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
            permissions: NetPermissionFlags::NONE,
            report_error: true,
        });
    }
    plan
}

/// Port of CConnman::BindListenPort (net.cpp): a non-blocking listening socket on `addr`, with
/// `SO_REUSEADDR`, and `IPV6_V6ONLY` for IPv6. Errors carry Core's text (logged by the caller).
pub fn bind_listen_port(addr: SocketAddr) -> Result<mio::net::TcpListener, String> {
    let shown = netbase::CService::from_socket_addr(&addr).to_string_addr_port();
    let sock =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(|e| {
            format!("Couldn't open socket for incoming connections (socket returned error {e})")
        })?;
    if let Err(e) = sock.set_reuse_address(true) {
        log::info!("Error setting SO_REUSEADDR on socket: {e}, continuing anyway");
    }
    if addr.is_ipv6() {
        if let Err(e) = sock.set_only_v6(true) {
            log::info!("Error setting IPV6_V6ONLY on socket: {e}, continuing anyway");
        }
    }
    if let Err(e) = sock.bind(&SockAddr::from(addr)) {
        return Err(if e.kind() == io::ErrorKind::AddrInUse {
            format!("Unable to bind to {shown} on this computer. logos-p2p is probably already running.")
        } else {
            format!("Unable to bind to {shown} on this computer (bind returned error {e})")
        });
    }
    if let Err(e) = sock.listen(LISTEN_BACKLOG) {
        return Err(format!(
            "Listening for incoming connections failed (listen returned error {e})"
        ));
    }
    sock.set_nonblocking(true)
        .map_err(|e| format!("Unable to make the socket on {shown} non-blocking: {e}"))?;
    let std_listener: std::net::TcpListener = sock.into();
    Ok(mio::net::TcpListener::from_std(std_listener))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// Port of the choice in CConnman::InitBinds (net.cpp) with init.cpp's `bind_on_any`.
    #[test]
    fn plan_binds_both_wildcards_without_bind_options() {
        let plan = listen_plan(&[], &[], 8333);
        assert_eq!(
            plan,
            vec![
                ListenSpec {
                    addr: sa("[::]:8333"),
                    permissions: NetPermissionFlags::NONE,
                    report_error: false
                },
                ListenSpec {
                    addr: sa("0.0.0.0:8333"),
                    permissions: NetPermissionFlags::NONE,
                    report_error: true
                },
            ]
        );
    }

    #[test]
    fn plan_with_bind_or_whitebind_binds_only_those() {
        let plan = listen_plan(&[sa("127.0.0.1:1234")], &[], 8333);
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].addr, sa("127.0.0.1:1234"));
        assert!(plan[0].report_error);
        let wb = NetWhitebindPermissions::try_parse("noban,addr@[::1]:5555").unwrap();
        let plan = listen_plan(&[], std::slice::from_ref(&wb), 8333);
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].addr, sa("[::1]:5555"));
        assert_eq!(plan[0].permissions, wb.m_flags);
        let plan = listen_plan(&[sa("127.0.0.1:1")], &[wb], 8333);
        assert_eq!(plan.len(), 2);
    }

    /// Binds `[::1]:0` and `127.0.0.1:0` (loopback only: the wildcard binds themselves are
    /// not exercised in tests).
    #[test]
    fn binds_loopback_v6_and_v4() {
        let v4 = bind_listen_port(sa("127.0.0.1:0")).expect("bind 127.0.0.1:0");
        assert!(v4.local_addr().unwrap().is_ipv4());
        match bind_listen_port(sa("[::1]:0")) {
            Ok(v6) => {
                let a = v6.local_addr().unwrap();
                assert!(a.is_ipv6());
                assert_ne!(a.port(), 0);
            }
            // A host without IPv6: Core does not treat it as fatal either.
            Err(e) => log::info!("no IPv6 loopback here: {e}"),
        }
        // A port in use: Core's text.
        let taken = v4.local_addr().unwrap();
        let e = bind_listen_port(taken).unwrap_err();
        assert!(e.contains("is probably already running"), "{e}");
    }
}
