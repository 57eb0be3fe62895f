//! No report lost or duplicated under concurrency (D-UNIQUE, R-IDS): 64 concurrent clients,
//! each with its own connection pool, send 32 creates each (2,048 in all) over real loopback
//! HTTP. Every answer is a success; the ids are unique; the store holds exactly that many, in
//! ascending id order; each stored report carries the values its request sent (the client and
//! request index are encoded in `additional_info`, the client in `admin_notes`), so a report
//! stored under another request's id would be seen; and the requests of one client, sent one
//! after the other, got increasing ids (they were stored in that order).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use amp_conformance::server::{Registry, ServerConfig, start_local};
use amp_contract::envelope::ApiIds;
use serde_json::Value;

const KEY: &str = "test-key";
const SERVICES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/services.toml");
const CLIENTS: usize = 64;
const PER_CLIENT: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn d_unique_r_ids_2048_creates_from_64_concurrent_clients() {
    let config = ServerConfig::new(
        ApiIds::from_list(KEY),
        Registry::from_file(Path::new(SERVICES)).unwrap(),
    );
    let server = start_local(config).await.unwrap();
    let endpoint = server.endpoint();

    let mut tasks = Vec::new();
    for client_index in 0..CLIENTS {
        let endpoint = endpoint.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap();
            let mut ids = Vec::with_capacity(PER_CLIENT);
            for request_index in 0..PER_CLIENT {
                let service = 1 + (client_index + request_index) % 3;
                let body = format!(
                    "action=create&service_id={service}&category=Load+{client_index}\
                     &additional_info=c{client_index}-r{request_index}&admin_notes=client+{client_index}"
                );
                let response = client
                    .post(&endpoint)
                    .header("api_id", KEY)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                let json: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
                assert_eq!(json["status"], "success", "{json}");
                ids.push((json["report_id"].as_u64().unwrap(), request_index, service));
            }
            (client_index, ids)
        }));
    }

    // report_id -> (client, request, service) as the answers told it.
    let mut answered = BTreeMap::new();
    for task in tasks {
        let (client_index, ids) = task.await.unwrap();
        // One client's requests went one after the other, so were stored in that order.
        assert!(
            ids.windows(2).all(|w| w[0].0 < w[1].0),
            "client {client_index}: ids not increasing in request order: {ids:?}"
        );
        for (id, request_index, service) in ids {
            let previous = answered.insert(id, (client_index, request_index, service));
            assert!(previous.is_none(), "report_id {id} returned twice");
        }
    }
    let total = CLIENTS * PER_CLIENT;
    assert!(total >= 2000);
    assert_eq!(answered.len(), total);

    let stored = server.state().store.all();
    assert_eq!(stored.len(), total, "the store holds exactly the creates");
    assert_eq!(server.state().store.len(), total);
    assert!(
        stored.windows(2).all(|w| w[0].report_id < w[1].report_id),
        "ids ascend in storage order"
    );
    // Nothing answered that was not stored, nothing stored that was not answered.
    assert!(
        stored
            .iter()
            .map(|r| r.report_id)
            .eq(answered.keys().copied())
    );
    // Ids 1..=total, no gap: each assigned id was stored.
    assert_eq!(stored.first().map(|r| r.report_id), Some(1));
    assert_eq!(stored.last().map(|r| r.report_id), Some(total as u64));
    for record in &stored {
        let (client_index, request_index, service) = answered[&record.report_id];
        let values = &record.values;
        assert_eq!(values.service_id as usize, service, "{record:?}");
        assert_eq!(
            values.category,
            format!("Load {client_index}"),
            "{record:?}"
        );
        assert_eq!(
            values.additional_info,
            format!("c{client_index}-r{request_index}"),
            "{record:?}"
        );
        assert_eq!(
            values.admin_notes,
            format!("client {client_index}"),
            "{record:?}"
        );
    }

    server.shutdown().await.unwrap();
}
