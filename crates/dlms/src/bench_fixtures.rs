//! Realistic load-profile APDUs for the codec benchmarks (`cargo bench -p dlms --bench
//! codec` and `gridedge bench codec`), behind the cargo feature `bench-fixtures`.
//!
//! The workload is what a gridedge meter sends for its load profile 1.0.99.1.0.255
//! (Profile generic, class 7, attribute 2 `buffer`, IEC 62056-6-2 §4.3.6): an `array` of
//! rows, each a `structure` { capture time `octet-string(12)` (COSEM date-time,
//! IEC 62056-6-2 §4.1.6.1), profile status `unsigned`, +A Wh, −A Wh, +R varh, −R varh
//! `double-long-unsigned` }, one row per 15-minute interval (96 a day, 2,880 in 30 days),
//! oldest first. The value travels in a get-response-normal, or — as our server sends a
//! long value — in get-response-with-datablock APDUs of at most the client's max receive
//! PDU size (IEC 62056-5-3 §9.3.6 GET with block transfer), optionally ciphered with
//! security suite 0 (IEC 62056-5-3 §9.2.7.2.4), optionally in HDLC I-frames
//! (IEC 62056-46 §6.4.4.4.3.3 segmentation).
//!
//! Everything here is deterministic: the same arguments give the same bytes, so the Rust
//! benchmarks and the Python reference decoders time identical input.

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use thiserror::Error;

use crate::codec::{Codec, DecodeError};
use crate::data::Data;
use crate::datetime::{ClockStatus, CosemDateTime, DateTimeError};
use crate::hdlc::{Control, Frame, HdlcAddress, LlcDirection, Reassembler, Segment};
use crate::security::context::MAX_PROTECTION_OVERHEAD;
use crate::security::suite0::{self, CipherKeys};
use crate::security::{
    AesKey, CipheringForm, GlobalKeys, KeyScope, MemoryCounterStore, SecurityContext, SecurityControl, SecurityError,
    SecuritySettings, SharedCounterStore, SystemTitle,
};
use crate::xdlms::{DataBlockG, DataBlockGResult, GetDataResult, GetResponse, InvokeIdAndPriority, XdlmsApdu};

/// Capture period of the load profile, seconds (15 minutes).
pub const INTERVAL_SECONDS: i64 = 900;
/// Intervals in one day: 96.
pub const ROWS_PER_DAY: usize = 96;
/// Intervals in 30 days: 2,880.
pub const ROWS_30_DAYS: usize = 30 * ROWS_PER_DAY;
/// The largest profile the builders accept (about 10 years of 15-minute rows).
pub const MAX_ROWS: usize = 400_000;
/// End of the newest interval of every fixture profile: 2026-03-01T00:00:00Z, UNIX
/// seconds.
pub const PROFILE_END_UTC_SECONDS: i64 = 1_772_323_200;
/// Deviation of the capture times, minutes (IEC 62056-6-2: UTC = local + deviation):
/// −60, i.e. local time UTC+01:00 (CET, no daylight saving in the fixture window).
pub const DEVIATION_MINUTES: i16 = -60;
/// The invoke-id-and-priority of every fixture response: invoke id 1, confirmed, high
/// priority (0xC1, what gridedge's HES sends).
pub const INVOKE_ID_AND_PRIORITY: InvokeIdAndPriority = InvokeIdAndPriority(0xC1);
/// Client max receive PDU size for block transfer, bytes (our HES proposes 1024).
pub const DEFAULT_MAX_PDU_SIZE: usize = 1024;
/// HDLC maximum information field length for the segmentation case, bytes (the
/// IEC 62056-46 default of 128).
pub const HDLC_MAX_INFO_LENGTH: usize = 128;
/// Fixed bytes of a get-response-with-datablock around its raw-data when the length
/// takes at most 5 bytes: `C4 02` invoke last-block block-number(4) choice length(≤ 5).
pub const DATABLOCK_OVERHEAD: usize = 13;

/// Global unicast encryption key of the security fixtures (the DLMS UA Green Book test
/// key `000102…0F`).
pub const ENCRYPTION_KEY: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
/// Authentication key of the security fixtures (the Green Book test key `D0D1…DF`).
pub const AUTHENTICATION_KEY: [u8; 16] =
    [0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF];
/// The meter's (server's) system title: `4D4D4D0000BC614E` (Green Book example).
pub const SERVER_SYSTEM_TITLE: [u8; 8] = [0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E];
/// The HES's (client's) system title: `4748450000000001` ("GHE", serial 1).
pub const CLIENT_SYSTEM_TITLE: [u8; 8] = [0x47, 0x48, 0x45, 0x00, 0x00, 0x00, 0x00, 0x01];
/// HDLC client SAP of the segmentation case: 0x10, the public client.
pub const HDLC_CLIENT_SAP: u8 = 0x10;
/// HDLC server address of the segmentation case: logical device 1, physical 17.
pub const HDLC_SERVER_ADDRESS: (u16, u16) = (1, 17);

