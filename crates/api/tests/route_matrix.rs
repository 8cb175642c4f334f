//! The whole route × role matrix over a real socket: every route of the API, called with no
//! token, a bad token, a revoked token and a token of each role, is allowed or refused
//! (401 / 403) as the table below says; every route in the table is in the OpenAPI
//! document and every documented route is in the table; every route is served (no
//! `no_route` / 405 answer).

mod common;

use std::collections::BTreeSet;

use api::{InMemoryRegistry, Role};
use reqwest::Method;
use serde_json::json;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone, without a token.
    Public,
    /// At least this role.
    AtLeast(Role),
}

use Access::*;

struct RouteCase {
    method: Method,
    /// The route template as in the OpenAPI document.
    template: &'static str,
    /// A concrete request.
    path: &'static str,
    body: Option<serde_json::Value>,
    access: Access,
    /// Statuses an allowed call may answer with.
    ok: &'static [u16],
}

fn case(
    method: Method,
    template: &'static str,
    path: &'static str,
    body: Option<serde_json::Value>,
    access: Access,
    ok: &'static [u16],
) -> RouteCase {
    RouteCase { method, template, path, body, access, ok }
}

const R: Access = AtLeast(Role::Reader);
const O: Access = AtLeast(Role::Operator);
const A: Access = AtLeast(Role::Admin);

