//! Peer permissions granted by the operator: `-whitebind=[perms@]addr:port` (every peer that
//! connects to that listening socket) and `-whitelist=[perms@]ip-or-subnet` (every peer from that
//! address range, inbound and/or manual outbound).
//!
//! Port of `net_permissions.{h,cpp}`. The flags keep Core's bit values, so `all` and the implied
//! flags (`noban` ⇒ `download`, `forcerelay` ⇒ `relay`) behave as in Core. This port carries no
//! transactions, blocks, mempool or bloom filters: `bloomfilter`, `mempool`, `relay`,
//! `forcerelay` and `download` are parsed, stored and shown by `getpeerinfo` exactly as Core does,
//! but nothing reads them. `noban` (never refused when banned or discouraged, never evicted, never
//! punished for misbehaviour) and `addr` (no addr rate limit, `getaddr` answered without the
//! response cache) act as in Core.

use std::fmt;

use netbase::{CNetAddr, CService, CSubNet};

/// Port of DEFAULT_WHITELISTRELAY (net_permissions.h).
pub const DEFAULT_WHITELISTRELAY: bool = true;
/// Port of DEFAULT_WHITELISTFORCERELAY (net_permissions.h).
pub const DEFAULT_WHITELISTFORCERELAY: bool = false;

/// Port of NET_PERMISSIONS_DOC (net_permissions.cpp): one line per permission for `-help`,
/// with what the permission does in this port.
pub const NET_PERMISSIONS_DOC: [&str; 7] = [
    "bloomfilter (accepted for compatibility; no effect: no BIP37 filtering here)",
    "noban (do not ban for misbehavior; implies download)",
    "forcerelay (accepted for compatibility; no effect: no transaction relay here; implies relay)",
    "relay (accepted for compatibility; no effect: no transaction relay here)",
    "mempool (accepted for compatibility; no effect: no mempool here)",
    "download (accepted for compatibility; no effect: no block download here)",
    "addr (responses to GETADDR avoid hitting the cache and contain random records with the most up-to-date info)",
];

/// Port of NetPermissionFlags (net_permissions.h): a set of permission bits, with Core's values.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NetPermissionFlags(pub u32);

impl NetPermissionFlags {
    /// No permission.
    pub const NONE: Self = Self(0);
    /// May request BIP37 filters (no effect here: no bloom filters).
    pub const BLOOM_FILTER: Self = Self(1 << 1);
    /// Relay transactions even in blocks-only mode (no effect here).
    pub const RELAY: Self = Self(1 << 3);
    /// Always relay this peer's transactions (no effect here); implies [`Self::RELAY`].
    pub const FORCE_RELAY: Self = Self((1 << 2) | Self::RELAY.0);
    /// Block download beyond limits (no effect here).
    pub const DOWNLOAD: Self = Self(1 << 6);
    /// Never refused for a ban or discouragement, never evicted, never punished for
    /// misbehaviour; implies [`Self::DOWNLOAD`].
    pub const NO_BAN: Self = Self((1 << 4) | Self::DOWNLOAD.0);
    /// May request the mempool (no effect here).
    pub const MEMPOOL: Self = Self(1 << 5);
    /// `getaddr` answered without the response cache; `addr` messages not rate limited.
    pub const ADDR: Self = Self(1 << 7);
    /// The operator gave no explicit permission (`-whitelist=1.2.3.4`): Core's legacy defaults
    /// are applied when the flags are attached to a peer.
    pub const IMPLICIT: Self = Self(1 << 31);
    /// Every permission.
    pub const ALL: Self = Self(
        Self::BLOOM_FILTER.0
            | Self::FORCE_RELAY.0
            | Self::RELAY.0
            | Self::NO_BAN.0
            | Self::MEMPOOL.0
            | Self::DOWNLOAD.0
            | Self::ADDR.0,
    );
}

impl std::ops::BitOr for NetPermissionFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl fmt::Debug for NetPermissionFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NetPermissionFlags({:#x} {:?})",
            self.0,
            to_strings(*self)
        )
    }
}

/// Port of NetPermissions::HasFlag (net_permissions.h): every bit of `f` is set in `flags`.
pub fn has_flag(flags: NetPermissionFlags, f: NetPermissionFlags) -> bool {
    flags.0 & f.0 == f.0
}

