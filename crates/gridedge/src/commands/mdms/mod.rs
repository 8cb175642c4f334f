//! `gridedge mdms`: the MDMS store from the command line: everything the store offers for
//! VEE (edit, history, exceptions, accept, estimate, validate, audit), billing determinants,
//! and the revenue-protection and water analytics. One file per subcommand group.
//!
//! Every subcommand takes `--db FILE` (an existing MDMS SQLite database) and prints JSON
//! (or `--format table`). Errors print `error: ...` on stderr and exit with status 1; bad
//! usage exits with status 2.
//!
//! ```text
//! gridedge mdms edit --db F --meter M --reading-type 1.0.1.8.0.255 --interval-end 2025-06-02T10:00:00Z \
//!     --value 12345.6 --user alice --reason "meter test"
//! gridedge mdms history --db F --meter M --reading-type active_energy_import --interval-end T
//! gridedge mdms exceptions --db F [--meter M] [--rule spike] [--from T] [--to T]
//! gridedge mdms accept --db F --meter M --rule spike --user U --reason R
//! gridedge mdms estimate --db F --meter M --reading-type RT --from T --to T --user U --reason R
//! gridedge mdms validate --db F --meter M --from T --to T [--vee-config vee.json]
//! gridedge mdms audit --db F [--meter M] [--action edit]
//! gridedge mdms billing --db F --meter M --month 2025-06 --schedule tou.json
//! gridedge mdms energy-balance --db F --check-meter T1 --customer A,B,C --first-day D --last-day D
//! gridedge mdms night-flow --db F --inlet IN --customer C1,C2 --first-day D --last-day D --time-zone Europe/London
//! gridedge mdms run --config gridedge.toml      # the MDMS process: bus -> store, until SIGTERM
//! ```

mod arg_values;
pub mod audit;
pub mod billing;
pub mod editing;
pub mod energy_balance;
pub mod night_flow;
mod output;
mod quality;
pub mod run;
mod store_args;
pub mod vee;

use std::process::ExitCode;

use clap::{Args, Subcommand};

/// Arguments of `gridedge mdms`.
#[derive(Args)]
pub struct MdmsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: MdmsCommand,
}

/// `gridedge mdms` subcommands.
#[derive(Subcommand)]
pub enum MdmsCommand {
    /// Set one interval value: a new version with user and reason, audited and re-validated.
    Edit(editing::EditArgs),
    /// Every version of one interval with its audit entry and validation findings.
    History(editing::HistoryArgs),
    /// The VEE exceptions queue (open validation findings), filtered.
    Exceptions(vee::ExceptionsArgs),
    /// Accept open exceptions as they are (audited).
    Accept(vee::AcceptArgs),
    /// Estimate a range of one channel (a new version per interval, audited, re-validated).
    Estimate(vee::EstimateArgs),
    /// Validate a range again (after a configuration change or late data).
    Validate(vee::ValidateArgs),
    /// The audit trail of edits, estimations and acceptances.
    Audit(audit::AuditArgs),
    /// Billing determinants for meters and billing periods under a TOU schedule.
    Billing(billing::BillingArgs),
    /// A transformer's energy balance and non-technical-loss flags.
    EnergyBalance(energy_balance::EnergyBalanceArgs),
    /// A water DMA's minimum night flow, night leakage and non-revenue water.
    NightFlow(night_flow::NightFlowArgs),
    /// Run the MDMS as its own process: consume readings, events and command results from
    /// NATS JetStream into the store named by `--config` until SIGTERM/SIGINT.
    Run(run::RunArgs),
}

/// Runs `gridedge mdms`.
///
/// # Errors
/// Those of the subcommand.
pub fn run(args: MdmsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        MdmsCommand::Edit(a) => editing::run_edit(a),
        MdmsCommand::History(a) => editing::run_history(a),
        MdmsCommand::Exceptions(a) => vee::run_exceptions(a),
        MdmsCommand::Accept(a) => vee::run_accept(a),
        MdmsCommand::Estimate(a) => vee::run_estimate(a),
        MdmsCommand::Validate(a) => vee::run_validate(a),
        MdmsCommand::Audit(a) => audit::run(a),
        MdmsCommand::Billing(a) => billing::run(a),
        MdmsCommand::EnergyBalance(a) => energy_balance::run(a),
        MdmsCommand::NightFlow(a) => night_flow::run(a),
        MdmsCommand::Run(a) => run::run(a),
    }
}
