//! The JUnit XML report (quick-junit), one test case per check.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::RunReport;
use crate::judge::Class;

/// Renders the report as JUnit XML: FAIL and NON-STRICT are failures (NON-STRICT only fails
/// the run under `--strict`, which the message says), ERROR is an error, SKIPPED is skipped.
/// A failure's message names its finding, the name a `--known-failures` file can list.
pub fn render(report: &RunReport) -> String {
    let mut junit = Report::new("amp-conformance");
    let mut suite = TestSuite::new(report.target.clone());
    for check in report.checks.iter_all() {
        let finding = check
            .finding
            .as_ref()
            .map(|name| format!(" (finding {name})"))
            .unwrap_or_default();
        let status = match check.class {
            Class::Pass | Class::Info => TestCaseStatus::success(),
            Class::Skipped => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(check.reason.clone());
                status
            }
            Class::Fail | Class::NonStrict | Class::Error
                if check.known_failure || !check.fails(report.strict) =>
            {
                TestCaseStatus::success()
            }
            Class::Fail | Class::NonStrict => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(format!(
                    "{} {}: {}{finding}",
                    check.class, check.rule, check.reason
                ));
                status.set_type(check.class.to_string());
                status.set_description(detail(&check));
                status
            }
            Class::Error => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status.set_message(format!("{}{finding}", check.reason));
                status.set_type("ERROR");
                status.set_description(detail(&check));
                status
            }
        };
        let mut case = TestCase::new(check.id.clone(), status);
        case.set_classname(check.rule.id());
        if let Some(ms) = check.elapsed_ms {
            case.set_time(std::time::Duration::from_millis(ms));
        }
        if matches!(check.class, Class::NonStrict | Class::Info) || check.known_failure {
            let known = if check.known_failure {
                " (known failure)"
            } else {
                ""
            };
            case.set_system_out(format!(
                "{}{known}: {} {}{finding}",
                check.class, check.rule, check.reason
            ));
        }
        suite.add_test_case(case);
    }
    junit.add_test_suite(suite);
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot render JUnit: {e} -->"))
}

fn detail(check: &super::CheckResult) -> String {
    let mut text = format!("expected: {}\nactual:   {}\n", check.expected, check.actual);
    if let Some(repro) = &check.reproduction {
        text.push_str("reproduce:\n");
        text.push_str(repro);
        text.push('\n');
    }
    text
}
