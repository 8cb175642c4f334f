//! One module per subcommand.

pub mod decode;
pub mod demo;
pub mod json;
pub mod meter;
pub mod read;

/// Builds the tokio runtime the async subcommands run on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
