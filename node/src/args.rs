//! Command line and configuration file options: a port of Bitcoin Core's `ArgsManager`
//! (`common/args.{h,cpp}`, `common/config.cpp`) and of the settings merge rules of
//! `common/settings.cpp`.
//!
//! The semantics are bitcoind's, so that a `bitcoin.conf` and a bitcoind command line work here
//! unchanged for the P2P subset:
//! - `-name`, `-name=value`, `--name`, `-noname` (negation, stored as `false`), `-noname=0`
//!   (double negative, stored as `true`), repeated options give a list;
//! - unregistered names are refused ("Invalid parameter -foo");
//! - the configuration file has a default section and per-network sections (`[regtest]`, `[test]`,
//!   `[logos]`, …), or `section.name=value` keys; `NETWORK_ONLY` options set in the default section
//!   are ignored on the non-main networks;
//! - precedence: forced > command line > network section > default section; in the config file the
//!   first value wins, on the command line the last one.
//!
//! There is no read-write `settings.json`: the P2P node has nothing to persist there.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

/// Default name of the configuration file, looked up in the base data directory
/// (bitcoind: `bitcoin.conf`; a `bitcoin.conf` can be given with `-conf=<path>`).
pub const LOGOS_CONF_FILENAME: &str = "logos-p2p.conf";

/// Name of the binary, used in `-help` and in error hints.
pub const CLIENT_BINARY: &str = "logos-p2pd";

/// Validation and interpretation flags of a registered option (Core's `ArgsManager::Flags`).
pub mod flags {
    /// No validation of the value.
    pub const ALLOW_ANY: u32 = 0x01;
    /// `-nofoo` is refused.
    pub const DISALLOW_NEGATION: u32 = 0x20;
    /// `-foo` without `=value` is refused.
    pub const DISALLOW_ELISION: u32 = 0x40;
    /// Shown by `-help-debug` only.
    pub const DEBUG_ONLY: u32 = 0x100;
    /// A value in the default section of the config file is ignored on networks other than the
    /// main ones, so that one config file can serve several networks.
    pub const NETWORK_ONLY: u32 = 0x200;
    /// The value is secret (a password): written as `****` by [`super::ArgsManager::log_args`].
    pub const SENSITIVE: u32 = 0x400;
    /// A sub-command (unused by the node; kept so the flag values match Core's).
    pub const COMMAND: u32 = 0x800;
}

/// Groups of options in `-help`, in Core's order (`OptionsCategory`, the subset the node uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OptionsCategory {
    /// "Options:"
    Options,
    /// "Connection options:"
    Connection,
    /// "Debugging/Testing options:"
    DebugTest,
    /// "Chain selection options:"
    ChainParams,
    /// "RPC server options:"
    Rpc,
    /// Accepted but never listed (`-h`, `-?`).
    Hidden,
}

impl OptionsCategory {
    /// Port of the category switch of ArgsManager::GetHelpMessage (common/args.cpp): the group's
    /// heading in `-help`.
    pub fn heading(self) -> Option<&'static str> {
        match self {
            OptionsCategory::Options => Some("Options:"),
            OptionsCategory::Connection => Some("Connection options:"),
            OptionsCategory::DebugTest => Some("Debugging/Testing options:"),
            OptionsCategory::ChainParams => Some("Chain selection options:"),
            OptionsCategory::Rpc => Some("RPC server options:"),
            OptionsCategory::Hidden => None,
        }
    }
}

/// One value of a setting (Core's `common::SettingsValue` restricted to what the command line
/// and the config file can produce: nothing, a boolean from a negation, or a string).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum SettingsValue {
    /// Not set.
    #[default]
    Null,
    /// `false` from `-nofoo`, `true` from the double negative `-nofoo=0`.
    Bool(bool),
    /// `-foo=value` (and `-foo` gives the empty string).
    Str(String),
}

impl SettingsValue {
    /// Port of UniValue::isNull (univalue.h).
    pub fn is_null(&self) -> bool {
        matches!(self, SettingsValue::Null)
    }

    /// Port of UniValue::isFalse (univalue.h): the mark of a negated setting.
    pub fn is_false(&self) -> bool {
        matches!(self, SettingsValue::Bool(false))
    }

    /// Port of UniValue::isTrue (univalue.h).
    pub fn is_true(&self) -> bool {
        matches!(self, SettingsValue::Bool(true))
    }

    /// Port of UniValue::write (univalue_write.cpp): the JSON text (`null`, `false`, `"text"`).
    pub fn write(&self) -> String {
        match self {
            SettingsValue::Null => "null".to_string(),
            SettingsValue::Bool(b) => b.to_string(),
            SettingsValue::Str(s) => json_quote(s),
        }
    }
}

fn json_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A key split into section, name and negation (Core's `KeyInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyInfo {
    /// Option name without dash and without `no`.
    pub name: String,
    /// Network section given as `section.name`, or empty.
    pub section: String,
    /// The key started with `no`.
    pub negated: bool,
}

/// A `[section]` (or `section.key`) seen in a config file (Core's `SectionInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionInfo {
    /// Section name.
    pub name: String,
    /// File it was read from.
    pub file: String,
    /// Line number (from 1).
    pub line: usize,
}

