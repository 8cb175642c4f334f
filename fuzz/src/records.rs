//! Splits one fuzz input into a sequence of records so a single input can drive a state
//! machine through several APDUs.
//!
//! Record layout: `op (1 byte) | length (1 byte) | payload (length bytes)`. A record whose
//! payload is cut short by the end of the input takes what is left; a lone trailing
//! `op` byte gives a record with an empty payload.

/// One record of the fuzz input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The operation byte (meaning chosen by the target; targets that need none ignore it).
    pub op: u8,
    /// The APDU bytes.
    pub payload: &'a [u8],
}

/// Iterator over the records of a fuzz input (see the module docs).
#[derive(Debug, Clone)]
pub struct Records<'a> {
    rest: &'a [u8],
}

impl<'a> Records<'a> {
    /// Starts at the first byte of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Records { rest: input }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        let (&op, rest) = self.rest.split_first()?;
        let (len, rest) = match rest.split_first() {
            Some((&len, rest)) => (len as usize, rest),
            None => (0, rest),
        };
        let (payload, rest) = rest.split_at(len.min(rest.len()));
        self.rest = rest;
        Some(Record { op, payload })
    }
}
