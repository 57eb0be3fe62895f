//! One setup for every command that sends (`run`, `diff`, `replay`): the key, the run id, the
//! embedded reference servers, each side's [`Target`] with its pacing, the observer and the
//! plan's safety context. A safety default (the rate limit, the key's source, the services the
//! run may name) lives here once, so no command can be set up without it (CONTRACT.md §6).

use amp_contract::envelope::{ApiIds, DedicatedIp};

use crate::config::{DEFAULT_RATE, RunConfig, RunError, Side, random_token};
use crate::observer::Observer;
use crate::plan::{Plan, PlanContext, prepare};
use crate::server::{self, Registry, RunningServer, ServerConfig};
use crate::target::{Secret, Target};

/// The requests per second for a side: `--rate` when given, otherwise [`DEFAULT_RATE`] for an
/// endpoint that is not on this machine, and no limit for the embedded server, an in-process
/// service or loopback (CONTRACT.md §6).
///
pub(crate) fn pacing(rate: Option<f64>, side: &Side, in_process: bool) -> Option<f64> {
    rate.or_else(|| match side {
        Side::Url(url) if !in_process && !Target::is_loopback(url) => Some(DEFAULT_RATE),
        _ => None,
    })
}

/// The services a command may name and the id that names none: the run's `--service` and
/// `--missing-service-id`, or, where a side is the embedded server and none are given, its
/// registry's (with that registry, to start the server with).
pub(crate) type Services = (Vec<(u32, DedicatedIp)>, Option<u32>, Option<Registry>);

/// See [`Services`].
pub(crate) fn services_for(config: &RunConfig, sides: &[Side]) -> Result<Services, RunError> {
    let services = config.services.clone();
    if !sides.contains(&Side::Reference) {
        return Ok((services, config.missing_service, None));
    }
    if !services.is_empty() {
        let registry = Registry::from_services(services.clone());
        return Ok((services, config.missing_service, Some(registry)));
    }
    let registry = server::load_registry(None).map_err(|e| RunError::Config(e.to_string()))?;
    Ok((
        registry.iter().collect(),
        config.missing_service.or(Some(registry.missing_id())),
        Some(registry),
    ))
}

/// A seed below 2^53, so that every JSON reader reads the report's `seed` number exactly.
pub(crate) fn random_seed() -> u64 {
    rand::random::<u64>() >> 11
}

/// A command's setup, opened once and shared by its stages.
pub(crate) struct Session {
    /// The `API_ID` every side is sent.
    pub(crate) key: Secret,
    /// The run id of the purge marker.
    pub(crate) run_id: String,
    /// The seed of the property cases.
    pub(crate) seed: u64,
    /// Every side is the embedded reference server (then everything may be sent).
    pub(crate) embedded: bool,
    /// The planner's safety context: services, missing id, permissions, marker.
    pub(crate) cx: PlanContext,
    /// One target per side, in the order given, each paced by [`pacing`].
    pub(crate) targets: Vec<Target>,
    /// The observer of stored reports (the embedded server's own when it is the only side).
    pub(crate) observer: Option<Observer>,
    servers: Vec<RunningServer>,
}

impl Session {
    /// The run's cases, planned ahead on a thread of their own (`run` and `diff`).
    pub(crate) fn plan(&self, config: &RunConfig) -> Result<Plan, RunError> {
        Ok(prepare(config.planning(), &self.cx, self.key.expose(), self.seed)?.ahead())
    }

