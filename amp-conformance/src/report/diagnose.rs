//! Run-level diagnostics: the reasons a whole run goes wrong at a real site, each said once.
//! They are gathered answer by answer (a deep run keeps counts, not answers) and said at the end.

use std::collections::BTreeSet;

use super::super::judge;
use crate::cases::Auth;
use crate::send::Answered;
use crate::server;
use crate::target::{HttpAnswer, TransportError};

/// What the diagnostics need to remember of the answers seen so far.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    answered: usize,
    /// Answers to requests carrying the key as `API_ID` (any case) that are AMP answers.
    authenticated: usize,
    authenticated_amp001: usize,
    /// Answers to the key sent as `API-ID` (hyphen) that are AMP answers, and how many of
    /// them were not AMP001: the key is right, and only names with `_` are lost on the way.
    hyphen: usize,
    hyphen_accepted: usize,
    /// The first `Server` header: which hop answered.
    server: Option<String>,
    /// The first HTML answer: its status and first lines.
    html: Option<(u16, String)>,
    redirects: usize,
    /// The first redirect: its status and where it points.
    redirect: Option<(u16, String)>,
    not_found: usize,
    /// HTTP 502, 503 and 504: a front whose application behind it is down.
    gateway: usize,
    /// Answers that are no AMP answer at all (not JSON, a byte-order mark, a page).
    not_amp: usize,
    connect: BTreeSet<String>,
}

impl Diagnostics {
    /// Takes in a batch of answers.
    pub(crate) fn observe(&mut self, answers: &[Answered], endpoint: &str) {
        for (_, ready, answer, _) in answers {
            match answer {
                Ok(answer) => self.answer(&ready.wire.auth, answer),
                Err(TransportError::Connect { step, detail }) if self.connect.len() < 3 => {
                    self.connect
                        .insert(format!("{step} failed for {endpoint}: {detail}"));
                }
                Err(_) => {}
            }
        }
    }

    fn answer(&mut self, auth: &Auth, answer: &HttpAnswer) {
        self.answered += 1;
        if self.server.is_none() {
            self.server.clone_from(&answer.server);
        }
        let parsed = judge::parse_answer(&answer.body);
        // Only AMP answers say anything of the key: a web server's own page (its 413 for a
        // large body, say) is another hop speaking.
        if let Ok(amp) = &parsed {
            let amp001 = matches!(
                amp,
                judge::AmpAnswer::Error(amp_contract::ErrorCode::Unauthorized, _)
            );
            match auth {
                Auth::Valid => {
                    self.authenticated += 1;
                    self.authenticated_amp001 += usize::from(amp001);
                }
                Auth::ValidAs(name) if name.contains('-') => {
                    self.hyphen += 1;
                    self.hyphen_accepted += usize::from(!amp001);
                }
                Auth::ValidAs(_) => {
                    self.authenticated += 1;
                    self.authenticated_amp001 += usize::from(amp001);
                }
                _ => {}
            }
        }
        // A page, not the API: keyed on the body (JSON labelled text/html is still JSON).
        let html = parsed.is_err()
            && String::from_utf8_lossy(&answer.body[..answer.body.len().min(512)])
                .trim_start()
                .starts_with('<');
        if html && self.html.is_none() {
            let text = judge::strip_tags(&String::from_utf8_lossy(
                &answer.body[..answer.body.len().min(4096)],
            ));
            let first: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take(3)
                .collect();
            self.html = Some((answer.status, first.join(" | ")));
        }
        if (300..400).contains(&answer.status) {
            self.redirects += 1;
            if self.redirect.is_none() {
                let to: String = answer
                    .location
                    .as_deref()
                    .unwrap_or("nowhere (no Location header)")
                    .chars()
                    .take(200)
                    .collect();
                self.redirect = Some((answer.status, to));
            }
        }
        if answer.status == 404 {
            self.not_found += 1;
        }
        if matches!(answer.status, 502..=504) {
            self.gateway += 1;
        }
        if judge::parse_answer(&answer.body).is_err() {
            self.not_amp += 1;
        }
    }

