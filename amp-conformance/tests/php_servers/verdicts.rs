//! The verdicts CONTRACT.md §4 demands against each PHP server: the bug-free one and one
//! server per realistic bug.

use super::*;

/// The harness itself: a taken port is recognised from PHP's own message (and retried by
/// `start`), and a started server answers JSON on the API and the observer.
#[tokio::test]
async fn harness_port_clash_and_answers() {
    if !php_ready() {
        return;
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    assert!(matches!(
        PhpServer::try_start("page_server.php", "", &[("AMP_PHP_BUG", "")], port),
        Err(StartError::PortTaken)
    ));
    drop(taken);

    let server = PhpServer::start("");
    let client = reqwest::Client::new();
    let post = |key: Option<&str>, body: &'static str| {
        let mut request = client
            .post(server.endpoint())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(key) = key {
            request = request.header("API_ID", key);
        }
        request.send()
    };
    let json = |text: String| -> serde_json::Value { serde_json::from_str(&text).unwrap() };
    let answer = post(None, "action=create&service_id=1&category=Spam")
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/json");
    assert_eq!(json(answer.text().await.unwrap())["error_code"], "AMP001");
    let answer = post(Some(KEY), "action=create&service_id=3&category=+Spam+")
        .await
        .unwrap();
    let created = json(answer.text().await.unwrap());
    assert_eq!(created["status"], "success", "{created}");
    let id = created["report_id"].as_u64().unwrap();
    let observe = |key: Option<&str>, id: u64| {
        let mut request = client.get(
            server
                .observe_template()
                .replace("{report_id}", &id.to_string()),
        );
        if let Some(key) = key {
            request = request.header("API_ID", key);
        }
        request.send()
    };
    let record = observe(Some(KEY), id).await.unwrap();
    assert_eq!(record.status(), 200);
    let record: amp_contract::ReportRecord =
        serde_json::from_str(&record.text().await.unwrap()).unwrap();
    assert_eq!(record.report_id, id);
    assert_eq!(record.values.category, "Spam");
    assert_eq!(record.values.service_ip, amp_contract::NO_DEDICATED_IP);
    let unauthorised = observe(None, id).await.unwrap();
    assert_eq!(unauthorised.status(), 401);
    assert_eq!(
        json(unauthorised.text().await.unwrap())["error_code"],
        "AMP001"
    );
    assert_eq!(observe(Some(KEY), id + 1000).await.unwrap().status(), 404);
    assert!(server.php_problems().is_empty(), "{}", server.log_text());
}

#[tokio::test]
async fn default_server_passes() {
    if !php_ready() {
        return;
    }
    let (_server, report) = run_with("").await;
    let mut expect = Expectations::new("bug-free PHP server", &report);
    let failing = matching(&report, |c| matches!(c.class, Class::Fail | Class::Error));
    expect.that(failing.is_empty(), "no FAIL and no ERROR", || {
        lines(&failing)
    });
    expect.that(report.passed, "the run passes", || listing(&report));
    // The observer worked: stored values were compared, not skipped.
    let stored_pass = matching(&report, |c| stored(c) && c.class == Class::Pass);
    expect.that(
        !stored_pass.is_empty(),
        "stored values were read back through the observer",
        || listing(&report),
    );
    let skipped = of(&report, Class::Skipped, "D-DEFAULTS");
    expect.that(skipped.is_empty(), "no D-DEFAULTS check skipped", || {
        lines(&skipped)
    });
    expect.check();
}

#[tokio::test]
async fn strict_bool_is_non_strict_r_bool_and_passes_documented_strict() {
    if !php_ready() {
        return;
    }
    let (server, report) = run_with("strict-bool").await;
    let mut expect = Expectations::new("strict-bool", &report);
    let fails = report.of_class(Class::Fail);
    expect.that(
        fails.is_empty(),
        "no FAIL: rejecting only on/off/yes/no breaks no documented rule",
        || lines(&fails),
    );
    expect.that(report.passed, "the run passes", || listing(&report));
    let r_bool = of(&report, Class::NonStrict, "R-BOOL");
    expect.that(
        !r_bool.is_empty(),
        "NON-STRICT R-BOOL for rejecting on/off/yes/no",
        || listing(&report),
    );

    let mut config = config_for(&server);
    config.profile = Profile::Documented;
    config.strict = true;
    let documented = checked_run(&server, config).await;
    expect.that(
        documented.passed,
        "the documented profile with --strict passes",
        || listing(&documented),
    );
    expect.check();
}