    /// Opens a session for `sides` under `config`: reads the key (required for an endpoint,
    /// made up for the embedded server), starts an embedded server per `reference` side with
    /// the registry's services (or the run's `--service` ones), and builds each side's target
    /// with its pacing. Nothing is sent.
    pub(crate) async fn open(config: &RunConfig, sides: &[Side]) -> Result<Self, RunError> {
        let embedded = sides.iter().all(|s| *s == Side::Reference);
        let key = match (&config.key, embedded) {
            (Some(key), _) => key.clone(),
            (None, true) => Secret::new(format!("amp-{}", random_token())),
            (None, false) => {
                return Err(RunError::Config(
                    "no API_ID: set AMP_API_ID or pass --api-id-file PATH (never on the command \
                     line)"
                        .to_owned(),
                ));
            }
        };
        let (services, missing_service, registry) = services_for(config, sides)?;
        let run_id = random_token();
        let mut session = Self {
            key,
            seed: config.seed.unwrap_or_else(random_seed),
            embedded,
            cx: PlanContext {
                services,
                missing_service,
                ..plan_context(config, embedded, &run_id)
            },
            run_id,
            targets: Vec::new(),
            observer: config.observer.clone(),
            servers: Vec::new(),
        };
        for side in sides {
            let endpoint = match (side, &registry) {
                (Side::Url(url), _) => url.clone(),
                (Side::Reference, Some(registry)) => {
                    let mut server_config =
                        ServerConfig::new(ApiIds::new([session.key.expose()]), registry.clone());
                    server_config.max_reports = Some(EMBEDDED_REPORTS);
                    let server = server::start_local(server_config).await.map_err(|e| {
                        RunError::Config(format!("cannot start the embedded reference server: {e}"))
                    })?;
                    if embedded && session.observer.is_none() {
                        session.observer = Some(Observer::Url(server.observe_template()));
                    }
                    let endpoint = server.endpoint();
                    session.servers.push(server);
                    endpoint
                }
                (Side::Reference, None) => continue,
            };
            let in_process = config.in_process.clone();
            let mut target = Target::new(
                &endpoint,
                session.key.clone(),
                config.timeout,
                config.max_body,
                &session.run_id,
            )
            .map_err(RunError::Config)?
            .with_rate(pacing(config.rate, side, in_process.is_some()));
            // The embedded server is on this machine and ours: never through a proxy.
            target = target
                .with_network(
                    config.ca_cert.as_deref(),
                    config.proxy.as_deref(),
                    *side == Side::Reference,
                )
                .map_err(RunError::Config)?;
            if let Some(service) = in_process {
                target = target.with_service(service);
            }
            session.targets.push(target);
        }
        Ok(session)
    }

    /// The targets, one per side, in the order given.
    pub(crate) fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Stops the embedded servers.
    pub(crate) async fn close(self) {
        for server in self.servers {
            let _ = server.shutdown().await;
        }
    }
}

/// Reports the embedded server of a run keeps: the observer reads each one just after its
/// create, so a deep run needs only the latest (issue 21: a million creates held a million
/// reports).
const EMBEDDED_REPORTS: usize = 10_000;

/// The safety context of a run: what the planner may send (CONTRACT.md §6).
pub(crate) fn plan_context(config: &RunConfig, embedded: bool, run_id: &str) -> PlanContext {
    PlanContext {
        embedded,
        services: config.services.clone(),
        missing_service: config.missing_service,
        allow_writes: config.allow_writes,
        allow_suspend: config.allow_suspend,
        run_id: run_id.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn remote() -> RunConfig {
        RunConfig {
            target: Some("https://whmcs.example.invalid/api.php".to_owned()),
            key: Some(Secret::new("session-test-key")),
            ..RunConfig::default()
        }
    }

    #[test]
    fn pacing_defaults_to_five_per_second_for_a_remote_endpoint_only() {
        let remote = Side::Url("https://whmcs.example/api.php".into());
        assert_eq!(pacing(None, &remote, false), Some(5.0));
        assert_eq!(pacing(Some(20.0), &remote, false), Some(20.0));
        let local = Side::Url("http://127.0.0.1:8080/api.php".into());
        assert_eq!(pacing(None, &local, false), None);
        assert_eq!(pacing(None, &Side::Reference, false), None);
    }

    #[tokio::test]
    async fn a_run_against_a_remote_target_is_paced_by_default() {
        let config = remote();
        let session = Session::open(&config, &[Side::of(&config)]).await.unwrap();
        assert_eq!(session.targets()[0].rate(), Some(DEFAULT_RATE));
        session.close().await;
    }

    /// CONTRACT.md §6: `replay` sends through the same session, paced the same way.
    #[tokio::test]
    async fn a_replay_against_a_remote_target_is_paced_by_default() {
        let config = RunConfig {
            replay: Some(Vec::new()),
            ..remote()
        };
        let session = Session::open(&config, &[Side::of(&config)]).await.unwrap();
        assert_eq!(session.targets()[0].rate(), Some(DEFAULT_RATE));
        session.close().await;
    }

    #[tokio::test]
    async fn a_diff_paces_each_remote_side_and_not_the_reference() {
        let config = remote();
        let sides = [
            Side::parse("https://old.example.invalid/api.php"),
            Side::parse("reference"),
        ];
        let session = Session::open(&config, &sides).await.unwrap();
        assert_eq!(session.targets()[0].rate(), Some(DEFAULT_RATE));
        assert_eq!(session.targets()[1].rate(), None);
        assert!(
            !session.embedded,
            "a real side keeps the run's safety flags"
        );
        session.close().await;
    }

    #[tokio::test]
    async fn an_endpoint_needs_the_key_from_the_environment_or_a_file() {
        let config = RunConfig {
            key: None,
            ..remote()
        };
        let error = Session::open(&config, &[Side::of(&config)])
            .await
            .err()
            .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("AMP_API_ID")));
    }
}
