//! Start-up and shutdown: a port of bitcoind.cpp (`main`, `ParseArgs`, `ProcessInitCommands`,
//! `AppInit`) and of the P2P part of init.cpp (`SetupServerArgs`, `InitParameterInteraction`,
//! `AppInitParameterInteraction`, `AppInitMain`, `Shutdown`) and common/init.cpp (`InitConfig`).
//!
//! The option values are turned into a [`NodeOptions`] here; [`crate::run`] builds the
//! connection manager from it. No protocol decision is taken in this file.

use std::path::Path;
use std::sync::Arc;

use crate::args::{
    flags, help_requested, setup_help_options, ArgsManager, OptionsCategory, CLIENT_BINARY,
    KNOWN_CHAIN_NAMES, LOGOS_CONF_FILENAME,
};
use crate::datadir::{self, DataDirs};
use crate::logging::{self, DEFAULT_DEBUGLOGFILE, DEFAULT_LOGIPS, DEFAULT_LOGTIMESTAMPS};

/// Version printed by `-version` and `-help`.
pub const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `-maxconnections` default (net's DEFAULT_MAX_PEER_CONNECTIONS, net.h).
pub const DEFAULT_MAX_PEER_CONNECTIONS: i64 = net::connman::DEFAULT_MAX_PEER_CONNECTIONS as i64;
/// Manual connections, counted apart (net's MAX_ADDNODE_CONNECTIONS, net.h).
pub const MAX_ADDNODE_CONNECTIONS: i64 = net::connman::MAX_ADDNODE_CONNECTIONS as i64;
/// `-maxreceivebuffer` default, in kB (net's DEFAULT_MAXRECEIVEBUFFER, net.h).
pub const DEFAULT_MAXRECEIVEBUFFER: i64 = net::connman::DEFAULT_MAXRECEIVEBUFFER as i64;
/// `-maxsendbuffer` default, in kB (net's DEFAULT_MAXSENDBUFFER, net.h).
pub const DEFAULT_MAXSENDBUFFER: i64 = net::connman::DEFAULT_MAXSENDBUFFER as i64;
/// `-timeout` default, in ms (net's DEFAULT_CONNECT_TIMEOUT_MS; Core's DEFAULT_CONNECT_TIMEOUT,
/// netbase.h).
pub const DEFAULT_CONNECT_TIMEOUT: i64 = net::connector::DEFAULT_CONNECT_TIMEOUT_MS as i64;
/// `-peertimeout` default, in seconds (net's DEFAULT_PEER_CONNECT_TIMEOUT, net.h).
pub const DEFAULT_PEER_CONNECT_TIMEOUT: i64 = net::connman::DEFAULT_PEER_CONNECT_TIMEOUT;
/// Port of DEFAULT_LISTEN (net.h).
pub const DEFAULT_LISTEN: bool = true;
/// `-dnsseed` default (net's DEFAULT_DNSSEED, net.h).
pub const DEFAULT_DNSSEED: bool = net::dnsseed::DEFAULT_DNSSEED;
/// `-fixedseeds` default (net's DEFAULT_FIXEDSEEDS, net.h).
pub const DEFAULT_FIXEDSEEDS: bool = net::dnsseed::DEFAULT_FIXEDSEEDS;
/// `-forcednsseed` default (net's DEFAULT_FORCEDNSSEED, net.h).
pub const DEFAULT_FORCEDNSSEED: bool = net::dnsseed::DEFAULT_FORCEDNSSEED;
/// `-checkaddrman` default (addrman's DEFAULT_ADDRMAN_CONSISTENCY_CHECKS, addrman.h).
pub const DEFAULT_ADDRMAN_CONSISTENCY_CHECKS: i64 =
    addrman::DEFAULT_ADDRMAN_CONSISTENCY_CHECKS as i64;
/// `-bantime` default, in seconds (addrman's DEFAULT_MISBEHAVING_BANTIME, banman.h).
pub const DEFAULT_MISBEHAVING_BANTIME: i64 = addrman::banman::DEFAULT_MISBEHAVING_BANTIME;

/// Port of TEST_OPTIONS_DOC (common/args.cpp): the values `-test=` accepts, each with its
/// meaning in parentheses.
pub const TEST_OPTIONS_DOC: [&str; 3] = [
    "addrman (use deterministic addrman)",
    "loopbackonly (never dial an address outside 127.0.0.0/8 and ::1)",
    "loopbacknotlocal (treat loopback peers as non-local when deciding on misbehaviour)",
];

/// Port of HasTestOption (common/args.cpp).
pub fn has_test_option(args: &ArgsManager, option: &str) -> bool {
    args.get_args("-test").iter().any(|o| o == option)
}

/// Port of CBaseChainParams::RPCPort (chainparamsbase.cpp) by chain name (0 for an unknown name).
pub fn default_rpc_port(chain: &str) -> u16 {
    crate::run::chain_params(chain)
        .map(|p| p.rpc_port())
        .unwrap_or(0)
}

/// Port of CChainParams::GetDefaultPort (chainparams.h) by chain name (0 for an unknown name).
pub fn default_p2p_port(chain: &str) -> u16 {
    crate::run::chain_params(chain)
        .map(|p| p.default_port)
        .unwrap_or(0)
}

fn port_list(f: impl Fn(&str) -> Option<u16>) -> String {
    KNOWN_CHAIN_NAMES
        .iter()
        .filter_map(|c| f(c).map(|p| format!("{c}: {p}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Port of SetupServerArgs (init.cpp), the P2P subset, together with AddLoggingArgs
/// (init/common.cpp) and SetupChainParamsBaseOptions (chainparamsbase.cpp). The help texts are
/// our own; names, flags, categories and defaults are bitcoind's.
pub fn setup_server_args(args: &mut ArgsManager) {
    use OptionsCategory::*;
    const ANY: u32 = flags::ALLOW_ANY;
    setup_help_options(args);

    // Options
    //DMITRY: -daemon/-daemonwait are not registered (an error on the command line, skipped in a config file); Core: init.cpp::SetupServerArgs and bitcoind.cpp::AppInit (fork_daemon); removed: run the
    // node under a service manager instead.
    args.add_arg("-version", "Print the version and exit", ANY, Options);
    args.add_arg(
        "-allowignoredconf",
        &format!("Only warn, instead of failing, when a {LOGOS_CONF_FILENAME} in the data directory is not the configuration file in use (default: 0)"),
        ANY,
        Options,
    );
    args.add_arg(
        "-conf=<file>",
        &format!("Read options from this configuration file, taken relative to the data directory unless absolute; a bitcoin.conf can be given here. Command line only (default: {LOGOS_CONF_FILENAME})"),
        ANY,
        Options,
    );
    args.add_arg(
        "-includeconf=<file>",
        "Also read this configuration file (relative to the data directory unless absolute). Configuration file only; on the command line only -noincludeconf is accepted",
        ANY,
        Options,
    );
    args.add_arg(
        "-datadir=<dir>",
        &format!(
            "Directory for the configuration file, the log and the address database (default: {})",
            datadir::get_default_data_dir().display()
        ),
        ANY | flags::DISALLOW_NEGATION,
        Options,
    );
    args.add_arg(
        "-debuglogfile=<file>",
        &format!("Where to write the log, relative to the network data directory unless absolute; -nodebuglogfile writes no log file (default: {DEFAULT_DEBUGLOGFILE})"),
        ANY,
        Options,
    );

    // Connection options
    args.add_arg(
        "-addnode=<ip>",
        &format!("Keep a connection to this node open, retrying when it drops. May be given several times; at most {MAX_ADDNODE_CONNECTIONS} such connections, not counted in -maxconnections"),
        ANY | flags::NETWORK_ONLY,
        Connection,
    );
    args.add_arg(
        "-bantime=<n>",
        &format!("Duration in seconds of a ban set without an explicit time (default: {DEFAULT_MISBEHAVING_BANTIME})"),
        ANY,
        Connection,
    );
    args.add_arg(
        "-bind=<addr>[:<port>]",
        "Listen on this address (default: 0.0.0.0 and ::). IPv6 as [host]:port. Implies -listen=1",
        ANY | flags::NETWORK_ONLY,
        Connection,
    );
    args.add_arg(
        "-connect=<ip>",
        "Connect only to this node (as -addnode; may be given several times); -noconnect or -connect=0 makes no automatic outbound connection. Implies -dnsseed=0 and -listen=0 unless set",
        ANY | flags::NETWORK_ONLY,
        Connection,
    );
    args.add_arg(
        "-discover",
        "Find the addresses of this host's own interfaces and advertise them (default: 1 when listening on all addresses and no -externalip)",
        ANY,
        Connection,
    );
    args.add_arg(
        "-dnsseed",
        &format!("Ask the network's DNS seeds for addresses when few are known (default: {}, 0 with -connect or -maxconnections=0)", u8::from(DEFAULT_DNSSEED)),
        ANY,
        Connection,
    );
    args.add_arg(
        "-externalip=<ip>",
        "Advertise this address as our own. May be given several times",
        ANY,
        Connection,
    );
    args.add_arg(
        "-fixedseeds",
        &format!(
            "Use the network's built-in seed addresses when the DNS seeds give none (default: {})",
            u8::from(DEFAULT_FIXEDSEEDS)
        ),
        ANY,
        Connection,
    );
    args.add_arg(
        "-forcednsseed",
        &format!(
            "Query the DNS seeds even when enough addresses are known (default: {})",
            u8::from(DEFAULT_FORCEDNSSEED)
        ),
        ANY,
        Connection,
    );
    args.add_arg(
        "-listen",
        &format!(
            "Accept inbound connections (default: {}, 0 with -connect or -maxconnections=0)",
            u8::from(DEFAULT_LISTEN)
        ),
        ANY,
        Connection,
    );
    args.add_arg(
        "-maxconnections=<n>",
        &format!("Keep at most <n> automatic connections (inbound and outbound) (default: {DEFAULT_MAX_PEER_CONNECTIONS}); -addnode connections have their own limit of {MAX_ADDNODE_CONNECTIONS}"),
        ANY,
        Connection,
    );
    args.add_arg(
        "-maxreceivebuffer=<n>",
        &format!("Per-connection receive buffer limit, <n>*1000 bytes (default: {DEFAULT_MAXRECEIVEBUFFER})"),
        ANY,
        Connection,
    );
    args.add_arg(
        "-maxsendbuffer=<n>",
        &format!(
            "Per-connection send buffer limit, <n>*1000 bytes (default: {DEFAULT_MAXSENDBUFFER})"
        ),
        ANY,
        Connection,
    );
    args.add_arg(
        "-logosrelay=<flood|announce>",
        "Not in bitcoind: how logos payloads spread on Logos networks: flood (push to every peer) or announce (announce, then send on request, on links where both ends offer it; the others keep the flood) (default: flood)",
        ANY,
        Connection,
    );
    args.add_arg(
        "-networkactive",
        "Allow all peer-to-peer network activity (default: 1)",
        ANY,
        Connection,
    );
    args.add_arg(
        "-onlynet=<net>",
        &format!("Open automatic outbound connections only to network <net> ({}); inbound and manual connections are not restricted. May be given several times", netbase::get_network_names(false).join(", ")),
        ANY,
        Connection,
    );
    args.add_arg(
        "-peertimeout=<n>",
        &format!("Seconds a new connection may stay idle (no handshake, no traffic) before it is dropped (minimum: 1, default: {DEFAULT_PEER_CONNECT_TIMEOUT})"),
        ANY | flags::DEBUG_ONLY,
        Connection,
    );
    args.add_arg(
        "-port=<port>",
        &format!(
            "Listen for peers on <port> (default: the network's port; {})",
            port_list(|c| Some(default_p2p_port(c)).filter(|p| *p != 0))
        ),
        ANY | flags::NETWORK_ONLY,
        Connection,
    );
    args.add_arg(
        "-seednode=<ip>",
        "Connect to this node to ask for addresses, then disconnect. Tried before the DNS seeds. May be given several times",
        ANY,
        Connection,
    );
    args.add_arg(
        "-test=<option>",
        &format!(
            "A test-only option (regtest and logosregtest only): {}. May be given several times",
            TEST_OPTIONS_DOC.join(", ")
        ),
        ANY | flags::DEBUG_ONLY,
        DebugTest,
    );
    args.add_arg(
        "-timeout=<n>",
        &format!("Milliseconds to wait for an outbound TCP connection to open (minimum: 1, default: {DEFAULT_CONNECT_TIMEOUT})"),
        ANY,
        Connection,
    );
    args.add_arg(
        "-whitebind=<[permissions@]addr>",
        &format!("Bind to the given address and add permission flags to the peers connecting to it. Use [host]:port notation for IPv6. Allowed permissions: {}. Specify multiple permissions separated by commas (default: download,noban,mempool,relay). Can be specified multiple times.", net::net_permissions::NET_PERMISSIONS_DOC.join(", ")),
        ANY,
        Connection,
    );
    args.add_arg(
        "-whitelist=<[permissions@]IP address or network>",
        "Add permission flags to the peers using the given IP address (e.g. 1.2.3.4) or CIDR-notated network (e.g. 1.2.3.0/24). Uses the same permissions as -whitebind. Additional flags \"in\" and \"out\" control whether permissions apply to incoming connections and/or manual (default: incoming only). Can be specified multiple times.",
        ANY,
        Connection,
    );

    // Debugging/Testing options
    args.add_arg(
        "-uacomment=<cmt>",
        "Add a comment to the user agent we announce. May be given several times",
        ANY,
        DebugTest,
    );
    args.add_arg(
        "-checkaddrman=<n>",
        &format!("Check the address manager's consistency every <n> operations; 0 disables (default: {DEFAULT_ADDRMAN_CONSISTENCY_CHECKS})"),
        ANY | flags::DEBUG_ONLY,
        DebugTest,
    );
    args.add_arg(
        "-dumpaddressesinterval=<ms>",
        &format!("Write the address database every <ms> milliseconds instead of every {} minutes (for tests; the scheduler checks every 100 ms)", net::connman::DUMP_PEERS_INTERVAL.as_secs() / 60),
        ANY | flags::DEBUG_ONLY,
        DebugTest,
    );
    args.add_arg(
        "-debug=<category>",
        &format!("Write debug lines of <category> to the log (default: -nodebug). Without a category, or with 1 or all: every category; 0 or none: ignore the categories given before. Categories: {}. May be given several times", logging::log_categories_string()),
        ANY,
        DebugTest,
    );
    args.add_arg(
        "-debugexclude=<category>",
        "Leave out the debug lines of <category>, even with -debug=1. May be given several times; wins over -debug",
        ANY,
        DebugTest,
    );
    args.add_arg(
        "-help-debug",
        "Print this help including the debugging options, and exit",
        ANY,
        DebugTest,
    );
    args.add_arg(
        "-logips",
        &format!(
            "Show IP addresses in debug lines (default: {})",
            u8::from(DEFAULT_LOGIPS)
        ),
        ANY,
        DebugTest,
    );
    args.add_arg(
        "-loglevel=<level>",
        "Lowest level written for the categories enabled with -debug: info, debug or trace (default: debug). Info, warning and error lines are always written",
        ANY | flags::DISALLOW_NEGATION | flags::DISALLOW_ELISION | flags::DEBUG_ONLY,
        DebugTest,
    );
    args.add_arg(
        "-logtimemicros",
        "Give log timestamps to the microsecond (default: 0)",
        ANY | flags::DEBUG_ONLY,
        DebugTest,
    );
    args.add_arg(
        "-logtimestamps",
        &format!(
            "Start each log line with its time (default: {})",
            u8::from(DEFAULT_LOGTIMESTAMPS)
        ),
        ANY,
        DebugTest,
    );
    args.add_arg(
        "-printtoconsole",
        "Write the log to standard output as well (default: 1). -nodebuglogfile stops the log file",
        ANY,
        DebugTest,
    );

    // Chain selection options
    args.add_arg(
        "-chain=<chain>",
        &format!(
            "Use the network <chain> (default: logos). Values: {}",
            KNOWN_CHAIN_NAMES.join(", ")
        ),
        ANY,
        ChainParams,
    );
    args.add_arg(
        "-regtest",
        "Use Bitcoin's local regression test network; same as -chain=regtest",
        ANY | flags::DEBUG_ONLY,
        ChainParams,
    );
    args.add_arg(
        "-signet",
        "Use Bitcoin's signet network; same as -chain=signet",
        ANY,
        ChainParams,
    );
    args.add_arg(
        "-testnet",
        "Use Bitcoin's testnet3 network; same as -chain=test",
        ANY,
        ChainParams,
    );
    args.add_arg(
        "-testnet4",
        "Use Bitcoin's testnet4 network; same as -chain=testnet4",
        ANY,
        ChainParams,
    );

    // RPC server options (the rest are in crate::rpc::rpc_arg_specs).
    args.add_arg(
        "-rpcallowip=<ip>",
        "Accept JSON-RPC connections from this address or subnet (1.2.3.4, 1.2.3.4/24, 1.2.3.4/255.255.255.0, ::/0). May be given several times",
        ANY,
        Rpc,
    );
    args.add_arg(
        "-rpcbind=<addr>[:port]",
        "Listen for JSON-RPC connections on this address (default: 127.0.0.1 and ::1; ignored without -rpcallowip). May be given several times",
        ANY | flags::NETWORK_ONLY,
        Rpc,
    );
    args.add_arg(
        "-rpcpassword=<pw>",
        "Password for JSON-RPC connections",
        ANY | flags::SENSITIVE,
        Rpc,
    );
    args.add_arg(
        "-rpcport=<port>",
        &format!(
            "Listen for JSON-RPC connections on <port> (default: the network's RPC port; {})",
            port_list(|c| Some(default_rpc_port(c)).filter(|p| *p != 0))
        ),
        ANY | flags::NETWORK_ONLY,
        Rpc,
    );
    args.add_arg(
        "-rpcuser=<user>",
        "User name for JSON-RPC connections",
        ANY | flags::SENSITIVE,
        Rpc,
    );
}

/// Not in Core: a fresh [`ArgsManager`] with every option of the node registered (Core fills
/// the global `gArgs`).
pub fn server_args() -> ArgsManager {
    let mut args = ArgsManager::new();
    setup_server_args(&mut args);
    crate::rpc::add_rpc_args(&mut args);
    args
}

/// Port of ParseArgs (bitcoind.cpp) with common::InitConfig (common/init.cpp): parses the command
/// line, reads the config file, selects the network and creates the data directories.
/// Returns the chain name and the directories.
pub fn parse_args_and_config(
    args: &mut ArgsManager,
    argv: &[String],
) -> Result<(&'static str, DataDirs), String> {
    args.parse_parameters(argv)
        .map_err(|e| format!("Error parsing command line arguments: {e}"))?;
    let (chain, dirs) = init_config(args)?;
    // Loose tokens are refused.
    if let Some(tok) = args.command().first() {
        return Err(format!("Command line contains unexpected token '{tok}', see {CLIENT_BINARY} -h for a list of options."));
    }
    Ok((chain, dirs))
}

/// Port of common::InitConfig (common/init.cpp).
pub fn init_config(args: &mut ArgsManager) -> Result<(&'static str, DataDirs), String> {
    if !datadir::check_data_dir_option(args) {
        return Err(format!(
            "Specified data directory \"{}\" does not exist.",
            args.get_arg("-datadir", "")
        ));
    }
    let base = datadir::get_data_dir_base(args).ok_or_else(|| {
        format!(
            "Specified data directory \"{}\" does not exist.",
            args.get_arg("-datadir", "")
        )
    })?;
    // The config file named before reading it: a datadir= line in it may move the data
    // directory, but never makes another config file be read.
    let orig_config_path = crate::args::abs_path_for_config_val(
        &base,
        &args.get_path_arg("-conf", Path::new(LOGOS_CONF_FILENAME)),
    );
    args.read_config_files(&base, true)
        .map_err(|e| format!("Error reading configuration file: {e}"))?;
    // A datadir= line in the config file may have changed the directory.
    if !datadir::check_data_dir_option(args) {
        return Err(format!(
            "specified data directory \"{}\" does not exist.",
            args.get_arg("-datadir", "")
        ));
    }
    let chain = args.get_chain_type()?;
    args.select_config_network(chain);
    let dirs = datadir::create_data_dirs(args, chain)?;
    check_ignored_config(args, &base, &orig_config_path, &dirs)?;
    Ok((chain, dirs))
}

/// The ignored-config-file check of common::InitConfig (common/init.cpp): a
/// `logos-p2p.conf` in the data directory that is not the file being read is an error (a
/// warning with `-allowignoredconf`).
fn check_ignored_config(
    args: &ArgsManager,
    orig_datadir: &Path,
    orig_config_path: &Path,
    dirs: &DataDirs,
) -> Result<(), String> {
    let base_config_path = dirs.base.join(LOGOS_CONF_FILENAME);
    if !base_config_path.exists() {
        return Ok(());
    }
    let quoted = |p: &Path| format!("\"{}\"", p.display());
    if orig_config_path.as_os_str().is_empty() {
        log::info!(
            "Data directory {} contains a \"{LOGOS_CONF_FILENAME}\" file which is explicitly ignored using -noconf.",
            quoted(&dirs.base)
        );
        return Ok(());
    }
    let same = match (
        orig_config_path.canonicalize(),
        base_config_path.canonicalize(),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Ok(());
    }
    let cli_config_path = args.get_arg("-conf", "");
    let config_source = if cli_config_path.is_empty() {
        format!("data directory {}", quoted(orig_datadir))
    } else {
        format!("command line argument \"-conf={cli_config_path}\"")
    };
    let mut error = format!(
        "Data directory {base} contains a \"{LOGOS_CONF_FILENAME}\" file which is ignored, because a different configuration file {conf} from {config_source} is being used instead. Possible ways to address this would be to:\n- Delete or rename the \"{LOGOS_CONF_FILENAME}\" file in data directory {base}.\n- Change datadir= or conf= options to specify one configuration file, not two, and use includeconf= to include any other configuration files.",
        base = quoted(&dirs.base),
        conf = quoted(orig_config_path),
    );
    if args.get_bool_arg("-allowignoredconf", false) {
        log::warn!("{error}");
        Ok(())
    } else {
        error.push_str(
            "\n- Set allowignoredconf=1 option to treat this condition as a warning, not an error.",
        );
        Err(error)
    }
}

/// Port of ProcessInitCommands (bitcoind.cpp): the text of `-help` / `-version`, if asked for.
pub fn process_init_commands(args: &ArgsManager) -> Option<String> {
    let version = args.get_bool_arg("-version", false);
    if !help_requested(args) && !version {
        return None;
    }
    let mut usage = format!("Logos P2P daemon version v{CLIENT_VERSION}\n");
    if version {
        usage.push_str("Copyright (c) the logos-p2p developers. Distributed under the MIT software license.\nA port of the peer-to-peer layer of Bitcoin Core (MIT license).\n");
    } else {
        let intro = format!("{CLIENT_BINARY} runs the peer-to-peer layer of Bitcoin Core on its own: it finds peers, keeps their addresses, manages connections and relays Logos messages. It carries no transactions and no blocks.");
        usage.push('\n');
        usage.push_str(&crate::args::format_paragraph(&intro, 79, 0));
        usage.push_str(&format!("\n\nUsage: {CLIENT_BINARY} [options]\n\n"));
        usage.push_str(&args.get_help_message());
    }
    Some(usage)
}

/// Port of init::SetLoggingOptions (init/common.cpp): where and how to log.
pub fn init_logging(args: &ArgsManager, dirs: &DataDirs) {
    let log_file = if args.is_arg_negated("-debuglogfile") {
        None
    } else {
        let p = args.get_path_arg("-debuglogfile", Path::new(DEFAULT_DEBUGLOGFILE));
        Some(crate::args::abs_path_for_config_val(&dirs.net, &p))
    };
    logging::set_logging_options(
        log_file.as_deref(),
        args.get_bool_arg("-printtoconsole", true),
        args.get_bool_arg("-logtimestamps", DEFAULT_LOGTIMESTAMPS),
        args.get_bool_arg("-logtimemicros", false),
        args.get_bool_arg("-logips", DEFAULT_LOGIPS),
    );
    log_package_version();
}

/// Port of init::LogPackageVersion (init/common.cpp).
pub fn log_package_version() {
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    log::info!("Logos P2P version v{CLIENT_VERSION} ({build} build)");
}

/// Port of InitParameterInteraction (init.cpp), P2P rules: options implied by others.
pub fn init_parameter_interaction(args: &mut ArgsManager) {
    if !args.get_args("-bind").is_empty() && args.soft_set_bool_arg("-listen", true) {
        log::info!("parameter interaction: -bind set -> setting -listen=1");
    }
    if !args.get_args("-whitebind").is_empty() && args.soft_set_bool_arg("-listen", true) {
        log::info!("parameter interaction: -whitebind set -> setting -listen=1");
    }
    if !args.get_args("-connect").is_empty()
        || args.is_arg_negated("-connect")
        || args.get_int_arg("-maxconnections", DEFAULT_MAX_PEER_CONNECTIONS) <= 0
    {
        if args.soft_set_bool_arg("-dnsseed", false) {
            log::info!(
                "parameter interaction: -connect or -maxconnections=0 set -> setting -dnsseed=0"
            );
        }
        if args.soft_set_bool_arg("-listen", false) {
            log::info!(
                "parameter interaction: -connect or -maxconnections=0 set -> setting -listen=0"
            );
        }
    }
    if !args.get_bool_arg("-listen", DEFAULT_LISTEN) && args.soft_set_bool_arg("-discover", false) {
        log::info!("parameter interaction: -listen=0 -> setting -discover=0");
    }
    if !args.get_args("-externalip").is_empty() && args.soft_set_bool_arg("-discover", false) {
        log::info!("parameter interaction: -externalip set -> setting -discover=0");
    }
    let onlynets = args.get_args("-onlynet");
    if !onlynets.is_empty() {
        let clearnet_reachable = onlynets.iter().any(|n| {
            matches!(
                netbase::parse_network(n),
                netbase::Network::IPv4 | netbase::Network::IPv6
            )
        });
        if !clearnet_reachable && args.soft_set_bool_arg("-dnsseed", false) {
            log::info!(
                "parameter interaction: -onlynet excludes IPv4 and IPv6 -> setting -dnsseed=0"
            );
        }
    }
}

/// The P2P settings of one run, validated (what `AppInitParameterInteraction` and
/// `AppInitMain` compute from the options before building `CConnman::Options`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeOptions {
    /// Chain name (one of [`KNOWN_CHAIN_NAMES`]).
    pub chain: &'static str,
    /// Accept inbound connections.
    pub listen: bool,
    /// Port for listening and the default port of `-bind` without one.
    pub port: u16,
    /// `-bind` addresses.
    pub binds: Vec<netbase::CService>,
    /// Bind to 0.0.0.0 and :: (no `-bind`, no `-whitebind`).
    pub bind_on_any: bool,
    /// `-whitebind` entries.
    pub white_binds: Vec<net::net_permissions::NetWhitebindPermissions>,
    /// `-whitelist` entries for inbound peers (Core's `vWhitelistedRangeIncoming`).
    pub whitelist_incoming: Vec<net::net_permissions::NetWhitelistPermissions>,
    /// `-whitelist` entries with `out`, for manual connections (`vWhitelistedRangeOutgoing`).
    pub whitelist_outgoing: Vec<net::net_permissions::NetWhitelistPermissions>,
    /// `-connect` targets (empty with `-noconnect` / `-connect=0`).
    pub connect: Vec<String>,
    /// Whether automatic outbound connections from the address manager are made (false with
    /// any `-connect`, including `-noconnect`).
    pub use_addrman_outgoing: bool,
    /// `-addnode` targets.
    pub addnode: Vec<String>,
    /// `-seednode` targets.
    pub seednode: Vec<String>,
    /// `-dnsseed`.
    pub dnsseed: bool,
    /// `-forcednsseed`.
    pub forcednsseed: bool,
    /// `-fixedseeds`.
    pub fixedseeds: bool,
    /// `-maxconnections`.
    pub max_connections: i64,
    /// `-peertimeout`, seconds.
    pub peer_connect_timeout: i64,
    /// `-timeout`, milliseconds.
    pub connect_timeout_ms: i64,
    /// `-maxreceivebuffer` × 1000, bytes.
    pub receive_flood_size: u64,
    /// `-maxsendbuffer` × 1000, bytes.
    pub send_buffer_max_size: u64,
    /// `-discover`.
    pub discover: bool,
    /// `-externalip` addresses.
    pub externalip: Vec<netbase::CService>,
    /// `-onlynet` networks (empty = all).
    pub onlynet: Vec<netbase::Network>,
    /// How often the address database is written (Core's DUMP_PEERS_INTERVAL; the debug
    /// option `-dumpaddressesinterval=<ms>` shortens it).
    pub dump_addresses_interval: std::time::Duration,
    /// `-checkaddrman`.
    pub check_addrman: i32,
    /// `-bantime`, seconds.
    pub bantime: i64,
    /// `-networkactive`.
    pub network_active: bool,
    /// Not in bitcoind: `-logosrelay=announce` (the Stage 2 relay is offered).
    pub logos_relay_announce: bool,
    /// The user agent announced in `version` (Core's `strSubVersion`, with `-uacomment`s).
    pub user_agent: String,
    /// `-test=addrman`: deterministic address manager.
    pub deterministic_addrman: bool,
    /// `-test=loopbackonly`: refuse to dial anything but loopback.
    pub test_loopback_only: bool,
    /// `-test=loopbacknotlocal`: loopback peers count as non-local for misbehaviour.
    pub test_loopback_not_local: bool,
}

/// Client name in the user agent (Core's UA_NAME, "Satoshi").
pub const UA_NAME: &str = "logos-p2p";
/// Longest user agent (protocol's MAX_SUBVERSION_LENGTH, net_processing.h).
pub const MAX_SUBVERSION_LENGTH: usize = protocol::version::MAX_SUBVERSION_LENGTH;
/// Port of SAFE_CHARS_UA_COMMENT (util/strencodings.cpp): characters a user agent comment may
/// hold besides letters and digits.
pub const SAFE_CHARS_UA_COMMENT: &str = " .,;-_?@";

/// Port of SanitizeString (util/strencodings.cpp): keeps ASCII letters, digits and `extra`.
pub fn sanitize_string(s: &str, extra: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || extra.contains(*c))
        .collect()
}

/// Port of FormatSubVersion (clientversion.cpp): `/name:version(comment; comment)/`.
pub fn format_sub_version(name: &str, version: &str, comments: &[String]) -> String {
    let comments_str = if comments.is_empty() {
        String::new()
    } else {
        format!("({})", comments.join("; "))
    };
    format!("/{name}:{version}{comments_str}/")
}

/// The text of Core's BadPortWarning (init.cpp).
fn bad_port_warning(prefix: &str, port: u16) -> String {
    format!("{prefix} request to listen on port {port}. This port is considered \"bad\" and thus it is unlikely that any peer will connect to it. See doc/p2p-bad-ports.md for details and a full list.")
}

/// Port of CheckHostPortOptions (init.cpp). With `allow_port_zero` (the library, not the
/// daemon) `-port=0` and a `-bind` on port 0 are accepted: the system picks the port.
fn check_host_port_options(args: &ArgsManager, allow_port_zero: bool) -> Result<(), String> {
    for opt in ["-port", "-rpcport"] {
        if let Some(v) = args.get_arg_opt(opt) {
            match v.parse::<u16>() {
                Ok(n) if (n != 0 || (allow_port_zero && opt == "-port")) && !v.starts_with('+') => {
                }
                _ => return Err(format!("Invalid port specified in {opt}: '{v}'")),
            }
        }
    }
    for (opt, suffix_allowed) in [("-bind", true), ("-rpcbind", false)] {
        for value in args.get_args(opt) {
            let hostport = if suffix_allowed {
                match value.rfind('=') {
                    Some(i) => &value[..i],
                    None => value.as_str(),
                }
            } else {
                value.as_str()
            };
            let mut port = 0u16;
            let mut host = String::new();
            let valid = netbase::split_host_port(hostport, &mut port, &mut host)
                || (allow_port_zero && opt == "-bind" && hostport.ends_with(":0"));
            if !valid {
                return Err(format!("Invalid port specified in {opt}: '{value}'"));
            }
        }
    }
    Ok(())
}

/// Port of AppInitParameterInteraction (init.cpp) and the option handling of AppInitMain
/// (init.cpp), P2P part: checks the options and computes [`NodeOptions`]. Also applies the
/// logging categories (`-debug`, `-debugexclude`, `-loglevel`).
pub fn app_init_parameter_interaction(
    args: &ArgsManager,
    chain: &'static str,
    allow_port_zero: bool,
) -> Result<NodeOptions, String> {
    // Network-only options (-addnode, -connect, -port, ...) set in the default section of the
    // config file and nowhere else are an error on the non-main networks.
    let mut errors = String::new();
    for arg in args.get_unsuitable_section_only_args() {
        errors.push_str(&format!(
            "Config setting for {arg} only applied on {chain} network when in [{chain}] section.\n"
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if chain == "test" {
        log::info!("Warning: Support for testnet3 is deprecated and will be removed in an upcoming release. Consider switching to testnet4.");
    }
    let mut warnings = String::new();
    for section in args.get_unrecognized_sections() {
        warnings.push_str(&format!(
            "{}:{} Section [{}] is not recognized.\n",
            section.file, section.line, section.name
        ));
    }
    if !warnings.is_empty() {
        init_warning(&warnings);
    }

    let dnsseed = args.get_bool_arg("-dnsseed", DEFAULT_DNSSEED);
    let forcednsseed = args.get_bool_arg("-forcednsseed", DEFAULT_FORCEDNSSEED);
    if forcednsseed && !dnsseed {
        return Err("Cannot set -forcednsseed to true when setting -dnsseed to false.".to_string());
    }
    let listen = args.get_bool_arg("-listen", DEFAULT_LISTEN);
    let bind_args = args.get_args("-bind");
    let whitebind_args = args.get_args("-whitebind");
    let user_binds = bind_args.len() + whitebind_args.len();
    if user_binds > 0 && !listen {
        return Err("Cannot set -bind or -whitebind together with -listen=0".to_string());
    }
    let max_connections = args.get_int_arg("-maxconnections", DEFAULT_MAX_PEER_CONNECTIONS);
    if max_connections < 0 {
        return Err("-maxconnections must be greater or equal than zero".to_string());
    }

    logging::set_logging_categories(&args.get_args("-debug"), &args.get_args("-debugexclude"))?;
    logging::set_logging_level(&args.get_args("-loglevel"))?;

    let mut connect_timeout_ms = args.get_int_arg("-timeout", DEFAULT_CONNECT_TIMEOUT);
    if connect_timeout_ms <= 0 {
        connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT;
    }
    let peer_connect_timeout = args.get_int_arg("-peertimeout", DEFAULT_PEER_CONNECT_TIMEOUT);
    if peer_connect_timeout <= 0 {
        return Err("peertimeout must be a positive integer.".to_string());
    }

    let test_options = args.get_args("-test");
    if !test_options.is_empty() {
        //DMITRY: -test=loopbackonly refuses to dial any non-loopback address, -test=loopbacknotlocal lets loopback peers be discouraged; Core: init.cpp::AppInitParameterInteraction (-test=addrman, bip94); changed: two test-mode
        // guards added for DESIGN.md's "Safety rules for tests", and -test is also accepted on
        // logosregtest.
        if !matches!(chain, "regtest" | "logosregtest") {
            return Err("-test=<option> can only be used with regtest".to_string());
        }
        for option in &test_options {
            let known = TEST_OPTIONS_DOC
                .iter()
                .any(|doc| doc.split(" (").next() == Some(option.as_str()));
            if !known {
                init_warning(&format!(
                    "Unrecognised option \"{option}\" provided in -test=<option>."
                ));
            }
        }
    }

    check_host_port_options(args, allow_port_zero)?;

    let mut onlynet = Vec::new();
    for snet in args.get_args("-onlynet") {
        let net = netbase::parse_network(&snet);
        if net == netbase::Network::Unroutable {
            return Err(format!("Unknown network specified in -onlynet: '{snet}'"));
        }
        onlynet.push(net);
    }

    let port = args.get_int_arg("-port", i64::from(default_p2p_port(chain))) as u16;
    let mut binds = Vec::new();
    for bind in &bind_args {
        if bind.contains('=') {
            // -bind=<addr>=onion: no Tor support in this node.
            return Err(format!("Cannot resolve -bind address: '{bind}'"));
        }
        match netbase::lookup(bind, port, false, &netbase::no_dns) {
            Some(s) => {
                if netbase::is_bad_port(s.get_port()) {
                    init_warning(&bad_port_warning("-bind", s.get_port()));
                }
                binds.push(s);
            }
            None => return Err(format!("Cannot resolve -bind address: '{bind}'")),
        }
    }
    let mut white_binds = Vec::new();
    for str_bind in &whitebind_args {
        white_binds.push(net::net_permissions::NetWhitebindPermissions::try_parse(
            str_bind,
        )?);
    }
    // Without -bind and -whitebind: 0.0.0.0 and :: (init.cpp's bind_on_any).
    let bind_on_any = binds.is_empty() && white_binds.is_empty();
    if bind_on_any && args.is_arg_set("-port") && netbase::is_bad_port(port) {
        init_warning(&bad_port_warning("-port", port));
    }

    // Core looks -externalip up with GetListenPort(): the first -bind's port, else -port.
    let listen_port = binds.first().map_or(port, |b| b.get_port());
    let mut externalip = Vec::new();
    for ip in args.get_args("-externalip") {
        match netbase::lookup(&ip, listen_port, false, &netbase::no_dns) {
            Some(s) if s.is_valid() => externalip.push(s),
            _ => return Err(format!("Cannot resolve -externalip address: '{ip}'")),
        }
    }

    // Comments are sanitized per BIP-0014 and the whole user agent is bounded.
    let mut uacomments = Vec::new();
    for cmt in args.get_args("-uacomment") {
        if cmt != sanitize_string(&cmt, SAFE_CHARS_UA_COMMENT) {
            return Err(format!(
                "User Agent comment ({cmt}) contains unsafe characters."
            ));
        }
        uacomments.push(cmt);
    }
    let user_agent = format_sub_version(UA_NAME, CLIENT_VERSION, &uacomments);
    if user_agent.len() > MAX_SUBVERSION_LENGTH {
        return Err(format!("Total length of network version string ({}) exceeds maximum length ({MAX_SUBVERSION_LENGTH}). Reduce the number or size of uacomments.", user_agent.len()));
    }

    let mut whitelist_incoming = Vec::new();
    let mut whitelist_outgoing = Vec::new();
    for net in args.get_args("-whitelist") {
        let (subnet, direction) = net::net_permissions::NetWhitelistPermissions::try_parse(&net)?;
        if direction.has(net::net_permissions::ConnectionDirection::IN) {
            whitelist_incoming.push(subnet.clone());
        }
        if direction.has(net::net_permissions::ConnectionDirection::OUT) {
            whitelist_outgoing.push(subnet);
        }
    }

    let seednode = args.get_args("-seednode");
    let connect_args = args.get_args("-connect");
    let mut connect = Vec::new();
    let mut use_addrman_outgoing = true;
    if !connect_args.is_empty() || args.is_arg_negated("-connect") {
        use_addrman_outgoing = false;
        if connect_args.len() != 1 || connect_args[0] != "0" {
            connect = connect_args;
        }
        if !connect.is_empty() && !seednode.is_empty() {
            log::info!("-seednode is ignored when -connect is used");
        }
    }

    let logos_relay_announce = match args.get_arg("-logosrelay", "flood").as_str() {
        "flood" => false,
        "announce" => true,
        other => {
            return Err(format!(
                "Invalid -logosrelay '{other}': use flood or announce"
            ))
        }
    };

    Ok(NodeOptions {
        chain,
        listen,
        port,
        binds,
        bind_on_any,
        white_binds,
        whitelist_incoming,
        whitelist_outgoing,
        connect,
        use_addrman_outgoing,
        addnode: args.get_args("-addnode"),
        seednode,
        dnsseed,
        forcednsseed,
        fixedseeds: args.get_bool_arg("-fixedseeds", DEFAULT_FIXEDSEEDS),
        max_connections,
        peer_connect_timeout,
        connect_timeout_ms,
        receive_flood_size: 1000
            * args
                .get_int_arg("-maxreceivebuffer", DEFAULT_MAXRECEIVEBUFFER)
                .max(0) as u64,
        send_buffer_max_size: 1000
            * args
                .get_int_arg("-maxsendbuffer", DEFAULT_MAXSENDBUFFER)
                .max(0) as u64,
        discover: args.get_bool_arg("-discover", true),
        externalip,
        onlynet,
        dump_addresses_interval: dump_addresses_interval(args)?,
        check_addrman: args
            .get_int_arg("-checkaddrman", DEFAULT_ADDRMAN_CONSISTENCY_CHECKS)
            .clamp(0, i64::from(i32::MAX)) as i32,
        bantime: args.get_int_arg("-bantime", DEFAULT_MISBEHAVING_BANTIME),
        network_active: args.get_bool_arg("-networkactive", true),
        logos_relay_announce,
        user_agent,
        deterministic_addrman: has_test_option(args, "addrman"),
        test_loopback_only: has_test_option(args, "loopbackonly"),
        test_loopback_not_local: has_test_option(args, "loopbacknotlocal"),
    })
}

/// Port of init::StartLogging (init/common.cpp): opens the log and writes the start-up lines.
pub fn start_logging(args: &ArgsManager, dirs: &DataDirs) -> Result<(), String> {
    logging::log_instance().start_logging()?;
    if !args.get_bool_arg("-logtimestamps", DEFAULT_LOGTIMESTAMPS) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        log::info!("Startup time: {}", logging::format_iso8601_datetime(now));
    }
    log::info!(
        "Default data directory {}",
        datadir::get_default_data_dir().display()
    );
    log::info!("Using data directory {}", dirs.net.display());
    let conf = args.get_config_file_path().map(Path::to_path_buf);
    if args.is_arg_negated("-conf") {
        log::info!("Config file: <disabled>");
    } else if let Some(conf) = conf {
        if conf.is_dir() {
            log::warn!("Config file: {} (is directory, not file)", conf.display());
        } else if conf.exists() {
            log::info!("Config file: {}", conf.display());
        } else if args.is_arg_set("-conf") {
            log::warn!(
                "The specified config file {} does not exist",
                conf.display()
            );
        } else {
            log::info!("Config file: {} (not found, skipping)", conf.display());
        }
    }
    args.log_args();
    if args.is_arg_set("-datadir") {
        let d = args.get_path_arg("-datadir", Path::new(""));
        if !d.as_os_str().is_empty() && !d.is_absolute() {
            let cwd = std::env::current_dir().unwrap_or_default();
            log::info!("Warning: relative datadir option '{}' specified, which will be interpreted relative to the current working directory '{}'. This is fragile, because if {CLIENT_BINARY} is started in the future from a different location, it will be unable to locate the current data files. There could also be data loss if {CLIENT_BINARY} is started while in a temporary directory.", args.get_arg("-datadir", ""), cwd.display());
        }
    }
    Ok(())
}

/// Port of MIN_CORE_FDS (init.cpp): descriptors kept for everything but peers (no LevelDB here,
/// but LMDB, the log, the RPC server's sockets and the DNS resolver need some).
pub const MIN_CORE_FDS: i64 = 150;

/// Port of RaiseFileDescriptorLimit (util/fs_helpers.cpp): raise the soft limit of open files
/// towards `min_fd` (never above the hard limit); returns the limit now in force.
pub fn raise_file_descriptor_limit(min_fd: u64) -> u64 {
    match rlimit::increase_nofile_limit(min_fd) {
        Ok(n) => n,
        Err(e) => {
            log::warn!("Cannot raise the open-files limit to {min_fd}: {e}");
            rlimit::Resource::NOFILE
                .get()
                .map_or(min_fd, |(soft, _)| soft)
        }
    }
}

/// Port of the file-descriptor step of AppInitParameterInteraction (init.cpp): make room for
/// `max_connections` peers plus Core's reserve (MIN_CORE_FDS, the manual connections, the bound
/// sockets); when the system allows fewer, trim `-maxconnections` with Core's warning.
pub fn clamp_max_connections_to_fds(
    max_connections: i32,
    n_user_bind: usize,
) -> Result<i32, String> {
    let n_bind = n_user_bind.max(1) as i64;
    let min_required_fds = MIN_CORE_FDS + i64::from(net::connman::MAX_ADDNODE_CONNECTIONS) + n_bind;
    let wanted = i64::from(max_connections.max(0)) + min_required_fds;
    let available = raise_file_descriptor_limit(wanted as u64).min(i64::MAX as u64) as i64;
    if available < min_required_fds {
        return Err(format!(
            "Not enough file descriptors available. {available} available, {min_required_fds} required."
        ));
    }
    let n = (available - min_required_fds).min(i64::from(max_connections)) as i32;
    if n < max_connections {
        init_warning(&format!(
            "Reducing -maxconnections from {max_connections} to {n}, because of system limitations."
        ));
    }
    Ok(n)
}

/// Not in Core: the address-dump interval, `-dumpaddressesinterval=<ms>` (a debug option for
/// tests, like Core's hidden test options), else Core's DUMP_PEERS_INTERVAL.
fn dump_addresses_interval(args: &ArgsManager) -> Result<std::time::Duration, String> {
    if !args.is_arg_set("-dumpaddressesinterval") {
        return Ok(net::connman::DUMP_PEERS_INTERVAL);
    }
    match args.get_int_arg("-dumpaddressesinterval", 0) {
        ms if ms > 0 => Ok(std::time::Duration::from_millis(ms as u64)),
        _ => Err("-dumpaddressesinterval must be a positive number of milliseconds".to_string()),
    }
}

/// Port of InitError (node/interface_ui.cpp) with noui_ThreadSafeMessageBox (noui.cpp):
/// `Error: <message>` on stderr, and logged.
pub fn init_error(message: &str) {
    log::error!("{message}");
    eprintln!("Error: {message}");
}

/// Port of InitWarning (node/interface_ui.cpp) with noui_ThreadSafeMessageBox (noui.cpp):
/// `Warning: <message>` on stderr, and logged.
pub fn init_warning(message: &str) {
    log::warn!("{message}");
    eprintln!("Warning: {message}");
}

/// Port of AppInitServers (init.cpp): the HTTP server, the RPC table and the credentials (the
/// `.cookie` written in the network directory). `stop` requests the same shutdown as SIGTERM;
/// the init messages become the warm-up status (Core's
/// `uiInterface.InitMessage_connect(SetRPCWarmupStatus)`).
pub fn app_init_servers(
    args: &ArgsManager,
    dirs: &DataDirs,
    chain: &str,
    backend: Arc<dyn crate::rpc::RpcBackend>,
    shutdown: &crate::run::ShutdownSignal,
) -> Result<crate::rpc::RpcServer, String> {
    let mut opts =
        crate::rpc::RpcOptions::from_args(args, dirs.net.clone(), default_rpc_port(chain));
    opts.on_thread_panic = Some(shutdown.thread_panic_hook());
    let signal = shutdown.clone();
    let server = crate::rpc::RpcServer::start(opts, backend, Arc::new(move || signal.request()))?;
    let table = Arc::clone(server.table());
    crate::run::init_message_connect(Arc::new(move |m: &str| table.set_rpc_warmup_status(m)));
    Ok(server)
}

/// Port of bitcoind.cpp's `main` (with AppInit): parse, configure, start, wait for SIGINT /
/// SIGTERM, shut down. Returns the process exit status.
pub fn app_main(argv: &[String]) -> i32 {
    let mut args = server_args();
    let (chain, dirs) = match parse_args_and_config(&mut args, argv) {
        Ok(v) => v,
        Err(e) => {
            init_error(&e);
            if e.starts_with("Error parsing command line arguments") {
                eprintln!("See {CLIENT_BINARY} -help for the list of options.");
            }
            return 1;
        }
    };
    if let Some(text) = process_init_commands(&args) {
        print!("{text}");
        return 0;
    }
    // -server defaults to true for the daemon (bitcoind.cpp's AppInit).
    args.soft_set_bool_arg("-server", true);
    let startup_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    init_logging(&args, &dirs);
    init_parameter_interaction(&mut args);
    // Port of AppInitBasicSetup's signal handlers (init.cpp): SIGINT / SIGTERM request a
    // shutdown from here on.
    let shutdown = match crate::run::install_shutdown_signals() {
        Ok(s) => s,
        Err(e) => {
            init_error(&e);
            return 1;
        }
    };
    let opts = match app_init_parameter_interaction(&args, chain, false) {
        Ok(o) => o,
        Err(e) => {
            init_error(&e);
            return 1;
        }
    };
    // Port of AppInitLockDirectories (init.cpp): held until the process exits.
    let _datadir_lock = match datadir::lock_directory(&dirs.net) {
        Ok(l) => l,
        Err(e) => {
            init_error(&e);
            return 1;
        }
    };
    if let Err(e) = start_logging(&args, &dirs) {
        init_error(&e);
        return 1;
    }
    // Port of AppInitMain's step 4a (init.cpp): the RPC server starts in warm-up, taking the
    // init messages as its status, and serves calls once the node is up.
    let backend = Arc::new(crate::rpc_backend::NodeRpcBackend::new(startup_time));
    let rpc = if args.get_bool_arg("-server", false) {
        match app_init_servers(&args, &dirs, chain, backend.clone(), &shutdown) {
            Ok(server) => Some(server),
            Err(e) => {
                // The other failures are in the log already, as Core logs them; a bad
                // -rpcallowip is a message box of its own in Core (InitHTTPAllowList).
                if e.starts_with("Invalid -rpcallowip") {
                    init_error(&e);
                }
                init_error("Unable to start HTTP server. See debug log for details.");
                logging::log_instance().flush();
                return 1;
            }
        }
    } else {
        None
    };
    let status = match crate::run::app_init_main(&opts, &dirs, &shutdown) {
        Ok(node) => {
            if let Some(handles) = node.rpc_handles() {
                backend.attach(handles);
            }
            if let Some(rpc) = &rpc {
                rpc.set_rpc_warmup_finished();
            }
            crate::run::wait_for_shutdown(&shutdown);
            crate::run::interrupt(&node, rpc.as_ref());
            let status = crate::run::shutdown(node, rpc);
            if shutdown.aborted() {
                1
            } else {
                status
            }
        }
        Err(e) => {
            init_error(&e);
            if let Some(rpc) = rpc {
                rpc.interrupt();
                rpc.stop();
            }
            1
        }
    };
    logging::log_instance().flush();
    status
}