/// Port of NetPermissions::AddFlag (net_permissions.h).
pub fn add_flag(flags: &mut NetPermissionFlags, f: NetPermissionFlags) {
    flags.0 |= f.0;
}

/// Port of NetPermissions::ClearFlag (net_permissions.h). Core only ever clears
/// [`NetPermissionFlags::IMPLICIT`] (clearing part of a combined flag would leave a set that
/// names no permission); so does this port.
pub fn clear_flag(flags: &mut NetPermissionFlags, f: NetPermissionFlags) {
    debug_assert_eq!(f, NetPermissionFlags::IMPLICIT);
    flags.0 &= !f.0;
}

/// Port of NetPermissions::ToStrings (net_permissions.cpp): the names `getpeerinfo` lists, in
/// Core's order.
pub fn to_strings(flags: NetPermissionFlags) -> Vec<&'static str> {
    let mut strings = Vec::new();
    for (f, name) in [
        (NetPermissionFlags::BLOOM_FILTER, "bloomfilter"),
        (NetPermissionFlags::NO_BAN, "noban"),
        (NetPermissionFlags::FORCE_RELAY, "forcerelay"),
        (NetPermissionFlags::RELAY, "relay"),
        (NetPermissionFlags::MEMPOOL, "mempool"),
        (NetPermissionFlags::DOWNLOAD, "download"),
        (NetPermissionFlags::ADDR, "addr"),
    ] {
        if has_flag(flags, f) {
            strings.push(name);
        }
    }
    strings
}

/// Port of ConnectionDirection (netbase.h): which connections a `-whitelist` entry applies to.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ConnectionDirection(pub u8);

impl ConnectionDirection {
    /// Neither.
    pub const NONE: Self = Self(0);
    /// Inbound connections.
    pub const IN: Self = Self(1);
    /// Manual outbound connections.
    pub const OUT: Self = Self(2);
    /// Both.
    pub const BOTH: Self = Self(3);

    /// Port of `operator&` on ConnectionDirection (netbase.h): any bit in common.
    pub fn has(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

/// Port of NetWhitebindPermissions (net_permissions.h): a `-whitebind` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetWhitebindPermissions {
    /// Core's `m_flags`.
    pub m_flags: NetPermissionFlags,
    /// Core's `m_service`: the address to listen on.
    pub m_service: CService,
}

/// Port of NetWhitelistPermissions (net_permissions.h): a `-whitelist` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetWhitelistPermissions {
    /// Core's `m_flags`.
    pub m_flags: NetPermissionFlags,
    /// Core's `m_subnet`: the peers it applies to.
    pub m_subnet: CSubNet,
}

/// Port of TryParsePermissionFlags (net_permissions.cpp): parses the `perm1,perm2@` prefix of
/// `s`. Returns the flags, the direction, and the offset where the address starts.
/// `allow_direction` is false for `-whitebind` (Core passes a null direction pointer), where
/// `out` is an error. Errors carry Core's text.
fn try_parse_permission_flags(
    s: &str,
    allow_direction: bool,
) -> Result<(NetPermissionFlags, ConnectionDirection, usize), String> {
    let mut flags = NetPermissionFlags::NONE;
    let mut direction = ConnectionDirection::NONE;
    let offset = match s.find('@') {
        // No '@': the caller applies the implicit (legacy) permissions.
        None => {
            add_flag(&mut flags, NetPermissionFlags::IMPLICIT);
            0
        }
        Some(at) => {
            for permission in s[..at].split(',') {
                match permission {
                    "bloomfilter" | "bloom" => {
                        add_flag(&mut flags, NetPermissionFlags::BLOOM_FILTER)
                    }
                    "noban" => add_flag(&mut flags, NetPermissionFlags::NO_BAN),
                    "forcerelay" => add_flag(&mut flags, NetPermissionFlags::FORCE_RELAY),
                    "mempool" => add_flag(&mut flags, NetPermissionFlags::MEMPOOL),
                    "download" => add_flag(&mut flags, NetPermissionFlags::DOWNLOAD),
                    "all" => add_flag(&mut flags, NetPermissionFlags::ALL),
                    "relay" => add_flag(&mut flags, NetPermissionFlags::RELAY),
                    "addr" => add_flag(&mut flags, NetPermissionFlags::ADDR),
                    "in" => direction.0 |= ConnectionDirection::IN.0,
                    "out" => {
                        if !allow_direction {
                            return Err("whitebind may only be used for incoming connections (\"out\" was passed)".to_string());
                        }
                        direction.0 |= ConnectionDirection::OUT.0;
                    }
                    // Empty entries ("a,,b", ",@") are allowed.
                    "" => {}
                    other => return Err(format!("Invalid P2P permission: '{other}'")),
                }
            }
            at + 1
        }
    };
    // A whitelist entry applies to inbound connections unless a direction is given.
    if direction == ConnectionDirection::NONE {
        direction = ConnectionDirection::IN;
    } else if flags == NetPermissionFlags::NONE {
        return Err(format!("Only direction was set, no permissions: '{s}'"));
    }
    Ok((flags, direction, offset))
}