    /// Whether (nearly) every AMP answer to the key refused it: nine in ten, so that a few
    /// answers of another kind (a hop's own page) do not hide it.
    fn key_refused(&self) -> bool {
        self.authenticated >= 3 && self.authenticated_amp001 * 10 >= self.authenticated * 9
    }

    /// The header-drop diagnosis, naming the hop from what the answers show.
    fn header_note(&self) -> Option<String> {
        if !self.key_refused() {
            return None;
        }
        let proof = if self.hyphen_accepted > 0 {
            "The key is right: the same key sent as `API-ID` (hyphen) was accepted, so a hop \
             between the kit and PHP drops header names that contain `_`."
        } else {
            "Either the API_ID is wrong, or a hop between the kit and PHP drops header names \
             that contain `_`."
        };
        let server = self.server.as_deref().unwrap_or("").to_ascii_lowercase();
        let fix = if server.contains("nginx") {
            format!(
                "The answers come through nginx (Server: {}): it drops such headers unless \
                 `underscores_in_headers on;` is set in its server block.",
                self.server.as_deref().unwrap_or("nginx")
            )
        } else if server.contains("apache") {
            format!(
                "The answers come through Apache (Server: {}): it leaves headers with `_` out of \
                 the CGI and FastCGI variables (php-fpm, $_SERVER['HTTP_API_ID']); mod_php's \
                 getallheaders() still has them. Read getallheaders() in the add-on, or map the \
                 header: `SetEnvIfNoCase ^API.ID$ ^(.*)$ HTTP_API_ID=$1`.",
                self.server.as_deref().unwrap_or("Apache")
            )
        } else {
            "nginx drops such headers unless `underscores_in_headers on;` is set; Apache leaves \
             them out of CGI/FastCGI variables (read getallheaders(), or map the header with \
             `SetEnvIfNoCase ^API.ID$ ^(.*)$ HTTP_API_ID=$1`)."
                .to_owned()
        };
        Some(format!(
            "every authenticated request got AMP001 ({} of {} AMP answers). {proof} {fix} Check \
             with: curl -sS -H \"API_ID: $AMP_API_ID\" --data 'action=create' URL (expect AMP003 \
             or AMP002, not AMP001), and compare with a request sent to WHMCS directly.",
            self.authenticated_amp001, self.authenticated
        ))
    }

    /// Whether one run-level cause explains the failures seen so far (every authenticated
    /// answer AMP001, most answers redirects, 404s, gateway errors or not AMP answers at all):
    /// then a failing case says nothing of its values, and shrinking it only adds traffic.
    pub(crate) fn explains_failures(&self) -> bool {
        let most = |n: usize| self.answered >= 3 && n * 2 >= self.answered;
        self.key_refused()
            || most(self.redirects)
            || most(self.not_found)
            || most(self.gateway)
            || most(self.not_amp)
    }

    /// The notes, each said once.
    pub(crate) fn notes(&self, endpoint: &str) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(note) = self.header_note() {
            notes.push(note);
        }
        if let Some((status, first)) = &self.html {
            notes.push(format!(
                "the target answered HTML (HTTP {status}), which looks like a PHP error page or a web server's page, \
                 not the API's JSON. First lines: {first}"
            ));
        }
        if let Some((status, to)) = &self.redirect {
            notes.push(format!(
                "{} of {} answers were redirects (HTTP {status} to {to}); the kit does not follow them, since a \
                 redirected POST is re-sent as a GET without its body. Pass the final URL as --target (often https:// \
                 instead of http://, or another host name).",
                self.redirects, self.answered
            ));
        }
        if self.not_found > 0 && self.not_found * 2 >= self.answered {
            let path = url::Url::parse(endpoint)
                .map(|u| u.path().to_owned())
                .unwrap_or_default();
            notes.push(format!(
                "{} of {} answers were HTTP 404 for the path {path}: is the endpoint right? Real installations \
                 serve {}",
                self.not_found,
                self.answered,
                server::API_PATH
            ));
        }
        notes.extend(self.connect.iter().cloned());
        notes
    }
}