/// The table: every route, its least role and what an allowed call answers.
fn table() -> Vec<RouteCase> {
    let get = Method::GET;
    let post = Method::POST;
    vec![
        case(get.clone(), "/api/v1/health", "/api/v1/health", None, Public, &[200]),
        case(get.clone(), "/api/openapi.json", "/api/openapi.json", None, Public, &[200]),
        case(get.clone(), "/metrics", "/metrics", None, Public, &[200]),
        case(get.clone(), "/api/v1/whoami", "/api/v1/whoami", None, R, &[200]),
        case(get.clone(), "/api/v1/meters", "/api/v1/meters", None, R, &[200]),
        case(get.clone(), "/api/v1/meters/{meter}", "/api/v1/meters/M1", None, R, &[200]),
        case(get.clone(), "/api/v1/fleet", "/api/v1/fleet", None, R, &[200]),
        case(
            get.clone(),
            "/api/v1/meters/{meter}/readings",
            "/api/v1/meters/M1/readings?from=2025-01-06T00:00:00Z&to=2025-01-07T00:00:00Z",
            None,
            R,
            &[200],
        ),
        case(
            get.clone(),
            "/api/v1/meters/{meter}/load-profile",
            "/api/v1/meters/M1/load-profile?from=2025-01-06T00:00:00Z&to=2025-01-07T00:00:00Z",
            None,
            R,
            &[200],
        ),
        case(
            get.clone(),
            "/api/v1/meters/{meter}/readings/{reading_type}/{interval_end}/history",
            "/api/v1/meters/M1/readings/active_energy_import/2025-01-06T00:15:00Z/history",
            None,
            R,
            &[200],
        ),
        case(
            get.clone(),
            "/api/v1/meters/{meter}/registers",
            "/api/v1/meters/M1/registers?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z",
            None,
            R,
            &[200],
        ),
        case(get.clone(), "/api/v1/edits", "/api/v1/edits", None, R, &[200]),
        case(get.clone(), "/api/v1/vee/exceptions", "/api/v1/vee/exceptions", None, R, &[200]),
        case(
            get.clone(),
            "/api/v1/meters/{meter}/billing",
            "/api/v1/meters/M1/billing?first_day=2025-01-06&last_day=2025-01-06",
            None,
            R,
            &[200],
        ),
        case(
            get.clone(),
            "/api/v1/billing",
            "/api/v1/billing?first_day=2025-01-06&last_day=2025-01-06",
            None,
            R,
            &[200],
        ),
        case(
            get.clone(),
            "/api/v1/exports/intervals.csv",
            "/api/v1/exports/intervals.csv?from=2025-01-06T00:00:00Z&to=2025-01-07T00:00:00Z",
            None,
            R,
            &[200],
        ),
        case(
            get.clone(),
            "/api/v1/exports/meter-readings.xml",
            "/api/v1/exports/meter-readings.xml?from=2025-01-06T00:00:00Z&to=2025-01-07T00:00:00Z",
            None,
            R,
            &[200],
        ),
        case(
            get.clone(),
            "/api/v1/exports/espi/{meter}",
            "/api/v1/exports/espi/M1?from=2025-01-06T00:00:00Z&to=2025-01-07T00:00:00Z",
            None,
            R,
            &[200],
        ),
        case(get.clone(), "/api/v1/meters/{meter}/vends", "/api/v1/meters/M1/vends", None, R, &[200]),
        case(get.clone(), "/api/v1/commands", "/api/v1/commands", None, R, &[200]),
        case(get.clone(), "/api/v1/commands/{id}", "/api/v1/commands/1", None, R, &[200]),
        case(get.clone(), "/api/v1/events", "/api/v1/events", None, R, &[200]),
        case(get.clone(), "/api/v1/outages", "/api/v1/outages", None, R, &[200]),
        case(get.clone(), "/api/v1/reliability", "/api/v1/reliability", None, R, &[200]),
        case(
            post.clone(),
            "/api/v1/commands",
            "/api/v1/commands",
            Some(json!({"meter": "M1", "kind": "disconnect"})),
            O,
            &[202],
        ),
        case(
            Method::PUT,
            "/api/v1/meters/{meter}/readings/{reading_type}/{interval_end}",
            "/api/v1/meters/M1/readings/active_energy_import/2025-01-06T06:00:00Z",
            Some(json!({"value": 7000.0, "reason": "matrix test"})),
            O,
            &[200],
        ),
        case(
            post.clone(),
            "/api/v1/meters/{meter}/readings/{reading_type}/estimate",
            "/api/v1/meters/M1/readings/active_energy_import/estimate",
            Some(json!({"from": "2025-01-06T10:00:00Z", "to": "2025-01-06T11:00:00Z", "reason": "matrix test"})),
            O,
            &[200],
        ),
        case(
            post.clone(),
            "/api/v1/vee/exceptions/accept",
            "/api/v1/vee/exceptions/accept",
            Some(json!({"meter": "M1", "reason": "matrix test"})),
            O,
            &[200],
        ),
        case(
            post.clone(),
            "/api/v1/vends",
            "/api/v1/vends",
            Some(json!({"request_id": "matrix-1", "meter": "M1", "amount": "10.00", "currency": "GBP"})),
            O,
            // The first allowed call issues a token, the second repeats the request id.
            &[201, 200],
        ),
        case(
            post.clone(),
            "/api/v1/events",
            "/api/v1/events",
            Some(json!([{"meter": "M1", "event_type": "3.26.0.47", "occurred_at": "2025-01-06T12:00:00Z"}])),
            O,
            &[201],
        ),
        case(
            post.clone(),
            "/api/v1/meters",
            "/api/v1/meters",
            Some(json!({"serial": "M9", "host": "127.0.0.1", "port": 4059, "authentication": "low", "password": "pw"})),
            A,
            &[201],
        ),
        case(
            post.clone(),
            "/api/v1/tokens",
            "/api/v1/tokens",
            Some(json!({"name": "new", "role": "reader"})),
            A,
            &[201],
        ),
        case(get.clone(), "/api/v1/tokens", "/api/v1/tokens", None, A, &[200]),
        // Token 5 is the victim token created in the test.
        case(Method::DELETE, "/api/v1/tokens/{id}", "/api/v1/tokens/5", None, A, &[204]),
        case(get.clone(), "/api/v1/audit", "/api/v1/audit", None, A, &[200]),
        case(get.clone(), "/api/v1/audit/verify", "/api/v1/audit/verify", None, A, &[200]),
    ]
}

fn registry() -> InMemoryRegistry {
    let registry = InMemoryRegistry::new();
    // A meter address where nothing listens: commands are accepted, then fail to connect.
    let endpoint = hes::MeterEndpoint {
        serial: model::MeterId::from("M1"),
        address: "127.0.0.1:9".parse().unwrap(),
        client_sap: 1,
        server_sap: 1,
        authentication: dlms::association::Authentication::Low { password: b"00000000".to_vec() },
        link: hes::transport::LinkLayer::Wrapper,
        security: None,
    };
    registry.insert(endpoint, Some("T1".into()), Some("F1".into()), "active");
    registry
}