impl NetWhitebindPermissions {
    /// Port of NetWhitebindPermissions::TryParse (net_permissions.cpp): `[perms@]addr:port`,
    /// numeric address, port required. Errors carry Core's text.
    pub fn try_parse(s: &str) -> Result<Self, String> {
        let (flags, _, offset) = try_parse_permission_flags(s, false)?;
        let str_bind = &s[offset..];
        let Some(addr_bind) = netbase::lookup(str_bind, 0, false, &netbase::no_dns) else {
            return Err(format!("Cannot resolve -whitebind address: '{str_bind}'"));
        };
        if addr_bind.get_port() == 0 {
            return Err(format!(
                "Need to specify a port with -whitebind: '{str_bind}'"
            ));
        }
        Ok(NetWhitebindPermissions {
            m_flags: flags,
            m_service: addr_bind,
        })
    }
}

impl NetWhitelistPermissions {
    /// Port of NetWhitelistPermissions::TryParse (net_permissions.cpp): `[perms@]ip-or-subnet`,
    /// with `in` / `out` choosing the direction (default: inbound only). Errors carry Core's
    /// text.
    pub fn try_parse(s: &str) -> Result<(Self, ConnectionDirection), String> {
        let (flags, direction, offset) = try_parse_permission_flags(s, true)?;
        let net = &s[offset..];
        let subnet = netbase::lookup_subnet(net);
        if !subnet.is_valid() {
            return Err(format!("Invalid netmask specified in -whitelist: '{net}'"));
        }
        Ok((
            NetWhitelistPermissions {
                m_flags: flags,
                m_subnet: subnet,
            },
            direction,
        ))
    }
}