/// A registered option, as listed by [`ArgsManager::options`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionInfo {
    /// Name with its leading dash, e.g. `-port`.
    pub name: String,
    /// What follows the name in `-help`, e.g. `=<port>` (may be empty).
    pub help_param: String,
    /// Description.
    pub help_text: String,
    /// [`flags`] bits.
    pub flags: u32,
    /// Group in `-help`.
    pub category: OptionsCategory,
}

#[derive(Clone, Debug)]
struct Arg {
    help_param: String,
    help_text: String,
    flags: u32,
}

/// Where a value comes from, in precedence order (Core's `Source` in settings.cpp; no
/// read-write settings file here).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Source {
    Forced,
    CommandLine,
    ConfigFileNetworkSection,
    ConfigFileDefaultSection,
}

/// All settings from all sources (Core's `common::Settings` without `rw_settings`).
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `force_set_arg` values.
    pub forced_settings: BTreeMap<String, SettingsValue>,
    /// Command line values, in order.
    pub command_line_options: BTreeMap<String, Vec<SettingsValue>>,
    /// Config file values by section (`""` is the default section), in file order.
    pub ro_config: BTreeMap<String, BTreeMap<String, Vec<SettingsValue>>>,
}

/// Number of leading values cancelled by the last negation (Core's `SettingsSpan::negated`).
fn span_negated(values: &[SettingsValue]) -> usize {
    values
        .iter()
        .rposition(SettingsValue::is_false)
        .map(|i| i + 1)
        .unwrap_or(0)
}

fn span_last_negated(values: &[SettingsValue]) -> bool {
    values.last().is_some_and(SettingsValue::is_false)
}

fn span_empty(values: &[SettingsValue]) -> bool {
    values.is_empty() || span_last_negated(values)
}

/// The values after the last negation.
fn span_values(values: &[SettingsValue]) -> &[SettingsValue] {
    &values[span_negated(values)..]
}

/// Port of MergeSettings (common/settings.cpp): visits the sources of one setting from the
/// highest precedence to the lowest.
fn merge_settings<F: FnMut(&[SettingsValue], Source)>(
    settings: &Settings,
    section: &str,
    name: &str,
    mut f: F,
) {
    if let Some(v) = settings.forced_settings.get(name) {
        f(std::slice::from_ref(v), Source::Forced);
    }
    if let Some(v) = settings.command_line_options.get(name) {
        f(v, Source::CommandLine);
    }
    if !section.is_empty() {
        if let Some(v) = settings.ro_config.get(section).and_then(|m| m.get(name)) {
            f(v, Source::ConfigFileNetworkSection);
        }
    }
    if let Some(v) = settings.ro_config.get("").and_then(|m| m.get(name)) {
        f(v, Source::ConfigFileDefaultSection);
    }
}

/// Port of common::GetSetting (common/settings.cpp): the effective value of one setting.
pub fn get_setting(
    settings: &Settings,
    section: &str,
    name: &str,
    ignore_default_section_config: bool,
    get_chain_type: bool,
) -> SettingsValue {
    let mut result = SettingsValue::Null;
    let mut done = false;
    merge_settings(settings, section, name, |span, source| {
        // A negation in the default section is applied even where other values from that
        // section are not.
        let never_ignore_negated_setting = span_last_negated(span);
        // Config files: the first value wins (except for the chain type flags).
        let reverse_precedence = matches!(
            source,
            Source::ConfigFileNetworkSection | Source::ConfigFileDefaultSection
        ) && !get_chain_type;
        // A negated -regtest/-testnet on the command line is silently skipped.
        let skip_negated_command_line = get_chain_type;

        if done {
            return;
        }
        if ignore_default_section_config
            && source == Source::ConfigFileDefaultSection
            && !never_ignore_negated_setting
        {
            return;
        }
        if skip_negated_command_line && span_last_negated(span) {
            return;
        }
        if !span_empty(span) {
            let vals = span_values(span);
            result = if reverse_precedence {
                vals[0].clone()
            } else {
                vals[vals.len() - 1].clone()
            };
            done = true;
        } else if span_last_negated(span) {
            result = SettingsValue::Bool(false);
            done = true;
        }
    });
    result
}

/// Port of common::GetSettingsList (common/settings.cpp): every value of a list setting.
pub fn get_settings_list(
    settings: &Settings,
    section: &str,
    name: &str,
    ignore_default_section_config: bool,
) -> Vec<SettingsValue> {
    let mut result = Vec::new();
    let mut done = false;
    let mut prev_negated_empty = false;
    merge_settings(settings, section, name, |span, source| {
        // Config file values come back after a command line negation that was followed by a
        // new value ("zombie" values), as in Core.
        let add_zombie_config_values = matches!(
            source,
            Source::ConfigFileNetworkSection | Source::ConfigFileDefaultSection
        ) && !prev_negated_empty;

        if ignore_default_section_config && source == Source::ConfigFileDefaultSection {
            return;
        }
        if !done || add_zombie_config_values {
            result.extend(span_values(span).iter().cloned());
        }
        done |= span_negated(span) > 0 || source == Source::Forced;
        prev_negated_empty |= span_last_negated(span) && result.is_empty();
    });
    result
}

/// Port of common::OnlyHasDefaultSectionSetting (common/settings.cpp).
pub fn only_has_default_section_setting(settings: &Settings, section: &str, name: &str) -> bool {
    let mut has_default_section_setting = false;
    let mut has_other_setting = false;
    merge_settings(settings, section, name, |span, source| {
        if span_empty(span) {
            return;
        }
        if source == Source::ConfigFileDefaultSection {
            has_default_section_setting = true;
        } else {
            has_other_setting = true;
        }
    });
    has_default_section_setting && !has_other_setting
}

