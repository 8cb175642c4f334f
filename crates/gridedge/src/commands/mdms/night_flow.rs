//! `gridedge mdms night-flow`: minimum night flow (02:00–04:00 local, DST-aware) of a water
//! district metered area, its night leakage, and the water balance (non-revenue water, IWA
//! terms) over the same days; see `mdms::analytics`. Flows in m³/h, volumes in m³.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use jiff::civil::Date;
use mdms::analytics::{DmaRequest, NightFlowSettings, WaterBalanceSettings, dma_night_flow, dma_water_balance};
use mdms::billing::{BillingPeriod, TimeOfDay};
use serde_json::{Value, json};

use super::arg_values::{meter_list, parse_date, parse_time_zone};
use super::output::{OutputArgs, Table, cell};
use super::store_args::{StoreArgs, require_meters};

/// Arguments of `gridedge mdms night-flow`.
#[derive(Debug, Clone, Args)]
pub struct NightFlowArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Name of the district metered area (reported as given).
    #[arg(long, default_value = "dma")]
    pub dma: String,
    /// Meters measuring water into the DMA (repeat or separate with commas).
    #[arg(long, value_delimiter = ',', required = true)]
    pub inlet: Vec<String>,
    /// Meters measuring water leaving it to a neighbouring DMA.
    #[arg(long, value_delimiter = ',')]
    pub outlet: Vec<String>,
    /// Customer (billed) meters of the DMA.
    #[arg(long, value_delimiter = ',')]
    pub customer: Vec<String>,
    /// A file with more customer meters, one per line.
    #[arg(long, value_name = "FILE")]
    pub customers_file: Option<PathBuf>,
    /// First local day (its night is the first analysed).
    #[arg(long, value_parser = parse_date)]
    pub first_day: Date,
    /// Last local day (inclusive).
    #[arg(long, value_parser = parse_date)]
    pub last_day: Date,
    /// IANA time zone of the DMA.
    #[arg(long, default_value = "UTC")]
    pub time_zone: String,
    /// Interval length of the water volume profiles, seconds.
    #[arg(long, default_value_t = 900)]
    pub interval_length: i64,
    /// Start of the night window, local "HH:MM".
    #[arg(long, default_value = "02:00", value_parser = |s: &str| s.parse::<TimeOfDay>().map_err(|e| e.to_string()))]
    pub window_from: TimeOfDay,
    /// End of the night window, local "HH:MM".
    #[arg(long, default_value = "04:00", value_parser = |s: &str| s.parse::<TimeOfDay>().map_err(|e| e.to_string()))]
    pub window_to: TimeOfDay,
    /// Averaging length of the minimum night flow, minutes.
    #[arg(long, default_value_t = 60)]
    pub averaging_minutes: u32,
    /// Legitimate night use allowed per property without measured night data, l/property/h.
    #[arg(long, default_value_t = 1.7)]
    pub allowance_l_per_property_h: f64,
    /// Properties of the DMA without a meter here (they get the allowance).
    #[arg(long, default_value_t = 0)]
    pub unmetered_properties: u32,
    /// Known exceptional night use not metered here, m³/h.
    #[arg(long, default_value_t = 0.0)]
    pub exceptional_m3_per_h: f64,
    /// Billed unmetered consumption over the period, m³.
    #[arg(long, default_value_t = 0.0)]
    pub billed_unmetered_m3: f64,
    /// Unbilled authorized consumption over the period, m³.
    #[arg(long, default_value_t = 0.0)]
    pub unbilled_authorized_m3: f64,
    /// Night-day factor, hours/day, to estimate real losses from the night leakage.
    #[arg(long)]
    pub night_day_factor_h: Option<f64>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `gridedge mdms night-flow`.
///
/// # Errors
/// Unknown meters, an invalid period, time zone or setting, a store failure.
pub fn run(args: NightFlowArgs) -> anyhow::Result<ExitCode> {
    let store = args.store.open()?;
    let inlets = meter_list(&args.inlet, None)?;
    let outlets = meter_list(&args.outlet, None)?;
    let customers = meter_list(&args.customer, args.customers_file.as_deref())?;
    require_meters(&store, inlets.iter().chain(&outlets).chain(&customers))?;
    let request = DmaRequest {
        dma: args.dma.clone(),
        inlet_meters: inlets,
        outlet_meters: outlets,
        customer_meters: customers,
        period: BillingPeriod::new(args.first_day, args.last_day)?,
        time_zone: parse_time_zone(&args.time_zone)?,
        interval_length_s: args.interval_length,
    };
    let night = NightFlowSettings {
        window_from: args.window_from,
        window_to: args.window_to,
        averaging_minutes: args.averaging_minutes,
        allowance_l_per_property_h: args.allowance_l_per_property_h,
        unmetered_properties: args.unmetered_properties,
        exceptional_night_use_m3_per_h: args.exceptional_m3_per_h,
    };
    let balance = WaterBalanceSettings {
        billed_unmetered_m3: args.billed_unmetered_m3,
        unbilled_authorized_m3: args.unbilled_authorized_m3,
        night_day_factor_h: args.night_day_factor_h,
    };
    let report = dma_night_flow(&store, &request, &night)?;
    let water_balance = dma_water_balance(&store, &request, &balance, &night)?;
    let out = json!({ "night_flow": report, "water_balance": water_balance });
    args.output.print(&out, table)?;
    Ok(ExitCode::SUCCESS)
}

fn table(v: &Value) -> String {
    let columns = [
        "night",
        "window_start",
        "window_hours",
        "mnf_m3_per_h",
        "customer_night_use_m3_per_h",
        "allowance_m3_per_h",
        "night_leakage_m3_per_h",
    ];
    let mut t = Table::new(&columns);
    for n in v["night_flow"]["nights"].as_array().into_iter().flatten() {
        t.row(columns.iter().map(|k| cell(&n[*k])).collect());
    }
    let wb = &v["water_balance"];
    let mut text = t.render();
    for key in [
        "system_input_volume_m3",
        "billed_authorized_consumption_m3",
        "water_losses_m3",
        "real_losses_m3",
        "apparent_losses_m3",
        "non_revenue_water_m3",
        "non_revenue_water_percent",
    ] {
        text.push_str(&format!("\n{key}: {}", cell(&wb[key])));
    }
    text
}
