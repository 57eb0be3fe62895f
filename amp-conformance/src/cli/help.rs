//! What each subcommand's `--help` adds after its options: examples, environment variables and
//! exit codes (CONTRACT.md §4), so that `--help` alone can be followed.

/// `amp-conformance run`.
pub(super) const RUN: &str = "\
Examples:
  amp-conformance run
      every check against the embedded reference server (no key needed)
  AMP_API_ID=... amp-conformance run --target https://whmcs.example/modules/addons/abusemanagerpro/includes/api.php --missing-service-id 999999
      every check that creates nothing against your server (read-only)
  amp-conformance run --target URL --allow-writes --service 42=192.0.2.10 --missing-service-id 999999
      the writing checks too, on service 42 only (at most --max-writes creates)
  amp-conformance run --target URL --missing-service-id 999999 --format junit --output amp.xml
      a JUnit report for CI

Environment:
  AMP_API_ID   the API_ID to send (or --api-id-file PATH); never given on the command line
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY
               the forward proxy, as curl reads them (--proxy URL overrides)
  CI           when set, snapshots are compared but never written
  NO_COLOR     no colour in the terminal report

Exit codes:
  0    passed
  1    a failing check, an answer changed since the baseline, or a read-only run that saw a success
  2    usage or configuration: a bad flag, no key, or a target the run cannot reach the API
       through (its first answers all redirects or 404s, a certificate that does not verify)
  3    an outage: the target could not be reached, stopped answering, or every first answer
       is a gateway error (502, 503, 504) from a front
  130  interrupted by SIGINT (143: SIGTERM); the report covers what was answered";

/// `amp-conformance diff`.
pub(super) const DIFF: &str = "\
Examples:
  amp-conformance diff --target reference --target http://127.0.0.1:8000/modules/addons/abusemanagerpro/includes/api.php --missing-service-id 999999
      your implementation against the reference server, read-only
  amp-conformance diff --target https://old.example/... --target https://new.example/... --missing-service-id 999999 --format json --output diff.json
      a migration check between two installations, with a JSON copy of the differences

Environment:
  AMP_API_ID   the API_ID sent to both sides (or --api-id-file PATH)
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY
               the forward proxy for a side that is a URL (--proxy URL overrides)

Exit codes:
  0    no difference
  1    the sides differ (each difference is listed with the rule that decides it), or a
       read-only diff saw a success
  2    usage or configuration (as for run: redirects, 404s, a certificate that does not verify)
  3    a side could not be reached, stopped answering, or answers only gateway errors
  130  interrupted by SIGINT (143: SIGTERM)";

/// `amp-conformance replay`.
pub(super) const REPLAY: &str = "\
Examples:
  amp-conformance run --target URL --missing-service-id 999999 --format json --output report.json
  amp-conformance replay report.json D-AUTH --target URL --missing-service-id 999999
      send the recorded requests of the D-AUTH findings again, and judge them again

The replay must be judged under the run's services, missing service id and profile (the report
records them): other ones are refused, naming the run's flags. Writes and suspensions need
--allow-writes and --allow-suspend as in the run.

Environment:
  AMP_API_ID   the API_ID (the report holds none)
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY
               the forward proxy (--proxy URL overrides)

Exit codes:
  0    every replayed check passes (the fix is confirmed)
  1    a replayed check still fails
  2    usage or configuration, a filter that matches nothing, a replay under other services
       than the run's, or a replay that judged nothing (every request skipped)
  3    the target could not be reached";

/// `amp-conformance serve`.
pub(super) const SERVE: &str = "\
Examples:
  AMP_API_ID=dev-key amp-conformance serve --listen 127.0.0.1:8080
  curl -sS -H 'API_ID: dev-key' --data 'action=create&service_id=1&category=Spam' \\
      http://127.0.0.1:8080/modules/addons/abusemanagerpro/includes/api.php
  curl -sS -H 'API_ID: dev-key' http://127.0.0.1:8080/_amp/reports/1
      the observer: the stored report as JSON (CONTRACT.md §5)

Environment:
  AMP_API_ID   the accepted API_IDs, comma-separated (required)
  AMP_LOG      log filter (tracing's syntax: info, debug, amp_conformance=debug, ...); logs go
               to stderr, without colour unless stderr is a terminal

Exit codes:
  0    stopped by SIGINT or SIGTERM after finishing the requests in flight
  1    the server failed while serving
  2    usage or configuration: no AMP_API_ID, an address that cannot be bound, a bad registry";