/// Port of InterpretBool (common/args.cpp): empty is true, otherwise the integer value is not 0.
pub fn interpret_bool(value: &str) -> bool {
    if value.is_empty() {
        return true;
    }
    locale_independent_atoi(value) != 0
}

/// Port of LocaleIndependentAtoi<int64_t> (util/strencodings.h): C `atoi` semantics (leading
/// white space, optional sign, digits up to the first other character), saturating on overflow,
/// 0 when nothing parses.
pub fn locale_independent_atoi(value: &str) -> i64 {
    let s = value.trim_matches(|c: char| matches!(c, ' ' | '\x0c' | '\n' | '\r' | '\t' | '\x0b'));
    let mut s = s.as_bytes();
    if s.first() == Some(&b'+') {
        if s.get(1) == Some(&b'-') {
            return 0;
        }
        s = &s[1..];
    }
    let negative = s.first() == Some(&b'-');
    let digits_start = usize::from(negative);
    let digits: Vec<u8> = s[digits_start..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .copied()
        .collect();
    if digits.is_empty() {
        return 0;
    }
    let mut acc: i64 = 0;
    for d in digits {
        let d = i64::from(d - b'0');
        let next = acc.checked_mul(10).and_then(|v| {
            if negative {
                v.checked_sub(d)
            } else {
                v.checked_add(d)
            }
        });
        match next {
            Some(v) => acc = v,
            None => return if negative { i64::MIN } else { i64::MAX },
        }
    }
    acc
}

/// Port of SettingName (common/args.cpp): the name without its leading dash.
fn setting_name(arg: &str) -> &str {
    arg.strip_prefix('-').unwrap_or(arg)
}

/// Port of InterpretKey (common/args.cpp): splits `section.noname` into its parts.
pub fn interpret_key(key: &str) -> KeyInfo {
    let mut result = KeyInfo::default();
    let mut key = key;
    if let Some(dot) = key.find('.') {
        result.section = key[..dot].to_string();
        key = &key[dot + 1..];
    }
    if let Some(rest) = key.strip_prefix("no") {
        key = rest;
        result.negated = true;
    }
    result.name = key.to_string();
    result
}

/// Port of InterpretValue (common/args.cpp): turns a raw value into a setting value according
/// to the option's flags, or an error text.
pub fn interpret_value(
    key: &KeyInfo,
    value: Option<&str>,
    flags: u32,
) -> Result<SettingsValue, String> {
    if key.negated {
        if flags & flags::DISALLOW_NEGATION != 0 {
            return Err(format!(
                "Negating of -{} is meaningless and therefore forbidden",
                key.name
            ));
        }
        if let Some(v) = value {
            if !interpret_bool(v) {
                log::info!(
                    "Warning: parsed potentially confusing double-negative -{}={}",
                    key.name,
                    v
                );
                return Ok(SettingsValue::Bool(true));
            }
        }
        return Ok(SettingsValue::Bool(false));
    }
    if value.is_none() && flags & flags::DISALLOW_ELISION != 0 {
        return Err(format!(
            "Can not set -{} with no value. Please specify value with -{}=value.",
            key.name, key.name
        ));
    }
    Ok(SettingsValue::Str(value.unwrap_or("").to_string()))
}

/// Port of SettingToString (common/args.cpp).
pub fn setting_to_string(value: &SettingsValue) -> Option<String> {
    match value {
        SettingsValue::Null => None,
        SettingsValue::Bool(false) => Some("0".to_string()),
        SettingsValue::Bool(true) => Some("1".to_string()),
        SettingsValue::Str(s) => Some(s.clone()),
    }
}

/// Port of SettingToInt (common/args.cpp).
pub fn setting_to_int(value: &SettingsValue) -> Option<i64> {
    match value {
        SettingsValue::Null => None,
        SettingsValue::Bool(false) => Some(0),
        SettingsValue::Bool(true) => Some(1),
        SettingsValue::Str(s) => Some(locale_independent_atoi(s)),
    }
}

/// Port of SettingToBool (common/args.cpp).
pub fn setting_to_bool(value: &SettingsValue) -> Option<bool> {
    match value {
        SettingsValue::Null => None,
        SettingsValue::Bool(b) => Some(*b),
        SettingsValue::Str(s) => Some(interpret_bool(s)),
    }
}

/// The chain names `-chain=` accepts: Core's five and the three Logos networks.
pub const KNOWN_CHAIN_NAMES: [&str; 8] = [
    "main",
    "test",
    "testnet4",
    "signet",
    "regtest",
    "logos",
    "logostest",
    "logosregtest",
];

/// Chain used when no chain option is given.
pub const DEFAULT_CHAIN_NAME: &str = "logos";

/// Networks whose config section may inherit `NETWORK_ONLY` options from the default section
/// (Core: only `main`; here also the Logos main network, which is our default).
pub const MAIN_CHAIN_NAMES: [&str; 2] = ["main", "logos"];

/// Port of ArgsManager's chain selection result (`std::variant<ChainType, std::string>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainArg {
    /// One of [`KNOWN_CHAIN_NAMES`].
    Known(&'static str),
    /// `-chain=<name>` with a name we do not know.
    Unknown(String),
}

/// Port of Bitcoin Core's ArgsManager (common/args.h): registered options, parsed command line,
/// config file, and the merge rules between them.
#[derive(Clone, Debug)]
pub struct ArgsManager {
    settings: Settings,
    command: Vec<String>,
    network: String,
    network_only_args: BTreeSet<String>,
    available_args: BTreeMap<OptionsCategory, BTreeMap<String, Arg>>,
    config_sections: Vec<SectionInfo>,
    config_path: Option<PathBuf>,
    default_chain: &'static str,
}

impl Default for ArgsManager {
    fn default() -> Self {
        Self::new()
    }
}

impl ArgsManager {
    /// Port of ArgsManager::ArgsManager (common/args.cpp): no option registered; default chain
    /// [`DEFAULT_CHAIN_NAME`].
    pub fn new() -> Self {
        ArgsManager {
            settings: Settings::default(),
            command: Vec::new(),
            network: String::new(),
            network_only_args: BTreeSet::new(),
            available_args: BTreeMap::new(),
            config_sections: Vec::new(),
            config_path: None,
            default_chain: DEFAULT_CHAIN_NAME,
        }
    }

    /// Not in Core: the chain selected when no chain option is set (Core: always main; `"main"`
    /// gives bitcoind's behaviour).
    pub fn set_default_chain(&mut self, name: &'static str) {
        self.default_chain = name;
    }

    /// Not in Core: read-only view of every value from every source (Core's tests read
    /// `m_settings` directly).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Port of ArgsManager::GetCommand (common/args.cpp) when any command is accepted: the
    /// non-option arguments (the first one and everything after it).
    pub fn command(&self) -> &[String] {
        &self.command
    }

    /// Port of ArgsManager::AddArg (common/args.cpp): registers `-name` or `-name=<param>`.
    ///
    /// Panics if the option is already registered in that category (a programming error, as
    /// Core's assertion).
    pub fn add_arg(&mut self, name: &str, help: &str, flags: u32, cat: OptionsCategory) {
        assert_eq!(flags & flags::COMMAND, 0, "commands are not supported");
        let eq = name.find('=').unwrap_or(name.len());
        let arg_name = name[..eq].to_string();
        let previous = self.available_args.entry(cat).or_default().insert(
            arg_name.clone(),
            Arg {
                help_param: name[eq..].to_string(),
                help_text: help.to_string(),
                flags,
            },
        );
        assert!(previous.is_none(), "option {arg_name} registered twice");
        if flags & flags::NETWORK_ONLY != 0 {
            self.network_only_args.insert(arg_name);
        }
    }

    /// Port of ArgsManager::AddHiddenArgs (common/args.cpp).
    pub fn add_hidden_args(&mut self, names: &[&str]) {
        for name in names {
            self.add_arg(name, "", flags::ALLOW_ANY, OptionsCategory::Hidden);
        }
    }

    /// Port of ArgsManager::ClearArgs (common/args.h).
    pub fn clear_args(&mut self) {
        self.available_args.clear();
        self.network_only_args.clear();
    }

    /// Port of TestArgsManager::SetNetworkOnlyArg (test/argsman_tests.cpp): marks an option as
    /// network-only after registration.
    pub fn set_network_only_arg(&mut self, name: &str) {
        self.network_only_args.insert(name.to_string());
    }

    /// Port of the TestArgsManager constructor (test/argsman_tests.cpp): forgets the
    /// network-only marks.
    pub fn clear_network_only_args(&mut self) {
        self.network_only_args.clear();
    }

    /// Port of ArgsManager::GetArgFlags (common/args.cpp): flags of a registered `-name`.
    pub fn get_arg_flags(&self, name: &str) -> Option<u32> {
        self.available_args
            .values()
            .find_map(|m| m.get(name).map(|a| a.flags))
    }

    /// Not in Core: every registered option (hidden ones included), by category then name: the
    /// list the upper-layer API exposes as `options()`.
    pub fn options(&self) -> Vec<OptionInfo> {
        let mut out = Vec::new();
        for (cat, m) in &self.available_args {
            for (name, arg) in m {
                out.push(OptionInfo {
                    name: name.clone(),
                    help_param: arg.help_param.clone(),
                    help_text: arg.help_text.clone(),
                    flags: arg.flags,
                    category: *cat,
                });
            }
        }
        out
    }

    /// Port of ArgsManager::SelectConfigNetwork (common/args.cpp): the config section in use.
    pub fn select_config_network(&mut self, network: &str) {
        self.network = network.to_string();
    }

    /// Not in Core: the config section in use (Core's `m_network`; empty before a network is
    /// selected).
    pub fn network(&self) -> &str {
        &self.network
    }

    /// Port of ArgsManager::ParseParameters (common/args.cpp): `argv[0]` is the program name.
    pub fn parse_parameters<S: AsRef<str>>(&mut self, argv: &[S]) -> Result<(), String> {
        self.settings.command_line_options.clear();
        self.command.clear();
        let mut i = 1;
        while i < argv.len() {
            let raw = argv[i].as_ref();
            let (mut key, val) = match raw.find('=') {
                Some(p) => (&raw[..p], Some(&raw[p + 1..])),
                None => (raw, None),
            };
            if key == "-" {
                break;
            }
            if !key.starts_with('-') {
                // Non-option tokens end the options; the caller decides what to do with them.
                self.command
                    .extend(argv[i..].iter().map(|s| s.as_ref().to_string()));
                break;
            }
            // --foo is the same as -foo
            if key.len() > 1 && key.as_bytes()[1] == b'-' {
                key = &key[1..];
            }
            key = &key[1..];
            let keyinfo = interpret_key(key);
            let flags = self.get_arg_flags(&format!("-{}", keyinfo.name));
            let flags = match flags {
                Some(f) if keyinfo.section.is_empty() => f,
                _ => return Err(format!("Invalid parameter {raw}")),
            };
            let value = interpret_value(&keyinfo, val, flags)?;
            self.settings
                .command_line_options
                .entry(keyinfo.name)
                .or_default()
                .push(value);
            i += 1;
        }
        // -includeconf is for config files only; -noincludeconf is allowed.
        if let Some(includes) = self.settings.command_line_options.get("includeconf") {
            if let Some(first) = span_values(includes).first() {
                return Err(format!(
                    "-includeconf cannot be used from commandline; -includeconf={}",
                    first.write()
                ));
            }
        }
        Ok(())
    }

    /// Port of ArgsManager::UseDefaultSection (common/args.cpp).
    fn use_default_section(&self, arg: &str) -> bool {
        //DMITRY: NETWORK_ONLY options from the config file's default section apply on Logos main as on Bitcoin main; Core: common/args.cpp::ArgsManager::UseDefaultSection (main only); changed: Logos main
        // is the default network here.
        MAIN_CHAIN_NAMES.contains(&self.network.as_str()) || !self.network_only_args.contains(arg)
    }

    /// Port of ArgsManager::GetSetting (common/args.cpp).
    pub fn get_setting(&self, arg: &str) -> SettingsValue {
        get_setting(
            &self.settings,
            &self.network,
            setting_name(arg),
            !self.use_default_section(arg),
            false,
        )
    }

    /// Port of ArgsManager::GetSettingsList (common/args.cpp).
    pub fn get_settings_list(&self, arg: &str) -> Vec<SettingsValue> {
        get_settings_list(
            &self.settings,
            &self.network,
            setting_name(arg),
            !self.use_default_section(arg),
        )
    }

    /// Port of ArgsManager::GetArgs (common/args.cpp): every value of a list option.
    pub fn get_args(&self, arg: &str) -> Vec<String> {
        self.get_settings_list(arg)
            .iter()
            .filter_map(setting_to_string)
            .collect()
    }

    /// Port of ArgsManager::IsArgSet (common/args.cpp).
    pub fn is_arg_set(&self, arg: &str) -> bool {
        !self.get_setting(arg).is_null()
    }

    /// Port of ArgsManager::IsArgNegated (common/args.cpp).
    pub fn is_arg_negated(&self, arg: &str) -> bool {
        self.get_setting(arg).is_false()
    }

    /// Port of ArgsManager::GetArg (common/args.cpp), the overload with a default.
    pub fn get_arg(&self, arg: &str, default: &str) -> String {
        self.get_arg_opt(arg).unwrap_or_else(|| default.to_string())
    }

    /// Port of ArgsManager::GetArg (common/args.cpp), the overload returning an optional.
    pub fn get_arg_opt(&self, arg: &str) -> Option<String> {
        setting_to_string(&self.get_setting(arg))
    }

    /// Port of ArgsManager::GetIntArg (common/args.cpp), the overload with a default.
    pub fn get_int_arg(&self, arg: &str, default: i64) -> i64 {
        self.get_int_arg_opt(arg).unwrap_or(default)
    }

    /// Port of ArgsManager::GetIntArg (common/args.cpp), the overload returning an optional.
    pub fn get_int_arg_opt(&self, arg: &str) -> Option<i64> {
        setting_to_int(&self.get_setting(arg))
    }

    /// Port of ArgsManager::GetBoolArg (common/args.cpp), the overload with a default.
    pub fn get_bool_arg(&self, arg: &str, default: bool) -> bool {
        self.get_bool_arg_opt(arg).unwrap_or(default)
    }

    /// Port of ArgsManager::GetBoolArg (common/args.cpp), the overload returning an optional.
    pub fn get_bool_arg_opt(&self, arg: &str) -> Option<bool> {
        setting_to_bool(&self.get_setting(arg))
    }

    /// Port of ArgsManager::GetPathArg (common/args.cpp): the value as a lexically normalized
    /// path without trailing separator; `default` when unset or empty; empty when negated.
    pub fn get_path_arg(&self, arg: &str, default: &Path) -> PathBuf {
        if self.is_arg_negated(arg) {
            return PathBuf::new();
        }
        let s = self.get_arg(arg, "");
        if s.is_empty() {
            return default.to_path_buf();
        }
        lexically_normal(Path::new(&s))
    }

    /// Port of ArgsManager::SoftSetArg (common/args.cpp): sets only if not set yet.
    pub fn soft_set_arg(&mut self, arg: &str, value: &str) -> bool {
        if self.is_arg_set(arg) {
            return false;
        }
        self.force_set_arg(arg, value);
        true
    }

    /// Port of ArgsManager::SoftSetBoolArg (common/args.cpp).
    pub fn soft_set_bool_arg(&mut self, arg: &str, value: bool) -> bool {
        self.soft_set_arg(arg, if value { "1" } else { "0" })
    }

    /// Port of ArgsManager::ForceSetArg (common/args.cpp).
    pub fn force_set_arg(&mut self, arg: &str, value: &str) {
        self.settings.forced_settings.insert(
            setting_name(arg).to_string(),
            SettingsValue::Str(value.to_string()),
        );
    }

    /// Port of ArgsManager::GetChainArg (common/args.cpp): the chain from `-regtest`,
    /// `-testnet`, `-testnet4`, `-signet`, `-chain=`; an error if more than one is given.
    pub fn get_chain_arg(&self) -> Result<ChainArg, String> {
        let get_net = |arg: &str| -> bool {
            let value = get_setting(&self.settings, "", setting_name(arg), false, true);
            match value {
                SettingsValue::Null => false,
                SettingsValue::Bool(b) => b,
                SettingsValue::Str(s) => interpret_bool(&s),
            }
        };
        let regtest = get_net("-regtest");
        let signet = get_net("-signet");
        let testnet = get_net("-testnet");
        let testnet4 = get_net("-testnet4");
        let chain_arg = self.get_arg_opt("-chain");
        let count = usize::from(chain_arg.is_some())
            + usize::from(regtest)
            + usize::from(signet)
            + usize::from(testnet)
            + usize::from(testnet4);
        if count > 1 {
            return Err("Invalid combination of -regtest, -signet, -testnet, -testnet4 and -chain. Can use at most one.".to_string());
        }
        if let Some(name) = chain_arg {
            return Ok(match KNOWN_CHAIN_NAMES.iter().find(|n| **n == name) {
                Some(n) => ChainArg::Known(n),
                None => ChainArg::Unknown(name),
            });
        }
        Ok(ChainArg::Known(if regtest {
            "regtest"
        } else if signet {
            "signet"
        } else if testnet {
            "test"
        } else if testnet4 {
            "testnet4"
        } else {
            self.default_chain
        }))
    }

    /// Port of ArgsManager::GetChainType (common/args.cpp): a known chain name or an error.
    pub fn get_chain_type(&self) -> Result<&'static str, String> {
        match self.get_chain_arg()? {
            ChainArg::Known(n) => Ok(n),
            ChainArg::Unknown(s) => Err(format!("Unknown chain {s}.")),
        }
    }

    /// Port of ArgsManager::GetChainTypeString (common/args.cpp).
    pub fn get_chain_type_string(&self) -> Result<String, String> {
        Ok(match self.get_chain_arg()? {
            ChainArg::Known(n) => n.to_string(),
            ChainArg::Unknown(s) => s,
        })
    }

    /// Port of ArgsManager::GetUnsuitableSectionOnlyArgs (common/args.cpp): network-only options
    /// set only in the default section while a non-main network is selected (so ignored).
    pub fn get_unsuitable_section_only_args(&self) -> BTreeSet<String> {
        if self.network.is_empty() || MAIN_CHAIN_NAMES.contains(&self.network.as_str()) {
            return BTreeSet::new();
        }
        self.network_only_args
            .iter()
            .filter(|arg| {
                only_has_default_section_setting(&self.settings, &self.network, setting_name(arg))
            })
            .cloned()
            .collect()
    }

    /// Port of ArgsManager::GetUnrecognizedSections (common/args.cpp).
    pub fn get_unrecognized_sections(&self) -> Vec<SectionInfo> {
        self.config_sections
            .iter()
            .filter(|s| !KNOWN_CHAIN_NAMES.contains(&s.name.as_str()))
            .cloned()
            .collect()
    }

    /// Port of ArgsManager::ReadConfigStream (common/config.cpp): parses config file text.
    /// Unknown keys are an error, or (with `ignore_invalid_keys`) logged and skipped.
    pub fn read_config_stream(
        &mut self,
        text: &str,
        filepath: &str,
        ignore_invalid_keys: bool,
    ) -> Result<(), String> {
        let options = get_config_options(text, filepath, &mut self.config_sections)?;
        for (key, value) in options {
            let info = interpret_key(&key);
            let flags = self.get_arg_flags(&format!("-{}", info.name));
            is_conf_supported(&info)?;
            match flags {
                Some(flags) => {
                    let v = interpret_value(&info, Some(&value), flags)?;
                    self.settings
                        .ro_config
                        .entry(info.section.clone())
                        .or_default()
                        .entry(info.name.clone())
                        .or_default()
                        .push(v);
                }
                None if ignore_invalid_keys => {
                    log::info!("Ignoring unknown configuration value {key}");
                }
                None => return Err(format!("Invalid configuration value {key}")),
            }
        }
        Ok(())
    }

    /// Port of the start of TestArgsManager::ReadConfigString (test/argsman_tests.cpp): empties
    /// what the config files gave.
    pub fn clear_config(&mut self) {
        self.settings.ro_config.clear();
        self.config_sections.clear();
    }

    /// Port of ArgsManager::ReadConfigFiles (common/config.cpp): reads `-conf` (default
    /// [`LOGOS_CONF_FILENAME`] in `base_datadir`) and the files its `includeconf=` lines name.
    /// A missing default file is fine; a missing `-conf` file is an error.
    pub fn read_config_files(
        &mut self,
        base_datadir: &Path,
        ignore_invalid_keys: bool,
    ) -> Result<(), String> {
        self.clear_config();
        let conf = self.get_path_arg("-conf", Path::new(LOGOS_CONF_FILENAME));
        let conf_path = abs_path_for_config_val(base_datadir, &conf);
        self.config_path = Some(conf_path.clone());
        if conf_path.as_os_str().is_empty() {
            return Ok(()); // -noconf
        }
        if conf_path.is_dir() {
            return Err(format!(
                "Config file \"{}\" is a directory.",
                conf_path.display()
            ));
        }
        let text = match std::fs::read_to_string(&conf_path) {
            Ok(t) => t,
            Err(_) if self.is_arg_set("-conf") => {
                return Err(format!(
                    "specified config file \"{}\" could not be opened.",
                    conf_path.display()
                ))
            }
            Err(_) => return Ok(()),
        };
        self.read_config_stream(&text, &conf_path.display().to_string(), ignore_invalid_keys)?;

        // -noincludeconf on the command line disables includes.
        if self
            .settings
            .command_line_options
            .contains_key("includeconf")
        {
            return Ok(());
        }
        let chain_id = self.get_chain_type_string()?;
        let mut names = Vec::new();
        for section in [chain_id.as_str(), ""] {
            if let Some(values) = self
                .settings
                .ro_config
                .get(section)
                .and_then(|m| m.get("includeconf"))
            {
                names.extend(span_values(values).iter().filter_map(setting_to_string));
            }
        }
        let before: usize = self.include_count(&chain_id);
        for name in &names {
            let path = abs_path_for_config_val(base_datadir, Path::new(name));
            if path.is_dir() {
                return Err(format!(
                    "Included config file \"{}\" is a directory.",
                    path.display()
                ));
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|_| format!("Failed to include configuration file {name}"))?;
            self.read_config_stream(&text, name, ignore_invalid_keys)?;
            log::info!("Included configuration file {name}");
        }
        if self.include_count(&chain_id) != before {
            log::warn!("-includeconf cannot be used from included files; ignoring them");
        }
        Ok(())
    }

    fn include_count(&self, chain_id: &str) -> usize {
        [chain_id, ""]
            .iter()
            .filter_map(|s| self.settings.ro_config.get(*s))
            .filter_map(|m| m.get("includeconf"))
            .map(Vec::len)
            .sum()
    }

    /// Port of ArgsManager::GetConfigFilePath (common/args.cpp): set by
    /// [`Self::read_config_files`].
    pub fn get_config_file_path(&self) -> Option<&Path> {
        self.config_path.as_deref()
    }

    /// Port of ArgsManager::GetHelpMessage (common/args.cpp): every group with its options;
    /// `DEBUG_ONLY` options only with `-help-debug`.
    pub fn get_help_message(&self) -> String {
        let show_debug = self.get_bool_arg("-help-debug", false);
        let mut usage = String::new();
        for (cat, m) in &self.available_args {
            let Some(heading) = cat.heading() else {
                break;
            };
            usage.push_str(&help_message_group(heading));
            for (name, arg) in m {
                if show_debug || arg.flags & flags::DEBUG_ONLY == 0 {
                    let shown = format!("{name}{}", arg.help_param);
                    usage.push_str(&help_message_opt(&shown, &arg.help_text));
                }
            }
        }
        usage
    }

    /// Port of ArgsManager::LogArgs (common/args.cpp): logs config file and command line
    /// values, secrets as `****`.
    pub fn log_args(&self) {
        for (section, args) in &self.settings.ro_config {
            self.log_args_prefix("Config file arg:", section, args);
        }
        self.log_args_prefix("Command-line arg:", "", &self.settings.command_line_options);
    }

    /// Port of ArgsManager::logArgsPrefix (common/args.cpp).
    fn log_args_prefix(
        &self,
        prefix: &str,
        section: &str,
        args: &BTreeMap<String, Vec<SettingsValue>>,
    ) {
        let section_str = if section.is_empty() {
            String::new()
        } else {
            format!("[{section}] ")
        };
        for (name, values) in args {
            let Some(flags) = self.get_arg_flags(&format!("-{name}")) else {
                continue;
            };
            for value in values {
                let shown = if flags & flags::SENSITIVE != 0 {
                    "****".to_string()
                } else {
                    value.write()
                };
                log::info!("{prefix} {section_str}{name}={shown}");
            }
        }
    }
}

