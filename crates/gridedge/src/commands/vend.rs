//! `gridedge vend`: sell prepayment credit — a payment for a meter becomes a 20-digit STS
//! token at the meter's tariff, recorded in the vending database (see the `vending` crate).
//!
//! ```text
//! gridedge vend --meter GE00000001 --amount 20.00 --currency GBP --request-id POS1-0001 \
//!     [--price-per-kwh 0.25] [--db vend.db] [--operator NAME] [--json]
//! ```
//!
//! A meter the database does not know is enrolled as a simulated meter (DRN derived from the
//! serial, or `--drn`), with the key attributes `gridedge meter --prepaid` uses, so the two
//! agree without configuration. `--price-per-kwh` sets the price of the meter's tariff index
//! in `--currency`. The vending key comes from `--vending-key` or `$GRIDEDGE_VENDING_KEY`;
//! without either the public test key is used (and a warning printed): fine for the
//! simulator, never for real meters.
//!
//! Repeating a request id returns the original token (no second token is issued; exit 0,
//! "duplicate" noted on stderr); reusing it for a different vend fails.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use jiff::Timestamp;
use serde_json::json;
use sts::{MeterPan, VendingKey};
use vending::{
    CurrencyCode, MeterAccount, TEST_VENDING_KEY_HEX, Tariff, VendOutcome, VendRequest, VendStore, VendingService,
    format_decimal,
};

/// The environment variable holding the 40-hex-digit DKGA04 vending key.
pub const VENDING_KEY_ENV: &str = "GRIDEDGE_VENDING_KEY";

/// Arguments of `gridedge vend`.
#[derive(Args)]
pub struct VendArgs {
    /// Serial number of the meter.
    #[arg(long)]
    pub meter: String,
    /// Amount paid, in the currency (e.g. 20.00).
    #[arg(long)]
    pub amount: String,
    /// ISO 4217 code of the payment's currency (e.g. GBP); must be the tariff's.
    #[arg(long)]
    pub currency: String,
    /// Idempotency key of the sale (e.g. the point of sale's transaction number).
    #[arg(long)]
    pub request_id: String,
    /// The vending database (SQLite).
    #[arg(long, default_value = "vend.db")]
    pub db: PathBuf,
    /// Who vends (recorded with the vend). Default: $USER, else "gridedge-cli".
    #[arg(long)]
    pub operator: Option<String>,
    /// Set the price per kWh of the meter's tariff index in --currency before vending.
    #[arg(long)]
    pub price_per_kwh: Option<String>,
    /// Decimal places of the currency's minor unit (with --price-per-kwh).
    #[arg(long, default_value_t = 2)]
    pub currency_exponent: u8,
    /// Decoder reference number (11 or 13 digits) when enrolling an unknown meter.
    #[arg(long)]
    pub drn: Option<String>,
    /// DKGA04 vending key, 40 hex digits (default: $GRIDEDGE_VENDING_KEY, else the test key).
    #[arg(long)]
    pub vending_key: Option<String>,
    /// Print the vend record as JSON instead of the bare token.
    #[arg(long)]
    pub json: bool,
}

/// The vending key: `arg`, else `$GRIDEDGE_VENDING_KEY`, else the public test key (with a
/// warning on stderr).
///
/// # Errors
/// A key that is not 40 hex digits.
pub fn vending_key(arg: Option<&str>) -> anyhow::Result<VendingKey> {
    let from_env = std::env::var(VENDING_KEY_ENV).ok();
    let hex = match arg.or(from_env.as_deref()) {
        Some(hex) => hex.to_string(),
        None => {
            eprintln!("warning: using the public test vending key (set --vending-key or ${VENDING_KEY_ENV})");
            TEST_VENDING_KEY_HEX.to_string()
        }
    };
    match VendingKey::from_hex(&hex).context("vending key")? {
        k @ VendingKey::Bits160(_) => Ok(k),
        VendingKey::Des64(_) => bail!("the vending key must be 160 bits (40 hex digits) for DKGA04"),
    }
}

/// The STS account of a simulated meter: [`MeterAccount::simulated`], with `drn` as its
/// decoder reference number when given.
///
/// # Errors
/// An invalid DRN.
pub fn simulated_account(serial: &str, drn: Option<&str>) -> anyhow::Result<MeterAccount> {
    let mut account = MeterAccount::simulated(serial).map_err(|e| anyhow!("{e}"))?;
    if let Some(drn) = drn {
        account.pan = MeterPan::from_drn(drn).map_err(|e| anyhow!("DRN {drn}: {e}"))?;
    }
    Ok(account)
}

/// Runs the subcommand.
pub fn run(args: VendArgs) -> anyhow::Result<ExitCode> {
    let key = vending_key(args.vending_key.as_deref())?;
    let currency: CurrencyCode = args.currency.parse()?;
    let store = VendStore::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    let mut service = VendingService::new(store, key)?;
    let account = match (service.store().account(&args.meter)?, &args.drn) {
        (Some(a), None) => a,
        (existing, drn) => {
            let account = simulated_account(&args.meter, drn.as_deref())?;
            service.store_mut().upsert_account(&account)?;
            if existing.is_none() {
                eprintln!("enrolled meter {} (MeterPAN {})", account.serial, account.pan.to_digits());
            }
            account
        }
    };
    if let Some(price) = &args.price_per_kwh {
        let tariff = Tariff::new(account.tariff_index, currency, args.currency_exponent, price)?;
        service.store_mut().set_tariff(&tariff, Timestamp::now())?;
    }
    let tariff = service.store().tariff(account.tariff_index)?.ok_or_else(|| {
        anyhow!("no price for tariff index {:02}: pass --price-per-kwh", account.tariff_index.value())
    })?;
    let amount_minor = tariff.parse_amount(&args.amount).with_context(|| format!("amount in {}", tariff.currency))?;
    let operator =
        args.operator.clone().or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "gridedge-cli".to_string());
    let request = VendRequest {
        request_id: args.request_id.clone(),
        serial: args.meter.clone(),
        amount_minor,
        currency,
        operator,
        requested_at: Timestamp::now(),
    };
    let outcome = service.vend(&request)?;
    let v = outcome.record();
    if let VendOutcome::Duplicate(_) = outcome {
        eprintln!(
            "duplicate request id {}: the original vend of {} is returned, no new token issued",
            v.request_id, v.vended_at
        );
    }
    if args.json {
        let out = json!({
            "duplicate": outcome.is_duplicate(),
            "request_id": v.request_id,
            "meter": v.serial,
            "operator": v.operator,
            "vended_at": v.vended_at.to_string(),
            "amount": tariff.format_amount(v.amount_minor),
            "currency": v.currency.to_string(),
            "tariff_index": v.tariff_index.value(),
            "price_per_kwh": format_decimal(v.price_micro_per_kwh, vending::money::PRICE_DECIMALS),
            "energy_kwh": format_decimal(v.energy_tenths_kwh, 1),
            "token_kwh": format_decimal(v.transfer_tenths_kwh, 1),
            "token": v.token.to_string(),
            "tid": v.tid.minutes(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}", v.token);
    }
    Ok(ExitCode::SUCCESS)
}
