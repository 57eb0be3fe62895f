//! The `create` action, defined once: every parameter name, kind, limit, default and rule id of
//! CONTRACT.md §1 and §3 is written here and nowhere else. The record a server stores
//! ([`ResolvedCreate`]) is generated from the same definition, and so is its comparison
//! ([`crate::stored::compare`]); the server state `create` depends on (which services exist,
//! their dedicated IPs) is [`ServiceDirectory`].

use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::action::{Action, Lookup};
use crate::meta::{FieldMeta, Kind, Visibility};
use crate::value::AmpValue;
use crate::value_rules::php_trim;
use crate::{AmpAction, AmpEnum};

/// What `service_ip` is stored as for a service without a dedicated IP (D-DEFAULTS).
pub const NO_DEDICATED_IP: &str = "(No Dedicated IP)";

/// How the service is suspended when the report is opened (R-SUSPEND).
///
/// ```
/// use amp_contract::SuspendMethod;
/// assert_eq!("timelimit".parse::<SuspendMethod>().unwrap(), SuspendMethod::Timelimit);
/// assert!("suspend".parse::<SuspendMethod>().is_err()); // the page's own example value
/// assert_eq!(SuspendMethod::default().to_string(), "nosuspend");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, AmpEnum)]
pub enum SuspendMethod {
    /// Open the report, leave the service running.
    #[default]
    NoSuspend,
    /// Suspend the service at once.
    Immediate,
    /// Suspend the service when the report's time limit runs out.
    Timelimit,
}

impl SuspendMethod {
    /// Whether this method suspends a real service (guarded by `--allow-suspend`).
    pub fn suspends(self) -> bool {
        !matches!(self, Self::NoSuspend)
    }
}

impl Serialize for SuspendMethod {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SuspendMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// `action=create`: opens an abuse report against a hosting service.
///
/// Parsing a body as PHP's `http_build_query` sends it:
///
/// ```
/// use amp_contract::{Action, CreateAbuseReport, SuspendMethod, form::FormPairs};
///
/// let body = b"action=create&service_id=1&category=High+I%2FO&allow_unsuspend=1";
/// let report = CreateAbuseReport::from_form(&FormPairs::from_urlencoded(body)).unwrap();
/// assert_eq!(report.category, "High I/O");
/// assert_eq!(report.suspend_method, SuspendMethod::NoSuspend); // the default
/// assert!(report.allow_unsuspend);
/// ```
///
/// Building one and sending it as PHP would:
///
/// ```
/// use amp_contract::{Action, CreateAbuseReport};
///
/// let report = CreateAbuseReport::new(2, "Spam");
/// assert_eq!(
///     report.to_body(),
///     "action=create&service_id=2&category=Spam&suspend_method=nosuspend&allow_unsuspend=0"
/// );
/// ```
///
/// What a server stores for it, with the service's dedicated IP resolved:
///
/// ```
/// use amp_contract::create::{DedicatedIp, ServiceLookup};
/// use amp_contract::{Action, CreateAbuseReport};
///
/// let services = |id: u32| (id == 2).then_some(DedicatedIp::None);
/// let stored = CreateAbuseReport::new(2, "Spam").resolve(&mut ServiceLookup::new(&services));
/// assert_eq!(stored.service_ip, "(No Dedicated IP)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, AmpAction)]
#[amp(action = "create", stored = "ResolvedCreate")]
pub struct CreateAbuseReport {
    /// WHMCS id of the service the report is for.
    #[amp(integer, required, min = 1, max = 2147483647, lookup)]
    #[amp(rule = "R-SERVICE-ID", rule = "D-REQUIRED", rule = "R-EMPTY")]
    pub service_id: u32,
    /// Free text naming the kind of abuse, e.g. `Spam`, `High I/O`, `Hacking Attempts`.
    #[amp(text, required, trim, max_chars = 255)]
    #[amp(
        rule = "R-CATEGORY",
        rule = "D-REQUIRED",
        rule = "R-EMPTY",
        rule = "D-OPTIONALS"
    )]
    pub category: String,
    /// The address the report is about.
    #[amp(
        ip,
        trim,
        rule = "R-SERVICE-IP",
        rule = "D-OPTIONALS",
        rule = "D-DEFAULTS"
    )]
    #[amp(
        resolved_default = "the service's main dedicated IP; if it has none, `(No Dedicated IP)`"
    )]
    pub service_ip: Option<IpAddr>,
    /// Whether and when the service is suspended.
    #[amp(enumeration, default = "nosuspend")]
    #[amp(rule = "R-SUSPEND", rule = "D-OPTIONALS", rule = "D-DEFAULTS")]
    pub suspend_method: SuspendMethod,
    /// Whether the customer may unsuspend the service themselves.
    #[amp(
        boolean,
        default = "0",
        trim,
        rule = "R-BOOL",
        rule = "D-OPTIONALS",
        rule = "D-DEFAULTS"
    )]
    pub allow_unsuspend: bool,
    /// Free text visible to the customer.
    #[amp(text, default = "", max_bytes = 65535)]
    #[amp(rule = "R-TEXT", rule = "D-OPTIONALS", rule = "D-DEFAULTS")]
    pub additional_info: String,
    /// Free text visible to admins only.
    #[amp(text, default = "", max_bytes = 65535, visibility = "admin")]
    #[amp(rule = "R-TEXT", rule = "D-OPTIONALS", rule = "D-DEFAULTS")]
    pub admin_notes: String,
}

