//! `gridedge decode`: captured bytes to a readable decode.
//!
//! * a TCP/UDP wrapper frame (IEC 62056-47) or a bare APDU: the APDU as JSON;
//! * a HAN/P1 capture (HDLC frames, M-Bus long frames, LLC + APDU, a Data-Notification,
//!   a general-glo-ciphering push, a DSMR/P1 telegram): every value with OBIS code, raw
//!   value, scaler/unit, scaled value and unit, and the meter time, via [`dlms::han`];
//!   as JSON or as a table.
//!
//! `gridedge decode HEX` takes the bytes in hex; `gridedge decode --file PATH` reads a
//! file holding hex text or raw bytes (a DSMR telegram saved as text). `--key` (and
//! `--auth-key`, `--system-title`) decipher encrypted pushes.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use dlms::Codec;
use dlms::apdu::Apdu;
use dlms::han::{DecodeOptions, Framing, HanKeys, HanReading, HanValue, RawValue};
use dlms::wrapper::WrapperFrame;
use serde_json::{Value, json};

/// Output format of `gridedge decode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Pretty-printed JSON.
    Json,
    /// A readable table (HAN/P1 readings; other APDUs print as JSON).
    Table,
}

/// Arguments of `gridedge decode`.
#[derive(Args)]
#[command(after_help = "HAN/P1 captures (HDLC 7E…7E, M-Bus 68…16, LLC E6E700, data-notification 0F, \
general-glo-ciphering DB, DSMR /…!CRC) are decoded to OBIS code, raw value, scaler/unit, scaled value and \
meter time. Examples:\n  gridedge decode 7EA0...7E --format table\n  gridedge decode --file frame.hex --key \
34743677397A24432646294A404E6352 --auth-key C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF")]
pub struct DecodeArgs {
    /// The bytes in hex (spaces, colons and a 0x prefix are ignored).
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub hex: Option<String>,
    /// Read the bytes from a file: hex text (whitespace ignored) or raw bytes (e.g. a DSMR
    /// telegram saved as text).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Global unicast encryption key (16 bytes hex) for ciphered pushes.
    #[arg(long, value_name = "HEX")]
    pub key: Option<String>,
    /// Authentication key (16 bytes hex), needed when the push carries a GCM tag.
    #[arg(long = "auth-key", value_name = "HEX", requires = "key")]
    pub auth_key: Option<String>,
    /// The meter's system title (8 bytes hex), for pushes that do not carry it.
    #[arg(long = "system-title", value_name = "HEX", requires = "key")]
    pub system_title: Option<String>,
    /// The framing: hdlc, mbus, llc+apdu, apdu, dsmr-p1-ascii (detected when omitted).
    #[arg(long, value_name = "FRAMING", value_parser = parse_framing)]
    pub framing: Option<Framing>,
    /// Remove HDLC octet stuffing first (captures from gateways that stuff frames).
    #[arg(long)]
    pub octet_stuffing: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
}

fn parse_framing(s: &str) -> Result<Framing, String> {
    s.parse()
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

/// A fixed-length key or system title in hex.
fn parse_fixed<const N: usize>(what: &str, s: &str) -> anyhow::Result<[u8; N]> {
    let bytes = parse_hex(s).with_context(|| what.to_string())?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| anyhow::anyhow!("{what} must be {N} bytes, got {}", bytes.len()))
}

/// The bytes of a capture file: hex text when every non-space character is a hex digit
/// (an optional 0x prefix allowed), else the raw bytes.
pub fn read_capture(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = std::str::from_utf8(&raw).ok().map(str::trim);
    match text {
        Some(t)
            if !t.is_empty()
                && t.strip_prefix("0x")
                    .unwrap_or(t)
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace() || b == b':') =>
        {
            parse_hex(t)
        }
        _ => Ok(raw),
    }
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

/// APDU tags decoded as HAN pushes: data-notification, general-glo/ded-ciphering,
/// general-block-transfer.
const HAN_APDU_TAGS: [u8; 4] = [0x0F, 0xDB, 0xDC, 0xE0];