/// Why a fixture could not be built or a fixture workload failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FixtureError {
    /// More rows than [`MAX_ROWS`] were asked for.
    #[error("{rows} rows asked for, at most {MAX_ROWS} supported")]
    TooManyRows {
        /// The number asked for.
        rows: usize,
    },
    /// A capture time could not be represented as a COSEM date-time.
    #[error("capture time: {0}")]
    DateTime(#[from] DateTimeError),
    /// Bytes did not decode, or a block sequence / frame stream was not what the
    /// workload expects.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Protecting or unprotecting failed.
    #[error(transparent)]
    Security(#[from] SecurityError),
}

/// One load-profile row, in `CAPTURE_OBJECTS` order of the gridedge meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileRow {
    /// Capture time: local date-time of the interval end, deviation
    /// [`DEVIATION_MINUTES`], clock status OK.
    pub capture_time: CosemDateTime,
    /// Profile status bits (0 = nothing to report).
    pub status: u8,
    /// Active energy import register (+A), Wh.
    pub active_import_wh: u32,
    /// Active energy export register (−A), Wh.
    pub active_export_wh: u32,
    /// Reactive energy import register (+R), varh.
    pub reactive_import_varh: u32,
    /// Reactive energy export register (−R), varh.
    pub reactive_export_varh: u32,
}

impl ProfileRow {
    /// The row as our meter encodes it: `structure` { octet-string(12), unsigned,
    /// double-long-unsigned × 4 }.
    pub fn to_data(&self) -> Data {
        Data::Structure(vec![
            Data::OctetString(self.capture_time.to_octets()),
            Data::Unsigned(self.status),
            Data::DoubleLongUnsigned(self.active_import_wh),
            Data::DoubleLongUnsigned(self.active_export_wh),
            Data::DoubleLongUnsigned(self.reactive_import_varh),
            Data::DoubleLongUnsigned(self.reactive_export_varh),
        ])
    }
}

/// xorshift32: a tiny deterministic noise source for the consumption figures.
fn next_noise(state: &mut u32) -> u32 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    x
}

/// Typical household import per 15 minutes at a local hour, Wh (night base load,
/// morning and evening peaks).
fn import_shape_wh(local_hour: u8) -> u32 {
    match local_hour {
        0..=5 => 45,
        6..=8 => 160,
        9..=16 => 90,
        17..=21 => 210,
        _ => 80,
    }
}

/// Rooftop PV export per 15 minutes at a local hour, Wh (late winter).
fn export_shape_wh(local_hour: u8) -> u32 {
    match local_hour {
        10..=14 => 120,
        9 | 15 => 40,
        _ => 0,
    }
}

/// `rows` consecutive 15-minute rows ending at [`PROFILE_END_UTC_SECONDS`], oldest
/// first, with cumulative registers growing by a household load shape plus noise.
/// Deterministic.
///
/// # Errors
/// [`FixtureError::TooManyRows`] above [`MAX_ROWS`]; [`FixtureError::DateTime`] if a
/// capture time cannot be represented (not for `rows ≤ MAX_ROWS`).
pub fn profile_rows(rows: usize) -> Result<Vec<ProfileRow>, FixtureError> {
    if rows > MAX_ROWS {
        return Err(FixtureError::TooManyRows { rows });
    }
    let mut out = Vec::with_capacity(rows);
    let mut noise = 0x2545_F491u32;
    let mut import_wh = 12_345_678u32;
    let mut export_wh = 1_234_567u32;
    let mut reactive_import_varh = 2_345_678u32;
    let mut reactive_export_varh = 345_678u32;
    // rows ≤ MAX_ROWS, so the product fits easily in i64.
    let first_end = PROFILE_END_UTC_SECONDS - (rows as i64 - 1) * INTERVAL_SECONDS;
    for i in 0..rows {
        let end = first_end + i as i64 * INTERVAL_SECONDS;
        let ts = Timestamp::from_second(end).map_err(|_| DateTimeError::Unrepresentable)?;
        let capture_time = CosemDateTime::from_utc(ts, Some(DEVIATION_MINUTES), ClockStatus::OK)?;
        let hour = capture_time.time.hour;
        let n = next_noise(&mut noise);
        let import = import_shape_wh(hour) + n % 60;
        let export = export_shape_wh(hour).saturating_sub((n >> 8) % 30);
        import_wh = import_wh.wrapping_add(import);
        export_wh = export_wh.wrapping_add(export);
        reactive_import_varh = reactive_import_varh.wrapping_add(import * 3 / 10);
        reactive_export_varh = reactive_export_varh.wrapping_add((n >> 16) % 4);
        out.push(ProfileRow {
            capture_time,
            // bit 7 "power down" on one interval a week, as a real buffer has now and then
            status: if i % 672 == 500 { 0x80 } else { 0x00 },
            active_import_wh: import_wh,
            active_export_wh: export_wh,
            reactive_import_varh,
            reactive_export_varh,
        });
    }
    Ok(out)
}

/// The profile buffer value (attribute 2 of 1.0.99.1.0.255) with `rows` rows: an
/// `array` of [`ProfileRow::to_data`] structures.
///
/// # Errors
/// As [`profile_rows`].
pub fn profile_buffer(rows: usize) -> Result<Data, FixtureError> {
    Ok(Data::Array(profile_rows(rows)?.iter().map(ProfileRow::to_data).collect()))
}

