//! One test (or a few) per rule id of CONTRACT.md §2 and §3 that concerns reading a request,
//! plus the page's own contradictions of §1. Test names start with the rule id they check.
//!
//! Requests go through [`amp_contract::envelope::handle`] exactly as a server would call it;
//! the parameter rules are also checked through [`Action::from_form`].

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;

use amp_contract::envelope::{
    self, Accepted, ApiIds, BODY_LIMIT, Body, DedicatedIp, Rejection, Request,
};
use amp_contract::form::FormPairs;
use amp_contract::{
    Action, ApiResponse, CreateAbuseReport, ErrorCode, NO_DEDICATED_IP, SuspendMethod,
};
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};

const KEY: &str = "k3y-0001";
const URLENCODED: &str = "application/x-www-form-urlencoded";

/// The service registry of these tests: 1 has no dedicated IP, 2 has one, 2147483647 exists.
fn services(id: u32) -> Option<DedicatedIp> {
    match id {
        1 | 7 | 2_147_483_647 => Some(DedicatedIp::None),
        2 => Some(DedicatedIp::Address("203.0.113.10".parse().unwrap())),
        _ => None,
    }
}

/// A request under construction: authenticated, POST, urlencoded unless changed.
struct Req {
    method: Method,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
}

fn post(body: impl AsRef<[u8]>) -> Req {
    let mut headers = HeaderMap::new();
    headers.insert("api_id", HeaderValue::from_static(KEY));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(URLENCODED));
    Req {
        method: Method::POST,
        headers,
        body: Some(body.as_ref().to_vec()),
    }
}

impl Req {
    fn unauthenticated(mut self) -> Self {
        self.headers.remove("api_id");
        self
    }

    fn header(mut self, name: &str, value: &[u8]) -> Self {
        self.headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value).unwrap(),
        );
        self
    }

    fn content_type(mut self, value: Option<&str>) -> Self {
        self.headers.remove(CONTENT_TYPE);
        if let Some(value) = value {
            self.headers
                .insert(CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        }
        self
    }

    fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    fn too_large(mut self) -> Self {
        self.body = None;
        self
    }

    fn send(&self) -> Result<Accepted, Rejection> {
        let body = match &self.body {
            Some(body) => Body::Complete(body),
            None => Body::TooLarge,
        };
        let request = Request {
            method: &self.method,
            headers: &self.headers,
            body,
        };
        envelope::handle(&request, &ApiIds::from_list(KEY), &services)
    }

    fn ok(&self) -> Accepted {
        match self.send() {
            Ok(accepted) => accepted,
            Err(rejection) => panic!("expected success, got {rejection:?}"),
        }
    }

    fn err(&self) -> Rejection {
        match self.send() {
            Ok(accepted) => panic!("expected an error, got {accepted:?}"),
            Err(rejection) => rejection,
        }
    }

    fn code(&self) -> ErrorCode {
        self.err().error.code
    }

    /// Asserts AMP003 naming exactly `params`, in that order.
    fn amp003(&self, params: &[&str]) -> Rejection {
        let rejection = self.err();
        assert_eq!(
            rejection.error.code,
            ErrorCode::MissingParameters,
            "{rejection:?}"
        );
        assert_eq!(rejection.error.params, params, "{rejection:?}");
        assert_eq!(rejection.status, StatusCode::OK);
        rejection
    }
}

/// A valid minimal create with `extra` appended (already encoded).
fn create(extra: &str) -> Req {
    post(format!("action=create&service_id=1&category=Spam{extra}"))
}

fn enc(value: &str) -> String {
    let mut out = String::new();
    amp_contract::form::php_urlencode_into(value.as_bytes(), &mut out);
    out
}

fn parse(body: &[u8]) -> Result<CreateAbuseReport, Vec<&'static str>> {
    CreateAbuseReport::from_form(&FormPairs::from_urlencoded(body)).map_err(|v| v.params())
}

mod page;
mod transport;
mod values;
