//! `-whitebind` / `-whitelist` on the command line (Core's init.cpp handling of
//! NetWhitebindPermissions / NetWhitelistPermissions), and what reaches the connection
//! manager's options.

mod bin_common;

use bin_common::node_options;
use net::net_permissions::{to_strings, ConnectionDirection, NetPermissionFlags};

/// Mirrors init.cpp: -whitebind parsed with Core's errors, implies -listen=1, and turns off
/// the wildcard binds; -whitelist split by direction.
#[test]
fn whitebind_and_whitelist_options() {
    let o = node_options(&["-regtest", "-whitebind=noban,addr@127.0.0.1:5555"]).unwrap();
    assert!(o.listen && !o.bind_on_any);
    assert_eq!(o.white_binds.len(), 1);
    assert_eq!(
        o.white_binds[0].m_service.to_string_addr_port(),
        "127.0.0.1:5555"
    );
    assert_eq!(
        to_strings(o.white_binds[0].m_flags),
        vec!["noban", "download", "addr"]
    );
    // -whitebind implies -listen=1 even with -connect.
    let o = node_options(&[
        "-regtest",
        "-connect=127.0.0.1:1",
        "-whitebind=127.0.0.1:5555",
    ])
    .unwrap();
    assert!(o.listen);
    assert_eq!(o.white_binds[0].m_flags, NetPermissionFlags::IMPLICIT);
    assert_eq!(
        node_options(&["-regtest", "-whitebind=127.0.0.1"]).unwrap_err(),
        "Need to specify a port with -whitebind: '127.0.0.1'"
    );
    assert_eq!(
        node_options(&["-regtest", "-whitebind=oops@127.0.0.1:1"]).unwrap_err(),
        "Invalid P2P permission: 'oops'"
    );
    assert_eq!(
        node_options(&["-regtest", "-listen=0", "-whitebind=127.0.0.1:1"]).unwrap_err(),
        "Cannot set -bind or -whitebind together with -listen=0"
    );

    let o = node_options(&[
        "-regtest",
        "-whitelist=10.0.0.0/8",
        "-whitelist=out,noban@192.168.1.1",
        "-whitelist=in,out,addr@::1",
    ])
    .unwrap();
    assert!(o.bind_on_any);
    let inc: Vec<String> = o
        .whitelist_incoming
        .iter()
        .map(|w| w.m_subnet.to_string())
        .collect();
    let out: Vec<String> = o
        .whitelist_outgoing
        .iter()
        .map(|w| w.m_subnet.to_string())
        .collect();
    assert_eq!(inc, vec!["10.0.0.0/8", "::1/128"]);
    assert_eq!(out, vec!["192.168.1.1/32", "::1/128"]);
    assert_eq!(
        node_options(&["-regtest", "-whitelist=1.2.3.4:5"]).unwrap_err(),
        "Invalid netmask specified in -whitelist: '1.2.3.4:5'"
    );
    assert_eq!(
        node_options(&["-regtest", "-whitelist=out@1.2.3.4"]).unwrap_err(),
        "Only direction was set, no permissions: 'out@1.2.3.4'"
    );
    assert!(ConnectionDirection::BOTH.has(ConnectionDirection::OUT));

    // What the connection manager gets.
    let o = node_options(&[
        "-regtest",
        "-whitebind=noban@127.0.0.1:5555",
        "-whitelist=addr@10.0.0.0/8",
    ])
    .unwrap();
    let c = node::api::P2pConfig::from_node_options(&o).unwrap().net;
    assert!(c.binds.is_empty());
    assert_eq!(c.white_binds, o.white_binds);
    assert_eq!(c.whitelisted_range_incoming, o.whitelist_incoming);
    assert_eq!(c.port, Some(o.port));
    // No -bind, no -whitebind: no explicit bind, the port for [::] and 0.0.0.0.
    let o = node_options(&["-regtest"]).unwrap();
    let c = node::api::P2pConfig::from_node_options(&o).unwrap().net;
    assert!(c.binds.is_empty() && c.white_binds.is_empty());
    assert_eq!(
        net::listen::listen_plan(&c.binds, &c.white_binds, c.port.unwrap_or(0))
            .iter()
            .map(|s| s.addr.to_string())
            .collect::<Vec<_>>(),
        vec!["[::]:18444", "0.0.0.0:18444"]
    );
}