/// A get-response-normal carrying `value` (IEC 62056-5-3 §9.5), invoke
/// [`INVOKE_ID_AND_PRIORITY`].
pub fn get_response_normal(value: Data) -> GetResponse {
    GetResponse::Normal { invoke_id_and_priority: INVOKE_ID_AND_PRIORITY, result: GetDataResult::Data(value) }
}

/// The get-response-with-datablock APDUs our server sends for the A-XDR encoded value
/// `encoded_value` when each APDU may be at most `max_apdu_len` bytes (the client's max
/// receive PDU size, less the protection overhead in a ciphered association): raw-data
/// slices of `max_apdu_len − DATABLOCK_OVERHEAD` bytes, blocks numbered from 1, the last
/// one flagged (IEC 62056-5-3 §9.3.6). Each element is one encoded APDU.
pub fn datablock_responses(encoded_value: &[u8], max_apdu_len: usize) -> Vec<Vec<u8>> {
    let room = max_apdu_len.saturating_sub(DATABLOCK_OVERHEAD).max(1);
    let chunks: Vec<&[u8]> = encoded_value.chunks(room).collect();
    let count = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            GetResponse::WithDataBlock {
                invoke_id_and_priority: INVOKE_ID_AND_PRIORITY,
                result: DataBlockG {
                    last_block: i + 1 == count,
                    block_number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    result: DataBlockGResult::RawData(chunk.to_vec()),
                },
            }
            .to_bytes()
        })
        .collect()
}

/// What a client does with the blocks of a long GET: decodes each
/// get-response-with-datablock APDU, checks the block numbers run 1, 2, … and that the
/// last block is flagged, concatenates the raw-data and decodes the `Data` value.
///
/// # Errors
/// [`FixtureError::Decode`]: an APDU that does not decode or is not a
/// get-response-with-datablock, a block out of sequence, a data-access-result, blocks
/// after the last one or no last block, or a value that does not decode.
pub fn assemble_datablocks<B: AsRef<[u8]>>(apdus: impl IntoIterator<Item = B>) -> Result<Data, FixtureError> {
    let mut raw = Vec::new();
    let mut expected = 1u32;
    let mut done = false;
    for apdu in apdus {
        if done {
            return Err(DecodeError::invalid("datablock sequence", "APDU after the last block").into());
        }
        let block = match XdlmsApdu::from_bytes(apdu.as_ref())? {
            XdlmsApdu::GetResponse(GetResponse::WithDataBlock { result, .. }) => result,
            other => {
                let detail = format!("expected get-response-with-datablock, got tag 0x{:02X}", other.tag());
                return Err(DecodeError::invalid("datablock sequence", detail).into());
            }
        };
        if block.block_number != expected {
            let detail = format!("block {} where {expected} was expected", block.block_number);
            return Err(DecodeError::invalid("datablock sequence", detail).into());
        }
        match block.result {
            DataBlockGResult::RawData(bytes) => raw.extend_from_slice(&bytes),
            DataBlockGResult::DataAccessResult(e) => {
                return Err(DecodeError::invalid("datablock sequence", format!("data-access-result {e:?}")).into());
            }
        }
        expected = expected.wrapping_add(1);
        done = block.last_block;
    }
    if !done {
        return Err(DecodeError::invalid("datablock sequence", "no block flagged last").into());
    }
    Ok(Data::from_bytes(&raw)?)
}

/// Security settings of one side: suite 0, policy "authenticated encryption both
/// ways" (SC 0x30), the fixture keys, `own` as system title and `peer` pinned, counters
/// in memory.
fn settings(own: [u8; 8], peer: [u8; 8]) -> Result<SecuritySettings, SecurityError> {
    let keys = GlobalKeys::new(AesKey::from_slice(&ENCRYPTION_KEY)?, AesKey::from_slice(&AUTHENTICATION_KEY)?);
    Ok(SecuritySettings::new(keys, SystemTitle(own)).with_peer_system_title(SystemTitle(peer)))
}

/// The meter's security context (system title [`SERVER_SYSTEM_TITLE`], peer
/// [`CLIENT_SYSTEM_TITLE`], fresh in-memory counters): protects responses.
///
/// # Errors
/// Those of [`SecurityContext::new`] (none for these settings).
pub fn server_security() -> Result<SecurityContext, SecurityError> {
    SecurityContext::new(&settings(SERVER_SYSTEM_TITLE, CLIENT_SYSTEM_TITLE)?)
}

/// The HES's security context (system title [`CLIENT_SYSTEM_TITLE`], peer
/// [`SERVER_SYSTEM_TITLE`], fresh in-memory counters, so it accepts any invocation
/// counter once): unprotects responses.
///
/// # Errors
/// Those of [`SecurityContext::new`] (none for these settings).
pub fn client_security() -> Result<SecurityContext, SecurityError> {
    SecurityContext::new(&settings(CLIENT_SYSTEM_TITLE, SERVER_SYSTEM_TITLE)?)
}

fn hdlc_addresses() -> Result<(HdlcAddress, HdlcAddress), DecodeError> {
    Ok((HdlcAddress::client(HDLC_CLIENT_SAP)?, HdlcAddress::server(HDLC_SERVER_ADDRESS.0, HDLC_SERVER_ADDRESS.1)?))
}

