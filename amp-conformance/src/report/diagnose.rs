//! Run-level diagnostics: the reasons a whole run goes wrong at a real site, each said once.

use super::super::judge;
use crate::cases::Auth;
use crate::plan::Ready;
use crate::send::Answered;
use crate::server;
use crate::target::{HttpAnswer, TransportError};

/// Run-level diagnostics, each said once: the reasons a whole run goes wrong at a real site.
pub(crate) fn diagnose(answers: &[Answered], endpoint: &str) -> Vec<String> {
    let mut notes = Vec::new();
    let ok: Vec<(&Ready, &HttpAnswer)> = answers
        .iter()
        .filter_map(|(_, r, a, _)| a.as_ref().ok().map(|a| (r, a)))
        .collect();
    let authenticated: Vec<&HttpAnswer> = ok
        .iter()
        .filter(|(r, _)| {
            matches!(&r.wire.auth, Auth::Valid)
                || matches!(&r.wire.auth, Auth::ValidAs(n) if !n.contains('-'))
        })
        .map(|(_, a)| *a)
        .collect();
    let amp001 = |a: &&HttpAnswer| {
        matches!(
            judge::parse_answer(&a.body),
            Ok(judge::Answer::Error(
                amp_contract::ErrorCode::Unauthorized,
                _
            ))
        )
    };
    if authenticated.len() >= 3 && authenticated.iter().all(amp001) {
        notes.push(
            "every authenticated request got AMP001. Is the API_ID right? A proxy may also drop it: nginx drops \
             headers whose name contains `_` unless `underscores_in_headers on;` is set (and `ignore_invalid_headers` \
             is on by default). Check with: curl -sS -H \"API_ID: $AMP_API_ID\" --data 'action=create' URL \
             (expect AMP003 or AMP002, not AMP001), and compare with a request sent to WHMCS directly."
                .to_owned(),
        );
    }
    if let Some((_, html)) = ok.iter().find(|(_, a)| {
        a.content_type
            .as_deref()
            .is_some_and(|ct| ct.to_ascii_lowercase().contains("html"))
            || String::from_utf8_lossy(&a.body[..a.body.len().min(512)])
                .trim_start()
                .starts_with('<')
    }) {
        let text = judge::strip_tags(&String::from_utf8_lossy(
            &html.body[..html.body.len().min(4096)],
        ));
        let first: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(3)
            .collect();
        notes.push(format!(
            "the target answered HTML (HTTP {}), which looks like a PHP error page or a web server's page, not \
             the API's JSON. First lines: {}",
            html.status,
            first.join(" | ")
        ));
    }
    if let Some((_, moved)) = ok.iter().find(|(_, a)| (300..400).contains(&a.status)) {
        let count = ok
            .iter()
            .filter(|(_, a)| (300..400).contains(&a.status))
            .count();
        let to: String = moved
            .location
            .as_deref()
            .unwrap_or("nowhere (no Location header)")
            .chars()
            .take(200)
            .collect();
        notes.push(format!(
            "{count} of {} answers were redirects (HTTP {} to {to}); the kit does not follow them, since a \
             redirected POST is re-sent as a GET without its body. Pass the final URL as --target (often https:// \
             instead of http://, or another host name).",
            ok.len(),
            moved.status
        ));
    }
    let not_found = ok.iter().filter(|(_, a)| a.status == 404).count();
    if not_found > 0 && not_found * 2 >= ok.len() {
        let path = url::Url::parse(endpoint)
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        notes.push(format!(
            "{not_found} of {} answers were HTTP 404 for the path {path}: is the endpoint right? Real installations \
             serve {}",
            ok.len(),
            server::API_PATH
        ));
    }
    let mut steps: Vec<String> = answers
        .iter()
        .filter_map(|(_, _, a, _)| match a {
            Err(TransportError::Connect { step, detail }) => {
                Some(format!("{step} failed for {endpoint}: {detail}"))
            }
            _ => None,
        })
        .collect();
    steps.sort();
    steps.dedup();
    notes.extend(steps.into_iter().take(3));
    notes
}