#[tokio::test]
async fn amp002_wording_is_not_an_r_order_finding() {
    if !php_ready() {
        return;
    }
    let (_server, report) = run_with("amp002-wording").await;
    let mut expect = Expectations::new("amp002-wording", &report);
    // R-ORDER asks AMP003 to name the offending parameters; AMP002 has no such rule.
    let wrong = matching(&report, |c| {
        is_finding(c)
            && c.rule == amp_contract::rules::Rule::ROrder
            && c.expected.starts_with("AMP002")
    });
    expect.that(
        wrong.is_empty(),
        "no R-ORDER finding on a check expecting AMP002 (its description need not name `action`)",
        || lines(&wrong),
    );
    expect.that(report.passed, "the run passes", || listing(&report));
    expect.check();
}

#[tokio::test]
async fn method_before_auth_is_fail_d_auth() {
    if !php_ready() {
        return;
    }
    let (_server, report) = run_with("method-before-auth").await;
    let mut expect = Expectations::new("method-before-auth", &report);
    let d_auth = of(&report, Class::Fail, "D-AUTH");
    expect.that(
        d_auth
            .iter()
            .any(|c| c.id == "auth/non-post-unauthenticated"),
        "auth/non-post-unauthenticated (GET without API_ID answered AMP002) is FAIL D-AUTH: \
         AMP001 whatever else the request contains",
        || format!("FAIL D-AUTH: {}\n{}", ids(&d_auth), listing(&report)),
    );
    // An AMP001 that is due is never softened to R-METHOD.
    let softened = matching(&report, |c| {
        c.class == Class::NonStrict
            && c.rule == amp_contract::rules::Rule::RMethod
            && c.expected.starts_with("AMP001")
    });
    expect.that(
        softened.is_empty(),
        "no NON-STRICT R-METHOD where AMP001 is due",
        || lines(&softened),
    );
    expect.that(!report.passed, "the run fails", || listing(&report));
    expect.check();
}

/// The names of the headers that carry the key in a check's reproduction (`-H "NAME:
/// $AMP_API_ID"`, however quoted): CONTRACT.md §4 has every reproduction show the bytes sent.
fn key_header_names(c: &CheckResult) -> Vec<String> {
    let Some(repro) = c.reproduction.as_deref() else {
        return Vec::new();
    };
    repro
        .match_indices(": $AMP_API_ID")
        .filter_map(|(at, _)| {
            let name = repro[..at].split_whitespace().next_back()?;
            Some(name.trim_start_matches(['"', '\'']).to_owned())
        })
        .collect()
}

#[tokio::test]
async fn exact_header_is_fail_d_auth_on_header_case_checks_only() {
    if !php_ready() {
        return;
    }
    let (_server, report) = run_with("exact-header").await;
    let mut expect = Expectations::new("exact-header", &report);
    let d_auth = of(&report, Class::Fail, "D-AUTH");
    let other_case: Vec<&CheckResult> = d_auth
        .iter()
        .copied()
        .filter(|c| {
            key_header_names(c)
                .iter()
                .any(|n| n.eq_ignore_ascii_case("API_ID") && n != "API_ID")
        })
        .collect();
    expect.that(
        !other_case.is_empty(),
        "FAIL D-AUTH on a check whose reproduction sends API_ID in another case (header names \
         are case-insensitive)",
        || {
            let named: Vec<String> = d_auth
                .iter()
                .map(|c| format!("{} sends {:?}", c.id, key_header_names(c)))
                .collect();
            format!("FAIL D-AUTH checks: {named:?}")
        },
    );
    // Ordinary requests send `API_ID` exactly as the page spells it (CONTRACT.md §4), so only
    // the header-case checks may find the bug: every FAIL is one of them, and there are few.
    let failing = matching(&report, |c| matches!(c.class, Class::Fail | Class::Error));
    let stray: Vec<&str> = failing
        .iter()
        .filter(|c| !other_case.iter().any(|o| o.id == c.id))
        .map(|c| c.id.as_str())
        .collect();
    expect.that(
        stray.is_empty() && failing.len() < 10,
        "fewer than 10 failing checks, all of them header-case checks: ordinary requests send \
         `API_ID` exactly",
        || {
            format!(
                "{} failing checks; not header-case checks: {stray:?}",
                failing.len()
            )
        },
    );
    expect.check();
}

