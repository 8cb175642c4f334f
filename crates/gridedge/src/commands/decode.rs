//! `gridedge decode HEX`: a wrapper frame (IEC 62056-47) or a bare APDU to JSON.

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use dlms::Codec;
use dlms::apdu::Apdu;
use dlms::wrapper::WrapperFrame;
use serde_json::json;

/// Arguments of `gridedge decode`.
#[derive(Args)]
pub struct DecodeArgs {
    /// The bytes in hex (spaces, colons and a 0x prefix are ignored).
    pub hex: String,
}

/// Parses hex with optional separators.
pub fn parse_hex(s: &str) -> anyhow::Result<Vec<u8>> {
    let s = s.trim();
    let s = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    let digits: Vec<u8> = s.bytes().filter(|b| !matches!(b, b' ' | b':' | b'-' | b'\n' | b'\t' | b'\r')).collect();
    if digits.len() % 2 != 0 {
        bail!("odd number of hex digits ({})", digits.len());
    }
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, p)| {
            let text = std::str::from_utf8(p).unwrap_or("??");
            u8::from_str_radix(text, 16).with_context(|| format!("invalid hex {text:?} at byte {i}"))
        })
        .collect()
}

/// Decodes `bytes` as a wrapper frame when it starts with the wrapper version 0x0001
/// and its length matches, else as a bare APDU.
pub fn decode_to_json(bytes: &[u8]) -> anyhow::Result<serde_json::Value> {
    if bytes.len() >= 8 && bytes[0..2] == [0x00, 0x01] {
        if let Ok(Some((frame, used))) = WrapperFrame::parse(bytes) {
            if used == bytes.len() {
                let apdu = Apdu::from_bytes(&frame.apdu).context("decoding the APDU inside the wrapper frame")?;
                return Ok(json!({
                    "wrapper": {
                        "source_wport": frame.source_wport,
                        "destination_wport": frame.destination_wport,
                        "length": frame.apdu.len(),
                    },
                    "apdu": super::json::apdu(&apdu),
                }));
            }
        }
    }
    let apdu = Apdu::from_bytes(bytes).context("decoding the APDU")?;
    Ok(json!({ "apdu": super::json::apdu(&apdu) }))
}

/// Runs the subcommand.
pub fn run(args: DecodeArgs) -> anyhow::Result<ExitCode> {
    let bytes = parse_hex(&args.hex)?;
    let v = decode_to_json(&bytes)?;
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(ExitCode::SUCCESS)
}
