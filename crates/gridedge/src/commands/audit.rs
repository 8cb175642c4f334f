//! `gridedge audit verify --db F`: checks the hash chain of the API audit log (see the `api`
//! crate's `audit` module) and reports the first broken link.
//!
//! Exit code 0 when the chain is intact, 1 when it is broken (or the file cannot be read).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

/// Arguments of `gridedge audit`.
#[derive(Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// `gridedge audit` subcommands.
#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify the audit log's hash chain.
    Verify {
        /// The database holding the API tables (`gridedge api --api-db`, by default the
        /// MDMS database).
        #[arg(long)]
        db: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the subcommand.
pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AuditCommand::Verify { db, json } => {
            let report = api::verify_file(&db).with_context(|| format!("verifying {}", db.display()))?;
            if json {
                super::emit(&serde_json::to_string_pretty(&report)?)?;
            } else {
                match (&report.first_broken, &report.head_hash) {
                    (None, Some(head)) => {
                        super::emit(&format!("audit log intact: {}, head hash {head}", entries(report.entries)))?
                    }
                    (None, None) => super::emit("audit log intact: no entries")?,
                    (Some(broken), _) => super::emit(&format!(
                        "audit log BROKEN at entry {}: {} ({} before it verified)",
                        broken.seq,
                        broken.reason,
                        entries(report.entries)
                    ))?,
                }
            }
            Ok(if report.is_intact() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

/// "1 entry", "2 entries".
fn entries(n: u64) -> String {
    if n == 1 { "1 entry".to_string() } else { format!("{n} entries") }
}
