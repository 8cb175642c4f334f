//! One module per subcommand.

pub mod api;
pub mod audit;
pub mod bench;
pub mod command;
pub mod decode;
pub mod demo;
pub mod firmware;
pub mod hes;
pub mod json;
pub mod mdms;
pub mod meter;
pub mod read;
pub mod security_args;
pub mod token;
pub mod vend;

/// Builds the tokio runtime the async subcommands run on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Writes `text` and a newline to stdout. A closed pipe (e.g. `| head`) ends the
/// output quietly instead of panicking like `println!`.
pub fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e.into()),
    }
}
