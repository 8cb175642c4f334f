//! The web dashboard: plain HTML, CSS and JavaScript embedded in the binary with
//! `include_str!` (no build step, works without an internet connection), plus uPlot 1.6
//! (MIT, vendored under `assets/vendor/uplot`). Pages read the API with the bearer token
//! the user enters once (kept in `sessionStorage`; a `?token=` link, as the demo prints,
//! is stored and removed from the address bar).
//!
//! | path | page |
//! |---|---|
//! | `/` | redirect to `/dashboard/` |
//! | `/dashboard/` | fleet overview |
//! | `/dashboard/meter.html?id=SERIAL` | one meter: load-profile chart, registers, events, commands |
//! | `/dashboard/outages.html` | outages and SAIDI/SAIFI |
//! | `/dashboard/vee.html` | VEE exceptions queue |
//! | `/dashboard/billing.html` | billing determinants of the fleet |
//! | `/dashboard/commands.html` | every command (filter, page), a new command for a meter, states followed live, history |

use axum::Router;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::error::{ApiError, ErrorCode};

/// One embedded file: name, content type, body.
type Asset = (&'static str, &'static str, &'static str);

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file of the dashboard.
pub const ASSETS: [Asset; 11] = [
    ("index.html", HTML, include_str!("../../assets/dashboard/index.html")),
    ("meter.html", HTML, include_str!("../../assets/dashboard/meter.html")),
    ("outages.html", HTML, include_str!("../../assets/dashboard/outages.html")),
    ("vee.html", HTML, include_str!("../../assets/dashboard/vee.html")),
    ("billing.html", HTML, include_str!("../../assets/dashboard/billing.html")),
    ("commands.html", HTML, include_str!("../../assets/dashboard/commands.html")),
    ("app.js", JS, include_str!("../../assets/dashboard/app.js")),
    ("pages.js", JS, include_str!("../../assets/dashboard/pages.js")),
    ("style.css", CSS, include_str!("../../assets/dashboard/style.css")),
    ("uPlot.iife.min.js", JS, include_str!("../../assets/vendor/uplot/uPlot.iife.min.js")),
    ("uPlot.min.css", CSS, include_str!("../../assets/vendor/uplot/uPlot.min.css")),
];

/// Same-origin only: no external script, style, font or connection.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                   script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

fn serve(name: &str) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => (
            [
                (CONTENT_TYPE, *content_type),
                (CACHE_CONTROL, "no-cache"),
                (CONTENT_SECURITY_POLICY, CSP),
                (REFERRER_POLICY, "no-referrer"),
            ],
            *body,
        )
            .into_response(),
        None => ApiError::new(ErrorCode::NoRoute, format!("no dashboard file {name}")).into_response(),
    }
}

async fn index() -> Response {
    serve("index.html")
}

async fn file(Path(name): Path<String>) -> Response {
    serve(&name)
}

async fn root() -> Redirect {
    Redirect::to("/dashboard/")
}

async fn no_dashboard_slash() -> Redirect {
    Redirect::permanent("/dashboard/")
}

/// The dashboard routes (public: the pages hold no data; the data needs a token).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(root))
        .route("/dashboard", get(no_dashboard_slash))
        .route("/dashboard/", get(index))
        .route("/dashboard/{name}", get(file))
}