/// What `decode` produced.
pub enum Decoded {
    /// A HAN/P1 reading, with the generic APDU decode when the input was a bare APDU that
    /// also decodes as one.
    Han(Box<HanReading>, Option<Value>),
    /// A wrapper frame or a non-HAN APDU, as JSON.
    Apdu(Value),
}

/// Decodes the bytes as the arguments ask.
pub fn decode(bytes: &[u8], args: &DecodeArgs) -> anyhow::Result<Decoded> {
    let keys = match &args.key {
        Some(k) => Some(HanKeys {
            encryption_key: parse_fixed("--key", k)?,
            authentication_key: args.auth_key.as_deref().map(|k| parse_fixed("--auth-key", k)).transpose()?,
            system_title: args.system_title.as_deref().map(|s| parse_fixed("--system-title", s)).transpose()?,
        }),
        None => None,
    };
    let options = DecodeOptions { framing: args.framing, keys, octet_stuffing: args.octet_stuffing };
    let is_wrapper = bytes.len() >= 8 && bytes[0..2] == [0x00, 0x01];
    let framed = args.framing.is_some()
        || matches!(Framing::detect(bytes), Some(Framing::Hdlc | Framing::Mbus | Framing::LlcApdu | Framing::Dsmr));
    if framed && !is_wrapper {
        let reading = dlms::han::decode(bytes, &options).context("decoding the HAN/P1 capture")?;
        return Ok(Decoded::Han(Box::new(reading), None));
    }
    let generic = decode_to_json(bytes);
    if is_wrapper || !bytes.first().is_some_and(|t| HAN_APDU_TAGS.contains(t)) {
        return generic.map(Decoded::Apdu);
    }
    match (dlms::han::decode(bytes, &options), generic) {
        (Ok(r), g) => Ok(Decoded::Han(Box::new(r), g.ok())),
        (Err(_), Ok(g)) => Ok(Decoded::Apdu(g)),
        (Err(e), Err(_)) => Err(anyhow::Error::new(e).context("decoding the APDU")),
    }
}

/// A HAN/P1 reading as JSON: the reading's fields, with raw values rendered readably
/// (octet-strings in hex, strings as text, date-times as text and UTC).
pub fn reading_json(r: &HanReading) -> Value {
    json!({
        "framing": r.framing.name(),
        "carrier": r.carrier,
        "security": r.security,
        "notification": r.notification.as_ref().map(|n| json!({
            "long_invoke_id_and_priority": n.long_invoke_id_and_priority,
            "date_time": n.date_time.as_ref().map(super::json::date_time),
        })),
        "dsmr": r.dsmr,
        "list_format": r.list_format,
        "scaler_convention": r.scaler_convention,
        "meter_id": r.meter_id,
        "meter_time": r.meter_time,
        "values": r.values.iter().map(value_json).collect::<Vec<_>>(),
    })
}

fn value_json(v: &HanValue) -> Value {
    let (raw_type, raw) = match &v.raw {
        RawValue::Dlms(d) => (data_type_name(d), raw_json(d)),
        RawValue::Dsmr(s) => ("dsmr-text".to_string(), json!(s)),
    };
    json!({
        "index": v.index,
        "obis": v.obis.map(|o| o.to_string()),
        "obis_source": v.obis_source,
        "raw_type": raw_type,
        "raw": raw,
        "scaler": v.scaler_unit.map(|s| s.scaler),
        "scaler_source": v.scaler_source,
        "value": v.value,
        "unit": v.unit,
        "text": v.text,
    })
}

/// A raw value as JSON: integers exactly (the shared renderer gives f64), the rest via
/// [`super::json::data`].
fn raw_json(d: &dlms::Data) -> Value {
    match d.as_integer() {
        Some(i) => {
            i64::try_from(i).map(Value::from).or_else(|_| u64::try_from(i).map(Value::from)).unwrap_or(Value::Null)
        }
        None => super::json::data(d),
    }
}