#[tokio::test]
async fn category_untrimmed_is_non_strict_r_category() {
    if !php_ready() {
        return;
    }
    let (_server, report) = run_with("category-untrimmed").await;
    let mut expect = Expectations::new("category-untrimmed", &report);
    let r_category = matching(&report, |c| {
        c.class == Class::NonStrict && c.rule == amp_contract::rules::Rule::RCategory && stored(c)
    });
    expect.that(
        !r_category.is_empty(),
        "NON-STRICT R-CATEGORY on a stored-value check",
        || listing(&report),
    );
    let d_defaults = of(&report, Class::Fail, "D-DEFAULTS");
    expect.that(
        d_defaults.is_empty(),
        "no FAIL D-DEFAULTS: text equal up to surrounding whitespace meets it",
        || lines(&d_defaults),
    );
    expect.check();
}

#[tokio::test]
async fn notes_trimmed_is_non_strict_r_text() {
    if !php_ready() {
        return;
    }
    let (_server, report) = run_with("notes-trimmed").await;
    let mut expect = Expectations::new("notes-trimmed", &report);
    let r_text = matching(&report, |c| {
        c.class == Class::NonStrict && c.rule == amp_contract::rules::Rule::RText && stored(c)
    });
    expect.that(
        r_text.iter().any(|c| c.id == "success/notes-exact#stored"),
        "NON-STRICT R-TEXT on success/notes-exact#stored",
        || format!("NON-STRICT R-TEXT on stored checks: {}", ids(&r_text)),
    );
    let fails = report.of_class(Class::Fail);
    expect.that(
        fails.is_empty(),
        "no FAIL: trimmed notes break no documented rule",
        || lines(&fails),
    );
    expect.check();
}

#[tokio::test]
async fn first_key_wins_is_non_strict_r_duplicate() {
    if !php_ready() {
        return;
    }
    let (_server, report) = run_with("first-key-wins").await;
    let mut expect = Expectations::new("first-key-wins", &report);
    let r_duplicate = of(&report, Class::NonStrict, "R-DUPLICATE");
    expect.that(
        !r_duplicate.is_empty(),
        "NON-STRICT R-DUPLICATE for keeping the first occurrence of a key",
        || listing(&report),
    );
    let d_defaults = of(&report, Class::Fail, "D-DEFAULTS");
    expect.that(
        d_defaults.is_empty(),
        "no FAIL D-DEFAULTS: which occurrence of a repeated key is stored is a §3 matter",
        || lines(&d_defaults),
    );
    expect.check();
}

#[tokio::test]
async fn ipv6_as_sent_is_non_strict_r_service_ip() {
    if !php_ready() {
        return;
    }
    let (_server, report) = run_with("ipv6-as-sent").await;
    let mut expect = Expectations::new("ipv6-as-sent", &report);
    let r_ip = matching(&report, |c| {
        c.class == Class::NonStrict && c.rule == amp_contract::rules::Rule::RServiceIp && stored(c)
    });
    expect.that(
        !r_ip.is_empty(),
        "NON-STRICT R-SERVICE-IP on a stored-value check (address stored as sent, not canonical)",
        || listing(&report),
    );
    let fails = report.of_class(Class::Fail);
    expect.that(
        fails.is_empty(),
        "no FAIL: the same address in another spelling breaks no documented rule",
        || lines(&fails),
    );
    expect.check();
}

#[tokio::test]
async fn zero_category_is_fail_d_success() {
    if !php_ready() {
        return;
    }
    let (_server, report) = run_with("zero-category").await;
    let mut expect = Expectations::new("zero-category", &report);
    let d_success = of(&report, Class::Fail, "D-SUCCESS");
    expect.that(
        !d_success.is_empty(),
        "FAIL D-SUCCESS: category \"0\" is a non-empty category",
        || listing(&report),
    );
    expect.that(!report.passed, "the run fails", || listing(&report));
    expect.check();
}

#[tokio::test]
async fn notes_truncated_is_found_on_stored_values() {
    if !php_ready() {
        return;
    }
    let (_server, report) = run_with("notes-truncated").await;
    let mut expect = Expectations::new("notes-truncated", &report);
    let found = matching(&report, |c| {
        is_finding(c)
            && stored(c)
            && (c.rule == amp_contract::rules::Rule::RText
                || c.rule == amp_contract::rules::Rule::DDefaults)
    });
    expect.that(
        !found.is_empty(),
        "a FAIL or NON-STRICT (R-TEXT or D-DEFAULTS) on a stored-value check for notes cut to \
         255 characters",
        || listing(&report),
    );
    expect.check();
}