fn vending() -> vending::VendingService {
    let mut store = vending::VendStore::open_in_memory().unwrap();
    let account = vending::MeterAccount::simulated("M1").unwrap();
    store.upsert_account(&account).unwrap();
    let tariff = vending::Tariff::new(account.tariff_index, "GBP".parse().unwrap(), 2, "0.25").unwrap();
    store.set_tariff(&tariff, jiff::Timestamp::now()).unwrap();
    let key = sts::VendingKey::from_hex(vending::TEST_VENDING_KEY_HEX).unwrap();
    vending::VendingService::new(store, key).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_allowed_or_refused_per_role() {
    let server = common::start(&[common::reading("M1", 2, 250.0)], registry(), |b, _| b.vending(vending())).await;
    // Token 4: revoked before the walk. Token 5: the victim of DELETE /tokens/{id}.
    let tokens = api::TokenStore::new(api::ApiDb::open(&server.db_path).unwrap());
    let revoked = tokens.create("gone", Role::Admin, "test").unwrap();
    assert_eq!(revoked.info.id, 4);
    assert!(tokens.revoke(4).unwrap());
    assert_eq!(tokens.create("victim", Role::Reader, "test").unwrap().info.id, 5);
    // Command 1 exists for GET /commands/{id}.
    let first = server
        .state
        .commands
        .submit(&model::MeterId::from("M1"), &hes::commands::CommandRequest::Reconnect, "setup")
        .unwrap();
    assert_eq!(first.id, 1);

    let callers: [(&str, Option<&str>, Option<Role>); 6] = [
        ("no token", None, None),
        ("bad token", Some("ge_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), None),
        ("revoked token", Some(revoked.token.as_str()), None),
        ("reader", Some(server.reader.as_str()), Some(Role::Reader)),
        ("operator", Some(server.operator.as_str()), Some(Role::Operator)),
        ("admin", Some(server.admin.as_str()), Some(Role::Admin)),
    ];
    let mut checked = 0;
    for route in table() {
        for (who, token, role) in &callers {
            let mut req = server.client.request(route.method.clone(), format!("{}{}", server.base, route.path));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = &route.body {
                req = req.json(b);
            }
            let response = req.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            let what = format!("{} {} as {who}: {status} {text:.300}", route.method, route.path);
            let allowed = match (route.access, role) {
                (Public, _) => true,
                (AtLeast(_), None) => false,
                (AtLeast(least), Some(r)) => r.allows(least),
            };
            if allowed {
                assert!(route.ok.contains(&status), "expected one of {:?}: {what}", route.ok);
            } else {
                let (expected_status, expected_code) =
                    if role.is_none() { (401, "unauthorized") } else { (403, "forbidden") };
                assert_eq!(status, expected_status, "{what}");
                let body: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(body["error"]["code"], expected_code, "{what}");
                assert!(body["error"]["message"].is_string(), "{what}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, table().len() * callers.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_lists_exactly_the_routes() {
    let server = common::start(&[], registry(), |b, _| b).await;
    let (status, doc) = server.get("/api/openapi.json", "").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let tabled: BTreeSet<(String, String)> =
        table().iter().map(|c| (c.method.as_str().to_string(), c.template.to_string())).collect();
    let missing: Vec<_> = tabled.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&tabled).collect();
    assert!(missing.is_empty(), "routes missing from the OpenAPI document: {missing:?}");
    assert!(extra.is_empty(), "documented routes missing from the test's table: {extra:?}");
    // Every route of the table is served by the router: an admin call never gets the
    // router's own 404 (`no_route`) or 405.
    for route in table() {
        let mut req = server.client.request(route.method.clone(), format!("{}{}", server.base, route.path));
        req = req.bearer_auth(&server.admin);
        if let Some(b) = &route.body {
            req = req.json(b);
        }
        let response = req.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_ne!(status, 405, "{} {}", route.method, route.path);
        let code = serde_json::from_str::<serde_json::Value>(&text).ok().map(|b| b["error"]["code"].clone());
        assert_ne!(code, Some(json!("no_route")), "{} {} is not routed: {text:.300}", route.method, route.path);
    }
    // Secured operations declare the bearer scheme; the document defines it.
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert!(doc["paths"]["/api/v1/meters"]["get"]["security"].is_array());
    // And an unknown path is the JSON no_route error, a wrong method 405.
    let (status, body) = server.get("/api/v1/nope", &server.admin).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("no_route")));
    let (status, body) = server.send(Method::PATCH, "/api/v1/meters", &server.admin, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (405, Some("method_not_allowed")));
}