impl CreateAbuseReport {
    /// A report with the two required parameters and every default.
    pub fn new(service_id: u32, category: impl Into<String>) -> Self {
        Self {
            service_id,
            category: category.into(),
            service_ip: None,
            suspend_method: SuspendMethod::default(),
            allow_unsuspend: false,
            additional_info: String::new(),
            admin_notes: String::new(),
        }
    }
}

/// The wire name of the admin-only text parameter (`admin_notes`), where a conformance run
/// puts its purge marker (CONTRACT.md §6). Read from the metadata, not written again.
pub fn admin_notes_name() -> Option<&'static str> {
    CreateAbuseReport::FIELDS
        .iter()
        .find(|f| f.visibility == Visibility::Admin && f.kind == Kind::Text)
        .map(|f| f.name)
}

/// Whether any pair could make a server suspend a service: a key naming the suspension field
/// (plainly or as an array) whose value, read leniently (trimmed, any case), is a suspending
/// method. Conservative on purpose: it guards real services (CONTRACT.md §6).
///
/// [`body_may_suspend`] asks the same of an urlencoded body without decoding its other values.
///
/// ```
/// use amp_contract::create::pairs_may_suspend;
/// assert!(pairs_may_suspend([(&b"suspend_method"[..], &b" Immediate"[..])]));
/// assert!(!pairs_may_suspend([(&b"suspend_method"[..], &b"nosuspend"[..])]));
/// ```
pub fn pairs_may_suspend<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> bool {
    let Some(field) = CreateAbuseReport::FIELDS
        .iter()
        .find(|f| f.allowed == <SuspendMethod as AmpValue>::ALLOWED)
    else {
        return false;
    };
    pairs.into_iter().any(|(key, value)| {
        key.as_ref().starts_with(field.name.as_bytes())
            && std::str::from_utf8(value.as_ref()).is_ok_and(|v| {
                let v = php_trim(v).to_ascii_lowercase();
                <SuspendMethod as AmpValue>::ALLOWED
                    .iter()
                    .filter_map(|s| {
                        s.parse::<SuspendMethod>()
                            .ok()
                            .filter(|m| m.suspends())
                            .map(|_| s)
                    })
                    .any(|s| s.eq_ignore_ascii_case(&v))
            })
    })
}

/// [`pairs_may_suspend`] for the pairs of an urlencoded body, read as PHP reads it: only the
/// values of keys naming the suspension field are decoded (a body can be a megabyte of text).
///
/// ```
/// use amp_contract::create::body_may_suspend;
/// assert!(body_may_suspend(b"category=Spam&suspend%5Fmethod=+Immediate"));
/// assert!(!body_may_suspend(b"category=Immediate&suspend_method=nosuspend"));
/// ```
pub fn body_may_suspend(body: &[u8]) -> bool {
    let Some(field) = CreateAbuseReport::FIELDS
        .iter()
        .find(|f| f.allowed == <SuspendMethod as AmpValue>::ALLOWED)
    else {
        return false;
    };
    pairs_may_suspend(
        crate::form::segments(body)
            .map(|(key, value)| (crate::form::php_urldecode(key), value))
            .filter(|(key, _)| key.starts_with(field.name.as_bytes()))
            .map(|(key, value)| (key, crate::form::php_urldecode(value))),
    )
}

/// A service's main dedicated IP, as the service registry knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DedicatedIp {
    /// The service has this dedicated IP.
    Address(IpAddr),
    /// The service has none: reports store `(No Dedicated IP)`.
    None,
}

/// The server state the create action needs: which services exist and their dedicated IPs.
pub trait ServiceDirectory {
    /// `None` when no service has this id (R-SERVICE-ID "service not found").
    fn dedicated_ip(&self, service_id: u32) -> Option<DedicatedIp>;
}

impl<F: Fn(u32) -> Option<DedicatedIp>> ServiceDirectory for F {
    fn dedicated_ip(&self, service_id: u32) -> Option<DedicatedIp> {
        self(service_id)
    }
}

/// The [`Lookup`] of one `create` request over a [`ServiceDirectory`]: the field marked
/// `lookup` names the service; an omitted address with a resolved default is stored as that
/// service's dedicated IP, or [`NO_DEDICATED_IP`] (D-DEFAULTS).
pub struct ServiceLookup<'a, D: ?Sized> {
    services: &'a D,
    dedicated: Option<DedicatedIp>,
}

impl<'a, D: ServiceDirectory + ?Sized> ServiceLookup<'a, D> {
    /// A lookup for one request.
    pub fn new(services: &'a D) -> Self {
        Self {
            services,
            dedicated: None,
        }
    }
}

impl<D: ServiceDirectory + ?Sized> Lookup for ServiceLookup<'_, D> {
    fn exists(&mut self, _field: &FieldMeta, wire_value: &str) -> bool {
        self.dedicated = wire_value
            .parse()
            .ok()
            .and_then(|id| self.services.dedicated_ip(id));
        self.dedicated.is_some()
    }

    fn resolve(&mut self, field: &FieldMeta) -> String {
        match (field.kind, self.dedicated) {
            (Kind::Ip, Some(DedicatedIp::Address(ip))) => ip.to_string(),
            (Kind::Ip, _) => NO_DEDICATED_IP.to_owned(),
            _ => String::new(),
        }
    }
}