/// The byte stream of the I-frames a meter sends for one response APDU, as our server
/// link does with the default window size of 1: LLC header `E6 E7 00` + APDU, segmented
/// into information fields of at most `max_info_length` bytes, S set on all but the last
/// frame, N(S) counting from 0 modulo 8, N(R) 1 (the client's request was its I-frame
/// 0), the final bit on every frame (window 1: the client answers each with RR);
/// destination the client SAP [`HDLC_CLIENT_SAP`], source [`HDLC_SERVER_ADDRESS`]
/// (IEC 62056-46 §6.4.1, §6.4.4.4.3.3).
///
/// # Errors
/// [`FixtureError::Decode`] when `max_info_length` exceeds what one frame can carry.
pub fn hdlc_response_frames(apdu: &[u8], max_info_length: usize) -> Result<Vec<u8>, FixtureError> {
    let (client, server) = hdlc_addresses()?;
    let segments = crate::hdlc::segmentation::segment(&LlcDirection::Response.wrap(apdu), max_info_length);
    let mut out = Vec::with_capacity(apdu.len() + segments.len() * 16);
    for (i, Segment { information, more }) in segments.into_iter().enumerate() {
        let control = Control::I { ns: (i % 8) as u8, nr: 1, poll_final: true };
        Frame::new(client, server, control, more, information)?.encode(&mut out);
    }
    Ok(out)
}

/// What the client's receive side does with [`hdlc_response_frames`]: parses the frames
/// one after another (checking HCS, FCS and flags), reassembles the information fields
/// up to the frame without S, and strips the LLC response header. Returns the APDU.
///
/// # Errors
/// [`FixtureError::Decode`]: a frame error, a non-I-frame, a stream that ends inside a
/// frame or before the last segment, a PDU over `max_apdu_len`, a wrong LLC header.
pub fn hdlc_reassemble(stream: &[u8], max_apdu_len: usize) -> Result<Vec<u8>, FixtureError> {
    let mut reassembler = Reassembler::new(max_apdu_len.saturating_add(3));
    let mut rest = stream;
    loop {
        let Some((frame, used)) = Frame::parse(rest).map_err(DecodeError::from)? else {
            return Err(DecodeError::Truncated { what: "HDLC frame stream", needed: 1 }.into());
        };
        rest = rest.get(used..).unwrap_or_default();
        if !matches!(frame.control, Control::I { .. }) {
            return Err(DecodeError::invalid("HDLC frame stream", "expected I-frames only").into());
        }
        let pdu = reassembler.push(&frame.information, frame.segmented).map_err(|e| DecodeError::Oversized {
            what: "reassembled LLC PDU",
            len: e.max + 1,
            max: e.max,
        })?;
        if let Some(pdu) = pdu {
            let apdu = crate::hdlc::llc::strip_llc(&pdu, LlcDirection::Response)?;
            return Ok(apdu.to_vec());
        }
    }
}

/// A client security context for repeated benchmark runs, plus the handle to its
/// in-memory counter store: call [`BenchClient::forget_counters`] before unprotecting the
/// same ciphered APDU again, or the replay rule (IEC 62056-5-3 §9.2.7.2.4: counters only
/// increase) refuses it. Everything else is the production path.
#[derive(Debug)]
pub struct BenchClient {
    /// The context: as [`client_security`], on `store`.
    pub context: SecurityContext,
    store: Arc<Mutex<MemoryCounterStore>>,
}

impl BenchClient {
    /// A fresh client context on a fresh store.
    ///
    /// # Errors
    /// Those of [`SecurityContext::new`] (none for these settings).
    pub fn new() -> Result<Self, SecurityError> {
        let store = Arc::new(Mutex::new(MemoryCounterStore::new()));
        let shared: SharedCounterStore = store.clone();
        let context =
            SecurityContext::new(&settings(CLIENT_SYSTEM_TITLE, SERVER_SYSTEM_TITLE)?.with_counter_store(shared))?;
        Ok(BenchClient { context, store })
    }

    /// Forgets every invocation counter seen, so the next APDU is accepted whatever its
    /// counter (a new association with a meter whose counter was reset).
    pub fn forget_counters(&self) {
        let mut store = self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *store = MemoryCounterStore::new();
    }
}

/// The encoded forms of one load profile, built once, that the codec cases work on.
/// Ciphered forms are protected by one [`server_security`] context in the order glo
/// normal, general-glo normal, glo blocks (so their invocation counters increase in
/// that order from 1).
#[derive(Debug, Clone)]
pub struct ProfileFixture {
    /// Number of rows.
    pub rows: usize,
    /// The profile buffer value.
    pub value: Data,
    /// The get-response-normal carrying it.
    pub response: GetResponse,
    /// Its encoding.
    pub normal_apdu: Vec<u8>,
    /// The get-response-with-datablock APDUs at [`DEFAULT_MAX_PDU_SIZE`] (plain
    /// association).
    pub blocks: Vec<Vec<u8>>,
    /// The get-response-with-datablock APDUs of a ciphered association, before
    /// protection: at most `DEFAULT_MAX_PDU_SIZE − MAX_PROTECTION_OVERHEAD` bytes each.
    pub cipher_blocks: Vec<Vec<u8>>,
    /// `normal_apdu` as glo-get-response (0xCC), SC 0x30.
    pub glo_normal: Vec<u8>,
    /// `normal_apdu` as general-glo-ciphering (0xDB) with the server system title, SC
    /// 0x30.
    pub general_normal: Vec<u8>,
    /// `cipher_blocks`, each as glo-get-response, SC 0x30.
    pub glo_blocks: Vec<Vec<u8>>,
    /// `normal_apdu` in HDLC I-frames of at most [`HDLC_MAX_INFO_LENGTH`] information
    /// bytes (see [`hdlc_response_frames`]); `None` when the APDU is longer than
    /// 65,535 bytes, which no max-PDU-size negotiation allows.
    pub hdlc_stream: Option<Vec<u8>>,
}