/// A raw value as table text.
fn raw_text(d: &dlms::Data) -> String {
    match raw_json(d) {
        Value::String(s) => s,
        Value::Object(o) => o.get("text").and_then(Value::as_str).unwrap_or_default().to_string(),
        other => other.to_string(),
    }
}

/// The kebab-case A-XDR type name of a value (`double-long-unsigned`).
fn data_type_name(d: &dlms::Data) -> String {
    serde_json::to_value(d)
        .ok()
        .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| d.tag().to_string())
}

/// A HAN/P1 reading as a readable table.
pub fn reading_table(r: &HanReading) -> String {
    let mut out = String::new();
    let c = &r.carrier;
    let mut carrier = r.framing.name().to_string();
    if c.hdlc_frames > 0 {
        let _ = write!(carrier, ", {} HDLC frame(s)", c.hdlc_frames);
    }
    if c.mbus_telegrams > 0 {
        let _ = write!(carrier, ", {} M-Bus telegram(s)", c.mbus_telegrams);
    }
    if c.gbt_blocks > 0 {
        let _ = write!(carrier, ", {} block(s) reassembled", c.gbt_blocks);
    }
    if c.llc {
        carrier.push_str(", LLC");
    }
    if c.trailing_bytes > 0 {
        let _ = write!(carrier, ", {} trailing byte(s) ignored", c.trailing_bytes);
    }
    let _ = writeln!(out, "framing     {carrier}");
    if let Some(s) = &r.security {
        let _ = writeln!(
            out,
            "security    system title {}, SC 0x{:02X}, IC {}, {}",
            s.system_title,
            s.security_control,
            s.invocation_counter,
            if s.authenticated { "tag verified" } else { "no tag (encryption only)" }
        );
    }
    if let Some(d) = &r.dsmr {
        let crc = match d.crc {
            dlms::han::CrcCheck::Verified { crc } => format!("CRC {crc:04X} verified"),
            dlms::han::CrcCheck::Absent => "no CRC".to_string(),
            dlms::han::CrcCheck::Mismatch { carried, computed } => format!("CRC {carried:04X} ≠ {computed:04X}"),
        };
        let _ = writeln!(out, "telegram    /{} ({crc})", d.identification);
    }
    let list = match r.list_format {
        dlms::han::ListFormat::Positional(name) => format!("positional list {name}"),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.get("kind").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default(),
    };
    let convention = r.scaler_convention.map(|c| format!(" (scalers: {c})")).unwrap_or_default();
    let _ = writeln!(out, "list        {list}{convention}");
    let _ = writeln!(out, "meter id    {}", r.meter_id.as_deref().unwrap_or("-"));
    let time = match &r.meter_time {
        Some(t) => {
            let mut s = t.local.to_string();
            if let Some(off) = t.utc_offset_minutes {
                let sign = if off < 0 { '-' } else { '+' };
                let _ = write!(s, " UTC{sign}{:02}:{:02}", off.abs() / 60, off.abs() % 60);
            }
            if let Some(utc) = t.utc {
                let _ = write!(s, " = {utc}");
            }
            if let Some(dst) = t.daylight_saving {
                s.push_str(if dst { " (summer time)" } else { " (standard time)" });
            }
            s
        }
        None => "-".to_string(),
    };
    let _ = writeln!(out, "meter time  {time}");
    let rows: Vec<[String; 5]> = r
        .values
        .iter()
        .map(|v| {
            let raw = match &v.raw {
                RawValue::Dlms(d) => raw_text(d),
                RawValue::Dsmr(s) => s.clone(),
            };
            let scaler = v.scaler_unit.map(|s| format!("10^{}", s.scaler)).unwrap_or_default();
            let value = match (v.value, &v.text) {
                (Some(_), Some(t)) => t.split(' ').next().unwrap_or_default().to_string(),
                (_, Some(t)) => t.clone(),
                _ => String::new(),
            };
            [
                v.index.to_string(),
                v.obis.map(|o| o.to_string()).unwrap_or_else(|| "-".into()),
                raw,
                scaler,
                if v.value.is_some() {
                    format!("{value} {}", v.unit.as_deref().unwrap_or("")).trim_end().to_string()
                } else {
                    value
                },
            ]
        })
        .collect();
    let header = ["#", "OBIS", "raw", "scaler", "value"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count()).min(40);
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let shown: String =
                if cell.chars().count() > 40 { cell.chars().take(39).chain(['…']).collect() } else { cell.clone() };
            let pad = w.saturating_sub(shown.chars().count());
            if i == 0 {
                let _ = write!(s, "{}{shown}  ", " ".repeat(pad));
            } else {
                let _ = write!(s, "{shown}{}  ", " ".repeat(pad));
            }
        }
        s.trim_end().to_string()
    };
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", line(&header.map(str::to_string)));
    for row in &rows {
        let _ = writeln!(out, "{}", line(row));
    }
    out
}

