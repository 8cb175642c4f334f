//! Standard exports of stored interval data, produced by `mdms::export`: CSV (with quality
//! and version), IEC 61968-9 `MeterReadings` XML and NAESB ESPI (Green Button) XML.

use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use mdms::export::espi::{EspiExportOptions, write_usage_point};
use mdms::export::{ExportQuery, Versions, cim, csv};
use model::MeterId;
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{ApiPath, ApiQuery};
use super::readings::parse_reading_type;
use crate::error::{ApiError, ErrorBody};
use crate::query::TimeRange;
use crate::state::AppState;

/// What to export.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Meters, comma-separated (default: every meter).
    pub meters: Option<String>,
    /// Reading types, comma-separated (default: all).
    pub reading_types: Option<String>,
    /// First interval end included, ISO 8601 with offset (default: `to` − 24 h).
    pub from: Option<String>,
    /// First interval end excluded (default: now).
    pub to: Option<String>,
    /// `latest` (default) or `all` versions.
    pub versions: Option<String>,
}

impl ExportParams {
    fn query(&self, state: &AppState) -> Result<ExportQuery, ApiError> {
        let range = TimeRange::parse(
            self.from.as_deref(),
            self.to.as_deref(),
            Timestamp::now(),
            SignedDuration::from_hours(24),
        )?;
        if range.to.duration_since(range.from) > state.settings.max_export_span {
            return Err(ApiError::bad_request("the export range is too long"));
        }
        let list = |s: &Option<String>| -> Vec<String> {
            s.as_deref()
                .map(|s| s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect())
                .unwrap_or_default()
        };
        Ok(ExportQuery {
            meters: list(&self.meters).into_iter().map(MeterId).collect(),
            reading_types: list(&self.reading_types).iter().map(|t| parse_reading_type(t)).collect::<Result<_, _>>()?,
            from: range.from,
            to: range.to,
            versions: match self.versions.as_deref() {
                None | Some("latest") => Versions::Latest,
                Some("all") => Versions::All,
                Some(other) => {
                    return Err(ApiError::bad_request(format!("versions must be latest or all, not {other:?}")));
                }
            },
        })
    }
}

fn document(content_type: &'static str, filename: &str, body: Vec<u8>) -> Response {
    (
        [
            (CONTENT_TYPE, content_type.to_string()),
            (CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        body,
    )
        .into_response()
}

/// Interval values as CSV (RFC 4180; columns meter, reading_type, obis, interval_end,
/// value, unit, quality, quality_names, version, collected_at, ingested_at, source).
/// Role: reader.
#[utoipa::path(get, path = "/api/v1/exports/intervals.csv", tag = "exports", params(ExportParams),
    description = "Role: reader.",
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_csv(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let query = q.query(&state)?;
    let body = state
        .store(move |store| {
            let mut out = Vec::new();
            csv::write_intervals_csv(store, &query, &mut out)?;
            Ok(out)
        })
        .await?;
    Ok(document("text/csv; charset=utf-8", "intervals.csv", body))
}

/// Interval and register values as an IEC 61968-9 `MeterReadings` document (namespace
/// `http://iec.ch/TC57/2011/MeterReadings#`). Role: reader.
#[utoipa::path(get, path = "/api/v1/exports/meter-readings.xml", tag = "exports", params(ExportParams),
    description = "Role: reader.",
    responses((status = 200, content_type = "application/xml", body = String), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_cim(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let query = q.query(&state)?;
    let body = state
        .store(move |store| {
            let mut out = Vec::new();
            cim::write_meter_readings(store, &query, &mut out)?;
            Ok(out)
        })
        .await?;
    Ok(document("application/xml; charset=utf-8", "meter-readings.xml", body))
}

/// Range of a Green Button export.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EspiParams {
    /// Start of the first interval, ISO 8601 with offset (default: `to` − 24 h).
    pub from: Option<String>,
    /// End of the last interval, inclusive (default: now).
    pub to: Option<String>,
}

/// One meter (its usage point) as a NAESB REQ.21 ESPI Green Button Atom feed of interval
/// consumption (Wh). Role: reader.
#[utoipa::path(get, path = "/api/v1/exports/espi/{meter}", tag = "exports",
    params(("meter" = String, Path), EspiParams),
    description = "Role: reader.",
    responses((status = 200, content_type = "application/atom+xml", body = String), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_espi(
    State(state): State<AppState>,
    ApiPath(meter): ApiPath<String>,
    ApiQuery(q): ApiQuery<EspiParams>,
) -> Result<Response, ApiError> {
    let range = TimeRange::parse(q.from.as_deref(), q.to.as_deref(), Timestamp::now(), SignedDuration::from_hours(24))?;
    if range.to.duration_since(range.from) > state.settings.max_export_span {
        return Err(ApiError::bad_request("the export range is too long"));
    }
    let filename = format!("greenbutton-{}.xml", meter.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
    let id = MeterId(meter);
    let body = state
        .store(move |store| {
            let mut out = Vec::new();
            let options = EspiExportOptions::new(Timestamp::now());
            write_usage_point(store, &id, range.from, range.to, &options, &mut out)?;
            Ok(out)
        })
        .await?;
    Ok(document("application/atom+xml; charset=utf-8", &filename, body))
}