/// Port of IsConfSupported (common/config.cpp): `conf=` cannot appear in a config file.
fn is_conf_supported(key: &KeyInfo) -> Result<(), String> {
    if key.name == "conf" {
        return Err("conf cannot be set in the configuration file; use includeconf= if you want to include additional config files".to_string());
    }
    Ok(())
}

/// Port of GetConfigOptions (common/config.cpp): splits config text into `(key, value)` pairs,
/// keys prefixed with `section.` inside a `[section]`; records the sections seen.
fn get_config_options(
    text: &str,
    filepath: &str,
    sections: &mut Vec<SectionInfo>,
) -> Result<Vec<(String, String)>, String> {
    const PATTERN: &[char] = &[' ', '\t', '\r', '\n'];
    let mut options = Vec::new();
    let mut prefix = String::new();
    for (idx, raw_line) in text.lines().enumerate() {
        let linenr = idx + 1;
        let (line, used_hash) = match raw_line.find('#') {
            Some(p) => (&raw_line[..p], true),
            None => (raw_line, false),
        };
        let line = line.trim_matches(PATTERN);
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') && line.len() >= 2 {
            let section = &line[1..line.len() - 1];
            sections.push(SectionInfo {
                name: section.to_string(),
                file: filepath.to_string(),
                line: linenr,
            });
            prefix = format!("{section}.");
        } else if line.starts_with('-') {
            return Err(format!("parse error on line {linenr}: {line}, options in configuration file must be specified without leading -"));
        } else if let Some(pos) = line.find('=') {
            let name = format!("{prefix}{}", line[..pos].trim_matches(PATTERN));
            let value = line[pos + 1..].trim_matches(PATTERN).to_string();
            if used_hash && name.contains("rpcpassword") {
                return Err(format!("parse error on line {linenr}, using # in rpcpassword can be ambiguous and should be avoided"));
            }
            if let Some(dot) = name.rfind('.') {
                if prefix.len() <= dot {
                    sections.push(SectionInfo {
                        name: name[..dot].to_string(),
                        file: filepath.to_string(),
                        line: linenr,
                    });
                }
            }
            options.push((name, value));
        } else {
            let mut err = format!("parse error on line {linenr}: {line}");
            if line.len() >= 2 && line.starts_with("no") {
                err.push_str(&format!(
                    ", if you intended to specify a negated option, use {line}=1 instead"
                ));
            }
            return Err(err);
        }
    }
    Ok(options)
}

