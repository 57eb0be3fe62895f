//! Run-level diagnostics: the reasons a whole run goes wrong at a real site, each said once and
//! naming the hop at fault. They are gathered answer by answer from typed observations (the
//! request the kit sent, the answer's status, `Server` header and body kind; a deep run keeps
//! counts and a few examples, not answers) and said at the end, before the findings.

use std::collections::BTreeSet;

use super::super::judge;
use crate::cases::Auth;
use crate::judge::{AnswerBody, clip};
use crate::send::Answered;
use crate::server;
use crate::target::{HttpAnswer, ObserverLog, TransportError};

/// The hop an answer names in its `Server` header, as a note says it.
fn hop(server: Option<&str>) -> String {
    match server {
        Some(s) => format!("Server: {}", clip(s, 60)),
        None => "no Server header".to_owned(),
    }
}

/// A body parameter whose text has what firewall rules key on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Telling {
    name: String,
    /// Letters beyond ASCII (charset and "restricted character" rules).
    non_ascii: bool,
    /// Quotes, brackets, `;` or markup (SQL- and script-injection rules).
    markup: bool,
}

/// Whether a request body carries non-ASCII text: a byte over 0x7F, or one percent-encoded
/// (`%80` to `%FF`), as a form body spells it.
fn carries_non_ascii(body: &[u8]) -> bool {
    !body.is_ascii()
        || memchr::memchr_iter(b'%', body).any(|i| {
            body.get(i + 1)
                .is_some_and(|b| matches!(b, b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F'))
                && body.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        })
}

/// The body parameters (form or multipart) whose decoded text has non-ASCII letters, quotes,
/// brackets or markup, in order, each once; "the body" when it has non-ASCII bytes in no
/// parameter the kit can name.
fn telling_parts(content_type: Option<&str>, body: &[u8]) -> Vec<Telling> {
    let mut parts: Vec<Telling> = Vec::new();
    let mut add = |name: &str, value: &str| {
        let markup = value.contains(['\'', '"', '<', '>', ';', '(', ')', '`']);
        if (value.is_ascii() && !markup) || parts.iter().any(|p| p.name == name) {
            return;
        }
        parts.push(Telling {
            name: name.to_owned(),
            non_ascii: !value.is_ascii(),
            markup,
        });
    };
    let multipart = content_type.is_some_and(|ct| {
        ct.trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/")
    });
    if multipart {
        // Each part: its headers (with `name="..."`), a blank line, the value.
        let text = String::from_utf8_lossy(body);
        for part in text.split("\r\n--") {
            let Some((head, value)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let name = head
                .split("name=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or("a part");
            add(name, value.trim_end_matches("\r\n"));
        }
    } else {
        for (key, value) in url::form_urlencoded::parse(body) {
            let value = if key.is_ascii() {
                value
            } else {
                // A key with non-ASCII text is named for it.
                std::borrow::Cow::Owned(format!("{key}{value}"))
            };
            add(&key, &value);
        }
    }
    if !parts.iter().any(|p| p.non_ascii) && !body.is_ascii() {
        parts.push(Telling {
            name: "the body".to_owned(),
            non_ascii: true,
            markup: false,
        });
    }
    parts
}

/// How a note names what a refused request carried: `non-ASCII text in additional_info;
/// quotes or markup in category`.
fn describe_parts(parts: &[Telling]) -> String {
    let names = |pick: fn(&Telling) -> bool| -> Vec<&str> {
        parts
            .iter()
            .filter(|p| pick(p))
            .map(|p| p.name.as_str())
            .collect()
    };
    let mut said = Vec::new();
    let non_ascii = names(|p| p.non_ascii);
    if !non_ascii.is_empty() {
        said.push(format!("non-ASCII text in {}", non_ascii.join(", ")));
    }
    let markup = names(|p| p.markup);
    if !markup.is_empty() {
        said.push(format!(
            "quotes, brackets or markup in {}",
            markup.join(", ")
        ));
    }
    said.join(" and ")
}

/// One request a front refused with its own page (403/406 HTML or text, not AMP JSON).
#[derive(Debug)]
struct Blocked {
    check: String,
    status: u16,
    server: Option<String>,
    /// The parameters with what firewall rules key on (empty: nothing of the kind).
    parts: Vec<Telling>,
    /// A create the page demands to succeed.
    valid_create: bool,
}

/// Examples kept of each kind (a deep run keeps counts, not answers).
const EXAMPLES: usize = 40;

/// What the diagnostics need to remember of the answers seen so far.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    answered: usize,
    /// The run's `--service` ids (empty for a read-only run): named by the wrong-service hint.
    services: Vec<u32>,
    /// Answers to requests carrying the key as `API_ID` (any case) that are AMP answers.
    authenticated: usize,
    authenticated_amp001: usize,
    /// Answers to the key sent as `API-ID` (hyphen) that are AMP answers, and how many of
    /// them were not AMP001: the key is right, and only names with `_` are lost on the way.
    hyphen: usize,
    hyphen_accepted: usize,
    /// The first `Server` header: which hop answered.
    server: Option<String>,
    /// The first HTML answer of each status (a few): its first lines. The note shows the
    /// first whose status no other note explains.
    html: Vec<(u16, String)>,
    redirects: usize,
    /// The first redirect: its status and where it points.
    redirect: Option<(u16, String)>,
    not_found: usize,
    /// HTTP 502, 503 and 504 that are no AMP answer: a front whose application is down.
    gateway: usize,
    /// The first of them: status and the front's Server header.
    gateway_first: Option<(u16, Option<String>)>,
    /// Answers that are no AMP answer at all (not JSON, a byte-order mark, a page).
    not_amp: usize,
    /// Requests a front refused with its own 403/406 page, and how many of them there were.
    blocked: Vec<Blocked>,
    blocked_count: usize,
    /// How many of them were creates the page documents as valid.
    blocked_creates: usize,
    /// AMP answers to requests whose body is ASCII, and to bodies with non-ASCII text.
    amp_ascii: usize,
    amp_non_ascii: usize,
    /// A front's own 413 for a large body: how many, the smallest body refused, the hop.
    too_large: usize,
    too_large_smallest: Option<usize>,
    too_large_server: Option<String>,
    /// Creates the page demands to succeed that got an AMP answer; how many succeeded, how
    /// many got AMP003, and the first AMP003's description.
    valid_creates: usize,
    valid_created: usize,
    valid_amp003: usize,
    valid_amp003_text: Option<String>,
    connect: BTreeSet<String>,
}

impl Diagnostics {
    /// Diagnostics for a run whose `--service` ids are `services`.
    pub(crate) fn new(services: Vec<u32>) -> Self {
        Self {
            services,
            ..Self::default()
        }
    }

    /// Takes in a batch of answers.
    pub(crate) fn observe(&mut self, answers: &[Answered], endpoint: &str) {
        for (_, ready, answer, _) in answers {
            match answer {
                Ok(answer) => self.answer(ready, answer),
                Err(TransportError::Connect { step, detail }) if self.connect.len() < 3 => {
                    self.connect
                        .insert(format!("{step} failed for {endpoint}: {detail}"));
                }
                Err(_) => {}
            }
        }
    }

    fn answer(&mut self, ready: &crate::plan::Ready, answer: &HttpAnswer) {
        let auth = &ready.wire.auth;
        self.answered += 1;
        if self.server.is_none() {
            self.server.clone_from(&answer.server);
        }
        let kind = AnswerBody::of(&answer.body);
        // Every answer is counted: a scan of the raw body, no decoding (the parts are named
        // only for the few requests a front refuses).
        let non_ascii = carries_non_ascii(&ready.wire.body);
        // Only AMP answers say anything of the key: a web server's own page (its 413 for a
        // large body, say) is another hop speaking.
        if let AnswerBody::Amp(amp) = &kind {
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
            if !non_ascii {
                self.amp_ascii += 1;
            } else {
                self.amp_non_ascii += 1;
            }
            if ready.documented.documented_valid() {
                self.valid_creates += 1;
                match amp {
                    judge::AmpAnswer::Success(_) => self.valid_created += 1,
                    judge::AmpAnswer::Error(amp_contract::ErrorCode::MissingParameters, text) => {
                        self.valid_amp003 += 1;
                        if self.valid_amp003_text.is_none() {
                            self.valid_amp003_text = Some(clip(text, 120));
                        }
                    }
                    judge::AmpAnswer::Error(..) => {}
                }
            }
        } else {
            self.not_amp += 1;
        }
        let amp = matches!(kind, AnswerBody::Amp(_));
        match answer.status {
            300..=399 => {
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
            404 => self.not_found += 1,
            403 | 406 if !amp => {
                self.blocked_count += 1;
                let valid_create = ready.documented.documented_valid();
                self.blocked_creates += usize::from(valid_create);
                // A few more examples for creates: they are the ones the note names first.
                let kept = self.blocked.iter().filter(|b| b.valid_create).count();
                if self.blocked.len() < EXAMPLES || (valid_create && kept < 4) {
                    self.blocked.push(Blocked {
                        check: ready.case.id.clone(),
                        status: answer.status,
                        server: answer.server.clone(),
                        parts: telling_parts(ready.wire.header("content-type"), &ready.wire.body),
                        valid_create,
                    });
                }
            }
            413 if !amp => {
                self.too_large += 1;
                let size = ready.wire.body.len();
                self.too_large_smallest =
                    Some(self.too_large_smallest.map_or(size, |s| s.min(size)));
                if self.too_large_server.is_none() {
                    self.too_large_server.clone_from(&answer.server);
                }
            }
            502..=504 if !amp => {
                self.gateway += 1;
                if self.gateway_first.is_none() {
                    self.gateway_first = Some((answer.status, answer.server.clone()));
                }
            }
            _ => {}
        }
        if let AnswerBody::Html(first) = &kind {
            if self.html.len() < 8 && !self.html.iter().any(|(s, _)| *s == answer.status) {
                self.html.push((answer.status, first.clone()));
            }
        }
    }

    /// Whether (nearly) every AMP answer to the key refused it: nine in ten, so that a few
    /// answers of another kind (a hop's own page) do not hide it.
    fn key_refused(&self) -> bool {
        self.authenticated >= 3 && self.authenticated_amp001 * 10 >= self.authenticated * 9
    }

    /// Whether the creates the page demands to succeed were (nearly) all answered AMP003 while
    /// the key was accepted: the `--service` ids do not exist on the target.
    fn services_unknown(&self) -> bool {
        !self.services.is_empty()
            && !self.key_refused()
            && self.valid_creates >= 2
            && self.valid_created == 0
            && self.valid_amp003 * 10 >= self.valid_creates * 9
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
                 the CGI and FastCGI variables ($_SERVER['HTTP_API_ID'], under mod_php and \
                 php-fpm alike); mod_php's getallheaders() still has them. Map the header in \
                 Apache's configuration: `SetEnvIfNoCase ^API.ID$ ^(.*)$ HTTP_API_ID=$1`, or \
                 read getallheaders() in the add-on (mod_php only).",
                self.server.as_deref().unwrap_or("Apache")
            )
        } else {
            "nginx drops such headers unless `underscores_in_headers on;` is set; Apache leaves \
             them out of CGI/FastCGI variables (map the header with \
             `SetEnvIfNoCase ^API.ID$ ^(.*)$ HTTP_API_ID=$1`, or read getallheaders() under \
             mod_php)."
                .to_owned()
        };
        Some(format!(
            "every authenticated request got AMP001 ({} of {} AMP answers). {proof} {fix} Check \
             with: curl -sS -H \"API_ID: $AMP_API_ID\" --data 'action=create' URL (expect AMP003 \
             or AMP002, not AMP001), and compare with a request sent to WHMCS directly.",
            self.authenticated_amp001, self.authenticated
        ))
    }

    /// A front that refuses some requests with its own page while others reach the API: a
    /// web application firewall (ModSecurity's CRS, a hosting panel's rules), naming the
    /// requests and the parts of them it refused.
    fn waf_note(&self) -> Option<String> {
        let first = self.blocked.first()?;
        if self.amp_ascii + self.amp_non_ascii == 0 {
            // Nothing reached the API: not a rule for some requests, the front refuses them all.
            return Some(format!(
                "{} of {} answers were the front's own HTTP {} page ({}), and none was an AMP \
                 answer: a hop in front of the API refuses the kit's requests (a firewall, an \
                 address allow-list, authentication in front of WHMCS). Allow this client through \
                 it for {}, then run again.",
                self.blocked_count,
                self.answered,
                first.status,
                hop(first.server.as_deref()),
                server::API_PATH
            ));
        }
        let with_text: Vec<&Blocked> = self
            .blocked
            .iter()
            .filter(|b| b.parts.iter().any(|p| p.non_ascii))
            .collect();
        let statuses: BTreeSet<u16> = self.blocked.iter().map(|b| b.status).collect();
        let statuses: Vec<String> = statuses.iter().map(u16::to_string).collect();
        let creates: Vec<&Blocked> = self.blocked.iter().filter(|b| b.valid_create).collect();
        let name = |b: &Blocked| {
            if b.parts.is_empty() {
                b.check.clone()
            } else {
                format!("{} ({})", b.check, describe_parts(&b.parts))
            }
        };
        let examples: Vec<String> = creates
            .iter()
            .chain(
                self.blocked
                    .iter()
                    .filter(|b| !b.valid_create)
                    .collect::<Vec<_>>()
                    .iter(),
            )
            .take(4)
            .map(|b| name(b))
            .collect();
        let text_rule = with_text.len() * 10 >= self.blocked.len() * 9;
        let pattern = if text_rule {
            format!(
                "every refused request's body has non-ASCII text, while {} requests with ASCII \
                 bodies got AMP answers{}",
                self.amp_ascii,
                if self.amp_non_ascii == 0 {
                    " and no request with non-ASCII text did".to_owned()
                } else {
                    format!(" (and {} with non-ASCII text did)", self.amp_non_ascii)
                }
            )
        } else {
            format!(
                "{} other requests got AMP answers",
                self.amp_ascii + self.amp_non_ascii
            )
        };
        // Each sentence with its own leading space: an empty one leaves no gap.
        let consequence = if self.blocked_creates == 0 {
            if text_rule {
                " Real reports whose category or notes have non-ASCII text (names, quotes, \
                 other scripts) would be blocked the same way."
                    .to_owned()
            } else {
                String::new()
            }
        } else {
            let (n, are) = match self.blocked_creates {
                1 => ("1 of them is a create".to_owned(), "it"),
                n => (format!("{n} of them are creates"), "they"),
            };
            format!(
                " {n} the page documents as valid ({are} must succeed): real reports like these \
                 are blocked before they reach WHMCS."
            )
        };
        let more = match self.blocked_count.saturating_sub(examples.len()) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        Some(format!(
            "a firewall in front of the API refused {} requests with its own page (HTTP {}, {}) \
             instead of passing them to PHP: {pattern}.{consequence} Refused: {}{more}. Allow the \
             API's path through the firewall (for ModSecurity, a rule exclusion for \
             {} or for the parameters named), then run again.",
            self.blocked_count,
            statuses.join("/"),
            hop(first.server.as_deref()),
            examples.join("; "),
            server::API_PATH
        ))
    }

    /// Most answers a gateway error from a front: the application behind it is down.
    fn gateway_note(&self) -> Option<String> {
        let (status, server) = self.gateway_first.as_ref()?;
        if self.gateway * 2 < self.answered {
            return None;
        }
        let front = server.as_deref().map_or_else(
            || "the front (no Server header)".to_owned(),
            |s| format!("the front ({})", hop(Some(s))),
        );
        Some(format!(
            "{} of {} answers were HTTP {status} from {front}, not from PHP: the front is up but \
             the application behind it (php-fpm, the upstream WHMCS) is down or unreachable. \
             Check that service and the front's error log, then run again.",
            self.gateway, self.answered
        ))
    }

    /// A front's own 413 for the large bodies: its body limit.
    fn body_limit_note(&self) -> Option<String> {
        let smallest = self.too_large_smallest?;
        let server = self
            .too_large_server
            .as_deref()
            .unwrap_or("")
            .to_ascii_lowercase();
        let limit = if server.contains("nginx") {
            "nginx's client_max_body_size (1m by default)"
        } else if server.contains("apache") {
            "Apache's LimitRequestBody (or a module's own limit, such as ModSecurity's \
             SecRequestBodyNoFilesLimit)"
        } else {
            "a hop's body limit"
        };
        Some(format!(
            "{} requests with bodies of {smallest} bytes or more got the front's own HTTP 413 page \
             ({}), not the API's answer: {limit} refuses them before PHP. Bodies over 1 MiB are \
             left to R-BODY (NON-STRICT); a smaller limit would refuse real reports with long \
             notes.",
            self.too_large,
            hop(self.too_large_server.as_deref())
        ))
    }

    /// The `--service` ids the target does not know.
    fn services_note(&self) -> Option<String> {
        if !self.services_unknown() {
            return None;
        }
        let ids: Vec<String> = self.services.iter().map(u32::to_string).collect();
        Some(format!(
            "none of the {} creates the page documents as valid succeeded: each got AMP003 ({}), \
             the answer for a service that does not exist (R-SERVICE-ID), while the key and the \
             other requests were accepted. Check the ids passed with --service ({}): each must be \
             the id of an existing service on this WHMCS (Clients > Products/Services).",
            self.valid_creates,
            self.valid_amp003_text
                .as_deref()
                .map_or_else(String::new, |t| format!("\"{t}\"")),
            ids.join(", ")
        ))
    }

    /// Whether one run-level cause explains the failures seen so far (every authenticated
    /// answer AMP001, most answers redirects, 404s, gateway errors or not AMP answers at all,
    /// every documented create refused for its service): then a failing case says nothing of
    /// its values, and shrinking it only adds traffic.
    pub(crate) fn explains_failures(&self) -> bool {
        let most = |n: usize| self.answered >= 3 && n * 2 >= self.answered;
        self.key_refused()
            || self.services_unknown()
            || most(self.redirects)
            || most(self.not_found)
            || most(self.gateway)
            || most(self.not_amp)
    }

    /// The notes, each said once, the run-level causes first.
    pub(crate) fn notes(&self, endpoint: &str, observer: &ObserverLog) -> Vec<String> {
        let mut notes = Vec::new();
        notes.extend(self.header_note());
        notes.extend(self.gateway_note());
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
        notes.extend(self.services_note());
        let waf = self.waf_note();
        let gateway = self.gateway_note().is_some();
        notes.extend(waf.clone());
        notes.extend(observer.note());
        notes.extend(self.body_limit_note());
        // The first page no other note explains: a redirect's, a body limit's, a firewall's
        // and a down application's pages have theirs (a 404 page still shows which hop
        // answered: Apache's or nginx's own, a CMS's).
        let explained = |status: u16| match status {
            300..=399 | 413 => true,
            403 | 406 => waf.is_some(),
            502..=504 => gateway,
            _ => false,
        };
        if let Some((status, first)) = self.html.iter().find(|(s, _)| !explained(*s)) {
            let what = if *status >= 500 || *status == 200 {
                "which looks like a PHP error page or a web server's page"
            } else {
                "a web server's or a framework's page"
            };
            notes.push(format!(
                "the target answered HTML (HTTP {status}), {what}, not the API's JSON. First \
                 lines: {first}"
            ));
        }
        notes.extend(self.connect.iter().cloned());
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telling_parts_are_named_in_form_and_multipart_bodies() {
        let names = |parts: Vec<Telling>| -> Vec<(String, bool, bool)> {
            parts
                .into_iter()
                .map(|p| (p.name, p.non_ascii, p.markup))
                .collect()
        };
        assert_eq!(
            names(telling_parts(
                Some("application/x-www-form-urlencoded"),
                b"action=create&category=Caf%C3%A9&admin_notes=x&additional_info=%27q%27"
            )),
            vec![
                ("category".to_owned(), true, false),
                ("additional_info".to_owned(), false, true)
            ]
        );
        assert!(telling_parts(None, b"action=create&category=Spam").is_empty());
        let multipart = "--b\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ncreate\r\n\
             --b\r\nContent-Disposition: form-data; name=\"additional_info\"\r\n\r\nü\r\n--b--\r\n";
        let parts = telling_parts(
            Some("multipart/form-data; boundary=b"),
            multipart.as_bytes(),
        );
        assert_eq!(describe_parts(&parts), "non-ASCII text in additional_info");
    }

    #[test]
    fn body_kinds() {
        assert!(matches!(
            AnswerBody::of(br#"{"status":"success","report_id":1}"#),
            AnswerBody::Amp(_)
        ));
        assert!(
            matches!(AnswerBody::of(br#"{"report_id":1}"#), AnswerBody::Json(t) if t == r#"{"report_id":1}"#)
        );
        assert!(
            matches!(AnswerBody::of(b"<html><title>404 Not Found</title></html>"), AnswerBody::Html(t) if t.contains("404"))
        );
        assert_eq!(AnswerBody::of(b" "), AnswerBody::Empty);
    }
}
