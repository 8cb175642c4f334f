//! Helpers shared by the `dlms` fuzz targets (see `fuzz/README.md`): round-trip
//! assertions, the length-prefixed record format the association targets use to split
//! one fuzz input into several APDUs, and a trivial COSEM object model.
#![forbid(unsafe_code)]

pub mod fixed_server;
pub mod records;
pub mod roundtrip;