impl ProfileFixture {
    /// Builds every form for a `rows`-row profile.
    ///
    /// # Errors
    /// As [`profile_rows`]; [`FixtureError::Security`] / [`FixtureError::Decode`] are not
    /// expected for the fixed fixture parameters.
    pub fn new(rows: usize) -> Result<Self, FixtureError> {
        let value = profile_buffer(rows)?;
        let response = get_response_normal(value.clone());
        let normal_apdu = response.to_bytes();
        let encoded_value = value.to_bytes();
        let blocks = datablock_responses(&encoded_value, DEFAULT_MAX_PDU_SIZE);
        let cipher_blocks = datablock_responses(&encoded_value, DEFAULT_MAX_PDU_SIZE - MAX_PROTECTION_OVERHEAD);
        let mut server = server_security()?;
        let glo = CipheringForm::ServiceSpecific(KeyScope::Global);
        let glo_normal = server.protect_as(&normal_apdu, glo)?;
        let general_normal = server.protect_as(&normal_apdu, CipheringForm::General(KeyScope::Global))?;
        let glo_blocks = cipher_blocks.iter().map(|b| server.protect_as(b, glo)).collect::<Result<Vec<_>, _>>()?;
        let hdlc_stream = if normal_apdu.len() <= usize::from(u16::MAX) {
            Some(hdlc_response_frames(&normal_apdu, HDLC_MAX_INFO_LENGTH)?)
        } else {
            None
        };
        Ok(ProfileFixture {
            rows,
            value,
            response,
            normal_apdu,
            blocks,
            cipher_blocks,
            glo_normal,
            general_normal,
            glo_blocks,
            hdlc_stream,
        })
    }
}

/// Size of the plaintext of the single-frame AES-GCM case, bytes.
pub const AES_GCM_FRAME_LEN: usize = 512;

type CaseOp = Box<dyn FnMut() -> Result<usize, FixtureError>>;

/// One measured operation: what it does, how many APDU bytes and APDUs one run handles,
/// and the run itself. A run returns a number derived from its result (bytes produced or
/// values decoded), to be passed to `black_box`.
pub struct CodecCase {
    /// The form, e.g. `plain-normal`, `datablocks`, `glo-normal`, `general-glo`,
    /// `glo-datablocks`, `hdlc`, `aes-gcm`.
    pub form: &'static str,
    /// The profile rows, or for `aes-gcm` the plaintext length in bytes.
    pub size: usize,
    /// The operation: `encode`, `decode`, `protect`, `unprotect+decode`,
    /// `parse+reassemble`, `parse+decode`, `encrypt`, `decrypt`.
    pub operation: &'static str,
    /// APDU bytes one run handles: the plain APDU bytes (summed over blocks), also for
    /// the ciphered forms, so MB/s compare across forms.
    pub apdu_bytes: usize,
    /// APDUs one run handles (blocks count one each; an HDLC frame stream counts as its
    /// one APDU).
    pub apdus: usize,
    op: CaseOp,
}

impl std::fmt::Debug for CodecCase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodecCase")
            .field("id", &self.id())
            .field("apdu_bytes", &self.apdu_bytes)
            .field("apdus", &self.apdus)
            .finish_non_exhaustive()
    }
}

impl CodecCase {
    fn new(
        form: &'static str,
        size: usize,
        operation: &'static str,
        apdu_bytes: usize,
        apdus: usize,
        op: CaseOp,
    ) -> Self {
        CodecCase { form, size, operation, apdu_bytes, apdus, op }
    }

    /// `form/size/operation`, e.g. `plain-normal/96/decode`.
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.form, self.size, self.operation)
    }

    /// Runs the operation once.
    ///
    /// # Errors
    /// The operation's failure (none expected on fixture data).
    pub fn run(&mut self) -> Result<usize, FixtureError> {
        (self.op)()
    }
}

fn data_len(d: &Data) -> usize {
    match d {
        Data::Array(v) | Data::Structure(v) => v.len(),
        _ => 1,
    }
}

fn decoded_rows(apdu: &XdlmsApdu) -> usize {
    match apdu {
        XdlmsApdu::GetResponse(GetResponse::Normal { result: GetDataResult::Data(d), .. }) => data_len(d),
        _ => 0,
    }
}