/// Port of AbsPathForConfigVal (common/config.cpp): a relative path is taken relative to the
/// data directory; absolute and empty paths are returned as they are.
pub fn abs_path_for_config_val(datadir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() || path.as_os_str().is_empty() {
        return path.to_path_buf();
    }
    datadir.join(path)
}

/// Port of the normalization in ArgsManager::GetPathArg (common/args.cpp):
/// `std::filesystem::path::lexically_normal` and no trailing separator: `.` components dropped,
/// `a/..` folded, `/..` is `/`.
pub fn lexically_normal(p: &Path) -> PathBuf {
    let mut parts: Vec<Component<'_>> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(Component::Normal(_)) => {
                    parts.pop();
                }
                Some(Component::RootDir) | Some(Component::Prefix(_)) => {}
                _ => parts.push(c),
            },
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return PathBuf::from(".");
    }
    parts.iter().collect()
}

const SCREEN_WIDTH: usize = 79;
const OPT_INDENT: usize = 2;
const MSG_INDENT: usize = 7;

/// Port of HelpMessageGroup (common/args.cpp).
pub fn help_message_group(message: &str) -> String {
    format!("{message}\n\n")
}

/// Port of HelpMessageOpt (common/args.cpp): the option indented by 2, its text wrapped at 79
/// columns and indented by 7.
pub fn help_message_opt(option: &str, message: &str) -> String {
    format!(
        "{}{}\n{}{}\n\n",
        " ".repeat(OPT_INDENT),
        option,
        " ".repeat(MSG_INDENT),
        format_paragraph(message, SCREEN_WIDTH - MSG_INDENT, MSG_INDENT)
    )
}

