//! Token encoding (vending side) and decoding between [`Token`] and the 20-digit
//! [`TokenNumber`] (IEC 62055-41:2018 §6.4, TCDU generation; §6.5, encryption).
//!
//! Encoding: plain data block (with CRC) → encrypt with the decoder key (classes 0 and 2) →
//! transpose the class bits → 66-bit token number → 20 digits. Decoding runs the same steps
//! backwards and checks the CRC, which after decryption is what authenticates the token.

use thiserror::Error;

use crate::cipher::TokenCipher;
use crate::token::{FieldRangeError, LayoutError, Token};
use crate::token_number::{TokenNumber, TokenNumberError};

/// Why a token could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A field value is wider than its bit field.
    #[error(transparent)]
    Field(#[from] FieldRangeError),
    /// Classes 0 and 2 are encrypted: a decoder key is needed.
    #[error("class {class} tokens are encrypted: a decoder key is needed")]
    MissingKey {
        /// The token class.
        class: u8,
    },
}

/// Why a token number could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Not a 20-digit token number.
    #[error(transparent)]
    Number(#[from] TokenNumberError),
    /// CRC mismatch after decryption, or a reserved class/subclass.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// Classes 0 and 2 are encrypted: a decoder key is needed.
    #[error("class {class} tokens are encrypted: a decoder key is needed")]
    MissingKey {
        /// The token class.
        class: u8,
    },
}

/// Encodes a token under a decoder key. `cipher` may be `None` only for class 1 tokens, which
/// are sent unencrypted.
pub fn encode_token(token: &Token, cipher: Option<&TokenCipher>) -> Result<TokenNumber, EncodeError> {
    let class = token.class();
    let plain = token.to_data_block()?;
    let block = if class.is_encrypted() {
        cipher.ok_or(EncodeError::MissingKey { class: class.bits() })?.encrypt_block(plain)
    } else {
        plain
    };
    Ok(TokenNumber::from_class_and_block(class, block))
}

/// The plain 64-bit data block inside a token number (decrypted for classes 0 and 2), without
/// checking the CRC. `cipher` may be `None` only for class 1 (and class 3) token numbers.
pub fn decrypt_data_block(number: TokenNumber, cipher: Option<&TokenCipher>) -> Result<u64, DecodeError> {
    let class = number.class();
    if class.is_encrypted() {
        Ok(cipher.ok_or(DecodeError::MissingKey { class: class.bits() })?.decrypt_block(number.block()))
    } else {
        Ok(number.block())
    }
}

/// Decodes a token number: decrypts (classes 0 and 2), checks the CRC and splits the fields.
pub fn decode_token(number: TokenNumber, cipher: Option<&TokenCipher>) -> Result<Token, DecodeError> {
    let class = number.class();
    let block = decrypt_data_block(number, cipher)?;
    Ok(Token::from_data_block(class, block)?)
}

/// Parses the 20 digits and decodes them (see [`decode_token`]).
pub fn decode_token_str(digits: &str, cipher: Option<&TokenCipher>) -> Result<Token, DecodeError> {
    decode_token(digits.parse()?, cipher)
}