/// The cases of one profile (see the module docs): plain get-response-normal encode /
/// decode; datablocks encode (value → blocks) / decode (blocks → value); glo-normal,
/// general-glo and glo-datablocks protect / unprotect+decode; hdlc encode /
/// parse+reassemble / parse+decode (when the fixture has an HDLC stream).
///
/// # Errors
/// As [`ProfileFixture::new`] and [`BenchClient::new`].
pub fn profile_cases(fixture: &ProfileFixture) -> Result<Vec<CodecCase>, FixtureError> {
    let f = fixture;
    let n = f.rows;
    let plain_len = f.normal_apdu.len();
    let blocks_len: usize = f.blocks.iter().map(Vec::len).sum();
    let cipher_blocks_len: usize = f.cipher_blocks.iter().map(Vec::len).sum();
    let glo = CipheringForm::ServiceSpecific(KeyScope::Global);
    let mut cases = Vec::new();

    let response = f.response.clone();
    cases.push(CodecCase::new(
        "plain-normal",
        n,
        "encode",
        plain_len,
        1,
        Box::new(move || Ok(response.to_bytes().len())),
    ));
    let apdu = f.normal_apdu.clone();
    cases.push(CodecCase::new(
        "plain-normal",
        n,
        "decode",
        plain_len,
        1,
        Box::new(move || Ok(decoded_rows(&XdlmsApdu::from_bytes(&apdu)?))),
    ));

    let value = f.value.clone();
    cases.push(CodecCase::new(
        "datablocks",
        n,
        "encode",
        blocks_len,
        f.blocks.len(),
        Box::new(move || Ok(datablock_responses(&value.to_bytes(), DEFAULT_MAX_PDU_SIZE).len())),
    ));
    let blocks = f.blocks.clone();
    cases.push(CodecCase::new(
        "datablocks",
        n,
        "decode",
        blocks_len,
        f.blocks.len(),
        Box::new(move || Ok(data_len(&assemble_datablocks(&blocks)?))),
    ));

    for (form, ciphering, ciphered) in [
        ("glo-normal", glo, &f.glo_normal),
        ("general-glo", CipheringForm::General(KeyScope::Global), &f.general_normal),
    ] {
        let mut server = server_security()?;
        let apdu = f.normal_apdu.clone();
        cases.push(CodecCase::new(
            form,
            n,
            "protect",
            plain_len,
            1,
            Box::new(move || Ok(server.protect_as(&apdu, ciphering)?.len())),
        ));
        let client = BenchClient::new()?;
        let mut client = client;
        let ciphered = ciphered.clone();
        cases.push(CodecCase::new(
            form,
            n,
            "unprotect+decode",
            plain_len,
            1,
            Box::new(move || {
                client.forget_counters();
                let plain = client.context.unprotect(&ciphered)?.apdu;
                Ok(decoded_rows(&XdlmsApdu::from_bytes(&plain)?))
            }),
        ));
    }

    let mut server = server_security()?;
    let plain_blocks = f.cipher_blocks.clone();
    let count = plain_blocks.len();
    cases.push(CodecCase::new(
        "glo-datablocks",
        n,
        "protect",
        cipher_blocks_len,
        count,
        Box::new(move || {
            let mut total = 0;
            for b in &plain_blocks {
                total += server.protect_as(b, glo)?.len();
            }
            Ok(total)
        }),
    ));
    let mut client = BenchClient::new()?;
    let glo_blocks = f.glo_blocks.clone();
    cases.push(CodecCase::new(
        "glo-datablocks",
        n,
        "unprotect+decode",
        cipher_blocks_len,
        count,
        Box::new(move || {
            client.forget_counters();
            let mut plain = Vec::with_capacity(glo_blocks.len());
            for b in &glo_blocks {
                plain.push(client.context.unprotect(b)?.apdu);
            }
            Ok(data_len(&assemble_datablocks(&plain)?))
        }),
    ));

    if let Some(stream) = &f.hdlc_stream {
        let apdu = f.normal_apdu.clone();
        cases.push(CodecCase::new(
            "hdlc",
            n,
            "encode",
            plain_len,
            1,
            Box::new(move || Ok(hdlc_response_frames(&apdu, HDLC_MAX_INFO_LENGTH)?.len())),
        ));
        let s = stream.clone();
        cases.push(CodecCase::new(
            "hdlc",
            n,
            "parse+reassemble",
            plain_len,
            1,
            Box::new(move || Ok(hdlc_reassemble(&s, usize::from(u16::MAX))?.len())),
        ));
        let s = stream.clone();
        cases.push(CodecCase::new(
            "hdlc",
            n,
            "parse+decode",
            plain_len,
            1,
            Box::new(move || {
                let apdu = hdlc_reassemble(&s, usize::from(u16::MAX))?;
                Ok(decoded_rows(&XdlmsApdu::from_bytes(&apdu)?))
            }),
        ));
    }
    Ok(cases)
}