/// Renders the decode in the requested format.
pub fn render(decoded: &Decoded, format: Format) -> anyhow::Result<String> {
    Ok(match (decoded, format) {
        (Decoded::Han(r, _), Format::Table) => reading_table(r),
        (Decoded::Han(r, generic), Format::Json) => {
            let mut v = json!({ "han": reading_json(r) });
            if let Some(g) = generic {
                if let Some(apdu) = g.get("apdu") {
                    v["apdu"] = apdu.clone();
                }
            }
            serde_json::to_string_pretty(&v)?
        }
        (Decoded::Apdu(v), _) => serde_json::to_string_pretty(v)?,
    })
}

/// Runs the subcommand.
pub fn run(args: DecodeArgs) -> anyhow::Result<ExitCode> {
    let bytes = match (&args.hex, &args.file) {
        (Some(h), None) => parse_hex(h)?,
        (None, Some(p)) => read_capture(p)?,
        _ => bail!("give either HEX or --file PATH"),
    };
    let decoded = decode(&bytes, &args)?;
    super::emit(&render(&decoded, args.format)?)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: DecodeArgs,
    }

    fn args(argv: &[&str]) -> DecodeArgs {
        Cli::try_parse_from(std::iter::once("decode").chain(argv.iter().copied())).unwrap().args
    }

    fn han_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/han")
    }

    fn run_file(argv: &[&str]) -> anyhow::Result<(Decoded, DecodeArgs)> {
        let a = args(argv);
        let bytes = read_capture(a.file.as_ref().unwrap())?;
        Ok((decode(&bytes, &a)?, a))
    }

    #[test]
    fn hdlc_file_to_json_and_table() {
        let path = han_dir().join("amsreader/aidon/gh1119-1.hex");
        let (d, _) = run_file(&["--file", path.to_str().unwrap()]).unwrap();
        let Decoded::Han(r, _) = &d else { panic!("not HAN") };
        let v: Value = serde_json::from_str(&render(&d, Format::Json).unwrap()).unwrap();
        let han = &v["han"];
        assert_eq!(han["framing"], "hdlc");
        assert_eq!(han["carrier"]["hdlc_frames"], 1);
        assert_eq!(han["meter_id"], "7359992890497997");
        // Aidon voltage L1: long-unsigned 2330 with scaler -1 V.
        let u1 = han["values"].as_array().unwrap().iter().find(|x| x["obis"] == "1.0.32.7.0.255").unwrap();
        assert_eq!(
            (u1["raw"].as_u64(), u1["scaler"].as_i64(), u1["value"].as_f64()),
            (Some(2330), Some(-1), Some(233.0))
        );
        assert_eq!((u1["unit"].as_str(), u1["raw_type"].as_str()), (Some("V"), Some("long-unsigned")));
        assert_eq!(han["meter_time"]["local"], "2025-12-14T16:00:00");
        let table = render(&d, Format::Table).unwrap();
        assert!(table.contains("meter id    7359992890497997"), "{table}");
        assert!(table.contains("meter time  2025-12-14T16:00:00 UTC+00:00"), "{table}");
        let row = table.lines().find(|l| l.contains("1.0.1.8.0.255")).unwrap();
        assert!(row.contains("10955225") && row.contains("10^1") && row.contains("109552250 Wh"), "{row}");
        assert_eq!(r.values.len(), 18);
    }

    #[test]
    fn encrypted_push_needs_and_uses_the_key() {
        let path = han_dir().join("amsreader/landis-gyr/gh501-1.hex");
        let p = path.to_str().unwrap();
        let err = run_file(&["--file", p]).err().unwrap();
        assert!(format!("{err:#}").contains("system title 4C475A6772A9A111"), "{err:#}");
        let (d, _) = run_file(&[
            "--file",
            p,
            "--key",
            "34743677397A24432646294A404E6352",
            "--auth-key",
            "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
            "--format",
            "table",
        ])
        .unwrap();
        let table = render(&d, Format::Table).unwrap();
        assert!(table.contains("SC 0x30") && table.contains("tag verified"), "{table}");
        assert!(table.contains("meter id    30137181"), "{table}");
        let wrong = run_file(&[
            "--file",
            p,
            "--key",
            "00000000000000000000000000000000",
            "--auth-key",
            "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF",
        ]);
        assert!(format!("{:#}", wrong.err().unwrap()).contains("authentication tag"));
        assert!(Cli::try_parse_from(["decode", "--file", p, "--key", "0011"]).is_ok());
        assert!(run_file(&["--file", p, "--key", "0011"]).is_err(), "short key refused");
    }

    #[test]
    fn dsmr_text_file_is_read_as_bytes() {
        let path = han_dir().join("amsreader/kamstrup/gh578-1.txt");
        let (d, _) = run_file(&["--file", path.to_str().unwrap()]).unwrap();
        let v: Value = serde_json::from_str(&render(&d, Format::Json).unwrap()).unwrap();
        assert_eq!(v["han"]["dsmr"]["crc"]["kind"], "verified");
        let a_plus = v["han"]["values"].as_array().unwrap().iter().find(|x| x["obis"] == "1.0.1.8.0.255").unwrap();
        assert_eq!((a_plus["raw"].as_str(), a_plus["text"].as_str()), (Some("00009621.983"), Some("9621983 Wh")));
    }

    #[test]
    fn bare_data_notification_keeps_the_generic_apdu_decode() {
        // Kaifa list 1 without LLC: data-notification, date-time, { u32 5852 }.
        let a = args(&["0F40000000090C07E3020401173416FF800000020106000016DC"]);
        let bytes = parse_hex(a.hex.as_deref().unwrap()).unwrap();
        let d = decode(&bytes, &a).unwrap();
        let v: Value = serde_json::from_str(&render(&d, Format::Json).unwrap()).unwrap();
        assert_eq!(v["apdu"]["apdu"], "data-notification");
        assert_eq!(v["han"]["values"][0]["text"], "5852 W");
        // A get-response stays a generic APDU; garbage is refused.
        let d = decode(&parse_hex("C401C1000600000001").unwrap(), &args(&["C401C1000600000001"])).unwrap();
        assert!(matches!(d, Decoded::Apdu(_)));
        assert!(decode(&parse_hex("C401").unwrap(), &args(&["C401"])).is_err());
    }

    #[test]
    fn hex_file_detection() {
        let dir = std::env::temp_dir().join(format!("gridedge-decode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let hex = dir.join("f.hex");
        std::fs::write(&hex, "0F 00 00 00 01\n00 06 00 00 00 2A\n").unwrap();
        assert_eq!(read_capture(&hex).unwrap(), [0x0F, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0x2A]);
        let txt = dir.join("f.txt");
        std::fs::write(&txt, "/KAM5\r\n\r\n!\r\n").unwrap();
        assert_eq!(read_capture(&txt).unwrap(), b"/KAM5\r\n\r\n!\r\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
