//! The reference server's service registry: which services exist and their dedicated IPs,
//! read from a TOML file (`fixtures/services.toml` by default).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use amp_contract::envelope::{DedicatedIp, ServiceDirectory};
use serde::Deserialize;
use toml::Spanned;

/// A registry file that cannot be used, with the place to fix.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The file could not be read.
    #[error("cannot read service registry {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or not of the expected shape.
    #[error("{path}:{line}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    service: Vec<Spanned<Entry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: Spanned<i64>,
    #[serde(default)]
    dedicated_ip: Option<Spanned<String>>,
}

/// Services by id. Ids not listed do not exist (R-SERVICE-ID "service not found").
///
/// ```
/// use amp_conformance::server::Registry;
/// use amp_contract::envelope::{DedicatedIp, ServiceDirectory};
/// let registry = Registry::from_toml_str("[[service]]\nid = 7\n", "inline").unwrap();
/// assert_eq!(registry.dedicated_ip(7), Some(DedicatedIp::None));
/// assert_eq!(registry.dedicated_ip(8), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    services: BTreeMap<u32, DedicatedIp>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

impl Registry {
    /// Reads a registry file.
    pub fn from_file(path: &Path) -> Result<Self, RegistryError> {
        let text = std::fs::read_to_string(path).map_err(|source| RegistryError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses registry text; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, RegistryError> {
        let invalid = |offset: usize, message: String| RegistryError::Invalid {
            path: origin.to_owned(),
            line: line_of(text, offset),
            message,
        };
        let file: File = toml::from_str(text).map_err(|err| {
            let offset = err.span().map_or(0, |s| s.start);
            invalid(offset, err.message().to_owned())
        })?;
        let mut services = BTreeMap::new();
        for entry in file.service {
            let entry_start = entry.span().start;
            let entry = entry.into_inner();
            let id = u32::try_from(*entry.id.get_ref())
                .ok()
                .filter(|id| (1..=2_147_483_647).contains(id))
                .ok_or_else(|| {
                    invalid(
                        entry.id.span().start,
                        format!("service id {} is not in 1..=2147483647", entry.id.get_ref()),
                    )
                })?;
            let ip = match &entry.dedicated_ip {
                None => DedicatedIp::None,
                Some(text_ip) => text_ip
                    .get_ref()
                    .parse::<IpAddr>()
                    .map(DedicatedIp::Address)
                    .map_err(|_| {
                        invalid(
                            text_ip.span().start,
                            format!(
                                "dedicated_ip {:?} of service {id} is not an IPv4 or IPv6 \
                                 address; omit the key for a service without one",
                                text_ip.get_ref()
                            ),
                        )
                    })?,
            };
            if services.insert(id, ip).is_some() {
                return Err(invalid(
                    entry_start,
                    format!("service {id} is listed twice"),
                ));
            }
        }
        Ok(Self { services })
    }

    /// Builds a registry from pairs.
    pub fn from_services(services: impl IntoIterator<Item = (u32, DedicatedIp)>) -> Self {
        Self {
            services: services.into_iter().collect(),
        }
    }

    /// The services, by id.
    pub fn iter(&self) -> impl Iterator<Item = (u32, DedicatedIp)> + '_ {
        self.services.iter().map(|(id, ip)| (*id, *ip))
    }

    /// The smallest id above every listed service: known not to exist.
    pub fn missing_id(&self) -> u32 {
        self.services
            .keys()
            .next_back()
            .map_or(1, |last| last.saturating_add(1).min(2_147_483_647))
    }
}

impl ServiceDirectory for Registry {
    fn dedicated_ip(&self, service_id: u32) -> Option<DedicatedIp> {
        self.services.get(&service_id).copied()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn malformed_file_names_the_line() {
        let text = "[[service]]\nid = 1\n\n[[service]]\nid = 2\ndedicated_ip = \"300.1.1.1\"\n";
        let err = Registry::from_toml_str(text, "s.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.toml:6:"), "{err}");
        let err = Registry::from_toml_str("[[service]]\nid = \n", "s.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.toml:2:"), "{err}");
        let err = Registry::from_toml_str("[[service]]\nid = 1\nip = \"x\"\n", "s.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("s.toml:"), "{err}");
    }

    #[test]
    fn duplicate_and_out_of_range_ids_are_refused() {
        assert!(Registry::from_toml_str("[[service]]\nid = 0\n", "x").is_err());
        assert!(
            Registry::from_toml_str("[[service]]\nid = 1\n[[service]]\nid = 1\n", "x").is_err()
        );
    }
}