/// Port of CConnman::AddWhitelistPermissionFlags (net.cpp): add the flags of every range that
/// contains `addr`; then, if any of them was implicit, replace the implicit bit by Core's
/// legacy whitelist permissions (`noban`, `mempool`, `relay` unless `-whitelistrelay=0`,
/// `forcerelay` with `-whitelistforcerelay`).
pub fn add_whitelist_permission_flags(
    flags: &mut NetPermissionFlags,
    addr: &CNetAddr,
    ranges: &[NetWhitelistPermissions],
    whitelist_relay: bool,
    whitelist_forcerelay: bool,
) {
    for subnet in ranges {
        if subnet.m_subnet.matches(addr) {
            add_flag(flags, subnet.m_flags);
        }
    }
    if has_flag(*flags, NetPermissionFlags::IMPLICIT) {
        clear_flag(flags, NetPermissionFlags::IMPLICIT);
        if whitelist_forcerelay {
            add_flag(flags, NetPermissionFlags::FORCE_RELAY);
        }
        if whitelist_relay {
            add_flag(flags, NetPermissionFlags::RELAY);
        }
        add_flag(flags, NetPermissionFlags::MEMPOOL);
        add_flag(flags, NetPermissionFlags::NO_BAN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type F = NetPermissionFlags;

    fn wb(s: &str) -> Result<NetWhitebindPermissions, String> {
        NetWhitebindPermissions::try_parse(s)
    }

    /// Mirrors netbase_tests.cpp: netpermissions_test
    #[test]
    #[allow(non_snake_case)]
    fn netbase_tests__netpermissions_test() {
        // Invalid whitebind.
        let e = wb("").unwrap_err();
        assert!(e.contains("Cannot resolve -whitebind address"), "{e}");
        let e = wb("127.0.0.1").unwrap_err();
        assert!(e.contains("Need to specify a port with -whitebind"), "{e}");
        assert!(wb("").is_err());

        // No permission flags: implicit (backward compatibility).
        let mut p = wb("1.2.3.4:32").unwrap();
        assert_eq!(p.m_flags, F::IMPLICIT);
        assert!(has_flag(p.m_flags, F::IMPLICIT));
        clear_flag(&mut p.m_flags, F::IMPLICIT);
        assert!(!has_flag(p.m_flags, F::IMPLICIT));
        assert_eq!(p.m_flags, F::NONE);
        add_flag(&mut p.m_flags, F::IMPLICIT);
        assert!(has_flag(p.m_flags, F::IMPLICIT));

        // One permission.
        assert_eq!(wb("bloom@1.2.3.4:32").unwrap().m_flags, F::BLOOM_FILTER);
        assert_eq!(wb("@1.2.3.4:32").unwrap().m_flags, F::NONE);

        // "noban" implies "download".
        let noban = wb("noban@1.2.3.4:32").unwrap();
        assert_eq!(noban.m_flags, F::NO_BAN);
        assert!(has_flag(noban.m_flags, F::DOWNLOAD));
        assert!(has_flag(noban.m_flags, F::NO_BAN));
        // "noban,download" and "download,noban" are "noban".
        assert_eq!(
            wb("noban,download@1.2.3.4:32").unwrap().m_flags,
            noban.m_flags
        );
        assert_eq!(
            wb("download,noban@1.2.3.4:32").unwrap().m_flags,
            noban.m_flags
        );
        // "download" does not imply "noban".
        let download = wb("download@1.2.3.4:32").unwrap();
        assert_eq!(download.m_flags, F::DOWNLOAD);
        assert!(has_flag(download.m_flags, F::DOWNLOAD));
        assert!(!has_flag(download.m_flags, F::NO_BAN));

        // Several flags; forcerelay implies relay.
        assert_eq!(
            wb("bloom,forcerelay@1.2.3.4:32").unwrap().m_flags,
            F::BLOOM_FILTER | F::FORCE_RELAY | F::RELAY
        );
        assert_eq!(
            wb("bloom,relay,noban@1.2.3.4:32").unwrap().m_flags,
            F::BLOOM_FILTER | F::RELAY | F::NO_BAN
        );
        assert!(wb("bloom,forcerelay,noban@1.2.3.4:32").is_ok());
        assert_eq!(wb("all@1.2.3.4:32").unwrap().m_flags, F::ALL);

        // Duplicates allowed.
        assert_eq!(
            wb("bloom,relay,noban,noban@1.2.3.4:32").unwrap().m_flags,
            F::BLOOM_FILTER | F::RELAY | F::NO_BAN | F::DOWNLOAD
        );
        // Empty entries allowed.
        assert_eq!(
            wb("bloom,relay,,noban@1.2.3.4:32").unwrap().m_flags,
            F::BLOOM_FILTER | F::RELAY | F::NO_BAN
        );
        assert_eq!(wb(",@1.2.3.4:32").unwrap().m_flags, F::NONE);
        assert_eq!(wb(",,@1.2.3.4:32").unwrap().m_flags, F::NONE);

        let e = wb("out,forcerelay@1.2.3.4:32").unwrap_err();
        assert!(
            e.contains("whitebind may only be used for incoming connections (\"out\" was passed)"),
            "{e}"
        );

        // Invalid flag.
        let e = wb("bloom,forcerelay,oopsie@1.2.3.4:32").unwrap_err();
        assert!(e.contains("Invalid P2P permission"), "{e}");

        // Netmask error.
        let e =
            NetWhitelistPermissions::try_parse("bloom,forcerelay,noban@1.2.3.4:32").unwrap_err();
        assert!(e.contains("Invalid netmask specified in -whitelist"), "{e}");

        // Whitelist happy path.
        let (w, _) = NetWhitelistPermissions::try_parse("noban@1.2.3.4").unwrap();
        assert_eq!(w.m_flags, F::NO_BAN);
        assert!(has_flag(w.m_flags, F::NO_BAN));

        let (w, _) =
            NetWhitelistPermissions::try_parse("bloom,forcerelay,noban,relay@1.2.3.4/32").unwrap();
        assert_eq!(
            w.m_flags,
            F::BLOOM_FILTER | F::FORCE_RELAY | F::NO_BAN | F::RELAY
        );
        assert_eq!(w.m_subnet.to_string(), "1.2.3.4/32");
        assert!(NetWhitelistPermissions::try_parse(
            "bloom,forcerelay,noban,relay,mempool@1.2.3.4/32"
        )
        .is_ok());
        let (_, d) = NetWhitelistPermissions::try_parse("in,relay@1.2.3.4").unwrap();
        assert_eq!(d, ConnectionDirection::IN);
        let (_, d) = NetWhitelistPermissions::try_parse("out,bloom@1.2.3.4").unwrap();
        assert_eq!(d, ConnectionDirection::OUT);
        let (_, d) = NetWhitelistPermissions::try_parse("in,out,bloom@1.2.3.4").unwrap();
        assert_eq!(d, ConnectionDirection::BOTH);

        let strings = to_strings(F::ALL);
        assert_eq!(strings.len(), 7);
        for s in [
            "bloomfilter",
            "forcerelay",
            "relay",
            "noban",
            "mempool",
            "download",
            "addr",
        ] {
            assert!(strings.contains(&s), "{s}");
        }
    }

    /// Core's error texts for the remaining parse failures.
    #[test]
    fn direction_only_and_default_direction() {
        let e = NetWhitelistPermissions::try_parse("in@1.2.3.4").unwrap_err();
        assert_eq!(e, "Only direction was set, no permissions: 'in@1.2.3.4'");
        let (w, d) = NetWhitelistPermissions::try_parse("1.2.3.0/24").unwrap();
        assert_eq!((w.m_flags, d), (F::IMPLICIT, ConnectionDirection::IN));
        assert!(w
            .m_subnet
            .matches(&netbase::lookup_numeric("1.2.3.77", 0).addr));
        let p = wb("noban@[::1]:8333").unwrap();
        assert_eq!(p.m_service.to_string_addr_port(), "[::1]:8333");
        assert_eq!(
            wb("noban@nonsense:1").unwrap_err(),
            "Cannot resolve -whitebind address: 'nonsense:1'"
        );
        assert_eq!(
            wb("@127.0.0.1").unwrap_err(),
            "Need to specify a port with -whitebind: '127.0.0.1'"
        );
    }

    /// Port of CConnman::AddWhitelistPermissionFlags's behaviour: matching ranges add their
    /// flags, an implicit entry becomes the legacy set.
    #[test]
    fn whitelist_flags_for_an_address() {
        let ranges: Vec<NetWhitelistPermissions> =
            ["addr@10.0.0.0/8", "10.1.0.0/16", "noban@192.168.0.1"]
                .iter()
                .map(|s| NetWhitelistPermissions::try_parse(s).unwrap().0)
                .collect();
        let a = |s: &str| netbase::lookup_numeric(s, 0).addr;
        let mut f = F::NONE;
        add_whitelist_permission_flags(&mut f, &a("10.2.3.4"), &ranges, true, false);
        assert_eq!(f, F::ADDR);
        let mut f = F::NONE;
        add_whitelist_permission_flags(&mut f, &a("10.1.3.4"), &ranges, true, false);
        assert_eq!(f, F::ADDR | F::NO_BAN | F::MEMPOOL | F::RELAY);
        assert!(!has_flag(f, F::IMPLICIT));
        let mut f = F::NONE;
        add_whitelist_permission_flags(&mut f, &a("10.1.3.4"), &ranges, false, true);
        assert_eq!(f, F::ADDR | F::NO_BAN | F::MEMPOOL | F::FORCE_RELAY);
        let mut f = F::NONE;
        add_whitelist_permission_flags(&mut f, &a("172.16.0.1"), &ranges, true, false);
        assert_eq!(f, F::NONE);
        // A whitebind's implicit flag is resolved the same way.
        let mut f = F::IMPLICIT;
        add_whitelist_permission_flags(&mut f, &a("172.16.0.1"), &[], true, false);
        assert_eq!(to_strings(f), vec!["noban", "relay", "mempool", "download"]);
    }
}