/// The single-frame AES-GCM cases: suite 0 authenticated encryption (SC 0x30) of the
/// first [`AES_GCM_FRAME_LEN`] bytes of the 96-row get-response (IEC 62056-5-3
/// §9.2.7.2.4; no APDU framing, no counters: the cipher alone), `encrypt` and `decrypt`
/// (tag verified).
///
/// # Errors
/// As [`profile_buffer`]; [`FixtureError::Security`] is not expected.
pub fn aes_gcm_cases() -> Result<Vec<CodecCase>, FixtureError> {
    let apdu = get_response_normal(profile_buffer(ROWS_PER_DAY)?).to_bytes();
    let plain: Vec<u8> = apdu.into_iter().take(AES_GCM_FRAME_LEN).collect();
    let len = plain.len();
    let ek = AesKey::from_slice(&ENCRYPTION_KEY)?;
    let ak = AesKey::from_slice(&AUTHENTICATION_KEY)?;
    let title = SystemTitle(SERVER_SYSTEM_TITLE);
    let sc = SecurityControl::SUITE0_AUTHENTICATED_ENCRYPTED;
    let keys = CipherKeys { encryption_key: &ek, authentication_key: &ak };
    let ciphered = suite0::encrypt(sc, &title, 1, keys, &plain)?;
    let (ek2, ak2) = (ek.clone(), ak.clone());
    let mut counter = 0u32;
    Ok(vec![
        CodecCase::new(
            "aes-gcm",
            len,
            "encrypt",
            len,
            1,
            Box::new(move || {
                counter = counter.wrapping_add(1);
                let keys = CipherKeys { encryption_key: &ek, authentication_key: &ak };
                Ok(suite0::encrypt(sc, &title, counter, keys, &plain)?.len())
            }),
        ),
        CodecCase::new(
            "aes-gcm",
            len,
            "decrypt",
            len,
            1,
            Box::new(move || {
                let keys = CipherKeys { encryption_key: &ek2, authentication_key: &ak2 };
                Ok(suite0::decrypt(sc, &title, 1, keys, &ciphered)?.len())
            }),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_encoded_as_the_meter_does() {
        let rows = profile_rows(2).unwrap();
        // The newest row ends at 2026-03-01T00:00Z = 01:00 local (deviation −60).
        let newest = rows[1].capture_time.to_octets();
        assert_eq!(newest, [0x07, 0xEA, 3, 1, 7, 1, 0, 0, 0, 0xFF, 0xC4, 0x00]);
        let older = rows[0].capture_time.to_octets();
        assert_eq!(older, [0x07, 0xEA, 3, 1, 7, 0, 45, 0, 0, 0xFF, 0xC4, 0x00]);
        // structure(6) { octet-string(12), unsigned, double-long-unsigned ×4 }: 38 bytes
        let bytes = rows[0].to_data().to_bytes();
        assert_eq!(bytes.len(), 2 + 14 + 2 + 4 * 5);
        assert_eq!(&bytes[..4], &[0x02, 0x06, 0x09, 0x0C]);
        assert_eq!(bytes[16], 0x11);
        assert_eq!(bytes[18], 0x06);
    }

    #[test]
    fn registers_never_decrease_and_times_step_by_the_interval() {
        let rows = profile_rows(ROWS_30_DAYS).unwrap();
        assert_eq!(rows.len(), 2880);
        for w in rows.windows(2) {
            assert!(w[1].active_import_wh > w[0].active_import_wh);
            assert!(w[1].active_export_wh >= w[0].active_export_wh);
            let dt = w[1].capture_time.to_utc().unwrap().as_second() - w[0].capture_time.to_utc().unwrap().as_second();
            assert_eq!(dt, INTERVAL_SECONDS);
        }
        assert_eq!(profile_rows(ROWS_30_DAYS).unwrap(), rows, "deterministic");
        assert!(matches!(profile_rows(MAX_ROWS + 1), Err(FixtureError::TooManyRows { .. })));
        assert_eq!(profile_rows(0).unwrap(), []);
    }

    #[test]
    fn get_response_normal_has_the_expected_layout() {
        let apdu = get_response_normal(profile_buffer(ROWS_PER_DAY).unwrap()).to_bytes();
        // C4 01 C1 00 (Data) 01 (array) 60 (96 rows) 02 06 ...
        assert_eq!(&apdu[..8], &[0xC4, 0x01, 0xC1, 0x00, 0x01, 0x60, 0x02, 0x06]);
        assert_eq!(apdu.len(), 6 + 96 * 38);
    }

    #[test]
    fn datablocks_fit_the_pdu_and_assemble_to_the_value() {
        let value = profile_buffer(ROWS_30_DAYS).unwrap();
        let encoded = value.to_bytes();
        let blocks = datablock_responses(&encoded, DEFAULT_MAX_PDU_SIZE);
        assert_eq!(blocks.len(), encoded.len().div_ceil(DEFAULT_MAX_PDU_SIZE - DATABLOCK_OVERHEAD));
        assert!(blocks.iter().all(|b| b.len() <= DEFAULT_MAX_PDU_SIZE));
        assert_eq!(&blocks[0][..8], &[0xC4, 0x02, 0xC1, 0x00, 0, 0, 0, 1]);
        assert_eq!(blocks.last().unwrap()[3], 0x01, "last-block flag");
        assert_eq!(assemble_datablocks(&blocks).unwrap(), value);
    }

    #[test]
    fn broken_block_sequences_are_errors() {
        let encoded = profile_buffer(200).unwrap().to_bytes();
        let blocks = datablock_responses(&encoded, 512);
        assert!(blocks.len() >= 3);
        assert!(assemble_datablocks(&blocks[..blocks.len() - 1]).is_err(), "no last block");
        assert!(assemble_datablocks(blocks.iter().skip(1)).is_err(), "starts at block 2");
        let mut swapped = blocks.clone();
        swapped.swap(0, 1);
        assert!(assemble_datablocks(&swapped).is_err());
        let mut extra = blocks.clone();
        extra.push(blocks[0].clone());
        assert!(assemble_datablocks(&extra).is_err(), "block after the last");
        let normal = get_response_normal(Data::Unsigned(1)).to_bytes();
        assert!(assemble_datablocks([normal]).is_err());
    }

    #[test]
    fn ciphered_responses_open_with_the_client_context() {
        let apdu = get_response_normal(profile_buffer(ROWS_PER_DAY).unwrap()).to_bytes();
        let mut server = server_security().unwrap();
        let glo = server.protect_as(&apdu, CipheringForm::ServiceSpecific(KeyScope::Global)).unwrap();
        let general = server.protect_as(&apdu, CipheringForm::General(KeyScope::Global)).unwrap();
        assert_eq!(glo[0], 0xCC, "glo-get-response");
        assert_eq!(general[0], 0xDB, "general-glo-ciphering");
        let mut client = client_security().unwrap();
        let opened = client.unprotect(&glo).unwrap();
        assert_eq!(opened.apdu, apdu);
        assert_eq!(opened.security_header.security_control.0, 0x30);
        assert_eq!(client.unprotect(&general).unwrap().apdu, apdu);
        // the same APDU again is a replay
        assert!(client.unprotect(&general).is_err());
    }

    #[test]
    fn hdlc_segments_and_reassembles() {
        let apdu = get_response_normal(profile_buffer(ROWS_PER_DAY).unwrap()).to_bytes();
        let stream = hdlc_response_frames(&apdu, HDLC_MAX_INFO_LENGTH).unwrap();
        let frames = (apdu.len() + 3).div_ceil(HDLC_MAX_INFO_LENGTH);
        // flag, format (2), destination (1), source (2), control, HCS (2), FCS (2), flag
        let last_info = (apdu.len() + 3) - (frames - 1) * HDLC_MAX_INFO_LENGTH;
        assert_eq!(stream.len(), frames * 12 + (frames - 1) * HDLC_MAX_INFO_LENGTH + last_info);
        // first frame: flag, format A8 8A (S set, length 138), destination 21 (client 0x10),
        // source 02 23 (server 1/17), control 30 (I, N(S) 0, N(R) 1, F), HCS, LLC E6 E7 00
        assert_eq!(&stream[..7], &[0x7E, 0xA8, 0x8A, 0x21, 0x02, 0x23, 0x30]);
        assert_eq!(&stream[9..12], &[0xE6, 0xE7, 0x00]);
        assert_eq!(hdlc_reassemble(&stream, 65_535).unwrap(), apdu);
        assert!(hdlc_reassemble(&stream[..stream.len() - 1], 65_535).is_err());
        assert!(hdlc_reassemble(&stream, 1000).is_err(), "over the reassembly limit");
        let mut corrupt = stream.clone();
        corrupt[200] ^= 0x01;
        assert!(hdlc_reassemble(&corrupt, 65_535).is_err());
    }
    #[test]
    fn every_case_runs_repeatedly_and_reports_its_work() {
        let fixture = ProfileFixture::new(ROWS_PER_DAY).unwrap();
        let mut cases = profile_cases(&fixture).unwrap();
        let ids: Vec<String> = cases.iter().map(CodecCase::id).collect();
        assert_eq!(
            ids,
            [
                "plain-normal/96/encode",
                "plain-normal/96/decode",
                "datablocks/96/encode",
                "datablocks/96/decode",
                "glo-normal/96/protect",
                "glo-normal/96/unprotect+decode",
                "general-glo/96/protect",
                "general-glo/96/unprotect+decode",
                "glo-datablocks/96/protect",
                "glo-datablocks/96/unprotect+decode",
                "hdlc/96/encode",
                "hdlc/96/parse+reassemble",
                "hdlc/96/parse+decode",
            ]
        );
        for case in &mut cases {
            // twice: the unprotect cases must survive the replay rule
            for _ in 0..2 {
                let out = case.run().unwrap_or_else(|e| panic!("{}: {e}", case.id()));
                match case.operation {
                    "decode" | "unprotect+decode" | "parse+decode" => assert_eq!(out, 96, "{}", case.id()),
                    "parse+reassemble" => assert_eq!(out, fixture.normal_apdu.len()),
                    _ => assert!(out > 0),
                }
            }
        }
        let blocks = cases.iter().find(|c| c.id() == "datablocks/96/decode").unwrap();
        assert_eq!(blocks.apdus, fixture.blocks.len());
        assert_eq!(blocks.apdu_bytes, fixture.blocks.iter().map(Vec::len).sum::<usize>());
        assert!(fixture.glo_blocks.iter().all(|b| b.len() <= DEFAULT_MAX_PDU_SIZE));

        let mut aes = aes_gcm_cases().unwrap();
        assert_eq!(aes[0].run().unwrap(), AES_GCM_FRAME_LEN + 12);
        assert_eq!(aes[1].run().unwrap(), AES_GCM_FRAME_LEN);
    }

    #[test]
    fn long_profiles_have_no_hdlc_stream() {
        let fixture = ProfileFixture::new(ROWS_30_DAYS).unwrap();
        assert!(fixture.normal_apdu.len() > 65_535);
        assert!(fixture.hdlc_stream.is_none());
        assert_eq!(profile_cases(&fixture).unwrap().len(), 10);
    }
}