/// Port of FormatParagraph (util/strencodings.cpp): wraps at `width` columns, continuation lines
/// indented by `indent`; a word longer than the width stays on its own line.
pub fn format_paragraph(input: &str, width: usize, indent: usize) -> String {
    let bytes = input.as_bytes();
    let mut out = String::new();
    let mut ptr = 0usize;
    let mut indented = 0usize;
    while ptr < bytes.len() {
        let lineend = input[ptr..]
            .find('\n')
            .map(|p| p + ptr)
            .unwrap_or(bytes.len());
        let linelen = lineend - ptr;
        let rem_width = width - indented;
        if linelen <= rem_width {
            let end = (lineend + 1).min(bytes.len());
            out.push_str(&input[ptr..end]);
            ptr = lineend + 1;
            indented = 0;
        } else {
            // last space or newline at or before ptr + rem_width
            let limit = (ptr + rem_width).min(bytes.len() - 1);
            let mut finalspace = bytes[..=limit]
                .iter()
                .rposition(|b| *b == b' ' || *b == b'\n')
                .filter(|p| *p >= ptr);
            if finalspace.is_none() {
                finalspace = input[ptr..].find([' ', '\n']).map(|p| p + ptr);
                if finalspace.is_none() {
                    out.push_str(&input[ptr..]);
                    break;
                }
            }
            let fs = finalspace.expect("checked above");
            out.push_str(&input[ptr..fs]);
            out.push('\n');
            if bytes[fs] == b'\n' {
                indented = 0;
            } else if indent > 0 {
                out.push_str(&" ".repeat(indent));
                indented = indent;
            }
            ptr = fs + 1;
        }
    }
    out
}

/// Port of HelpRequested (common/args.cpp).
pub fn help_requested(args: &ArgsManager) -> bool {
    args.is_arg_set("-?")
        || args.is_arg_set("-h")
        || args.is_arg_set("-help")
        || args.is_arg_set("-help-debug")
}

/// Port of SetupHelpOptions (common/args.cpp).
pub fn setup_help_options(args: &mut ArgsManager) {
    args.add_arg(
        "-help",
        "Print this help text and exit (-h and -? do the same)",
        flags::ALLOW_ANY,
        OptionsCategory::Options,
    );
    args.add_hidden_args(&["-h", "-?"]);
}
