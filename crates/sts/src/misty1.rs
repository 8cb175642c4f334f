//! EA11: the MISTY1 block cipher (IEC 62055-41:2018 §6.5, encryption algorithm 11; the cipher
//! itself is specified in RFC 2994 and ISO/IEC 18033-3).
//!
//! 64-bit block, 128-bit key, the recommended 8 rounds (FO rounds) with the FL layers.
//! Blocks and keys are big-endian byte strings: for STS the 64-bit data block is taken most
//! significant byte first, and the 128-bit decoder key in its natural order.

/// MISTY1 S-box S7 (RFC 2994, section 2.3).
const S7: [u8; 128] = [
    27, 50, 51, 90, 59, 16, 23, 84, 91, 26, 114, 115, 107, 44, 102, 73, 31, 36, 19, 108, 55, 46, 63, 74, 93, 15, 64,
    86, 37, 81, 28, 4, 11, 70, 32, 13, 123, 53, 68, 66, 43, 30, 65, 20, 75, 121, 21, 111, 14, 85, 9, 54, 116, 12, 103,
    83, 40, 10, 126, 56, 2, 7, 96, 41, 25, 18, 101, 47, 48, 57, 8, 104, 95, 120, 42, 76, 100, 69, 117, 61, 89, 72, 3,
    87, 124, 79, 98, 60, 29, 33, 94, 39, 106, 112, 77, 58, 1, 109, 110, 99, 24, 119, 35, 5, 38, 118, 0, 49, 45, 122,
    127, 97, 80, 34, 17, 6, 71, 22, 82, 78, 113, 62, 105, 67, 52, 92, 88, 125,
];

/// MISTY1 S-box S9 (RFC 2994, section 2.3).
const S9: [u16; 512] = [
    451, 203, 339, 415, 483, 233, 251, 53, 385, 185, 279, 491, 307, 9, 45, 211, 199, 330, 55, 126, 235, 356, 403, 472,
    163, 286, 85, 44, 29, 418, 355, 280, 331, 338, 466, 15, 43, 48, 314, 229, 273, 312, 398, 99, 227, 200, 500, 27, 1,
    157, 248, 416, 365, 499, 28, 326, 125, 209, 130, 490, 387, 301, 244, 414, 467, 221, 482, 296, 480, 236, 89, 145,
    17, 303, 38, 220, 176, 396, 271, 503, 231, 364, 182, 249, 216, 337, 257, 332, 259, 184, 340, 299, 430, 23, 113, 12,
    71, 88, 127, 420, 308, 297, 132, 349, 413, 434, 419, 72, 124, 81, 458, 35, 317, 423, 357, 59, 66, 218, 402, 206,
    193, 107, 159, 497, 300, 388, 250, 406, 481, 361, 381, 49, 384, 266, 148, 474, 390, 318, 284, 96, 373, 463, 103,
    281, 101, 104, 153, 336, 8, 7, 380, 183, 36, 25, 222, 295, 219, 228, 425, 82, 265, 144, 412, 449, 40, 435, 309,
    362, 374, 223, 485, 392, 197, 366, 478, 433, 195, 479, 54, 238, 494, 240, 147, 73, 154, 438, 105, 129, 293, 11, 94,
    180, 329, 455, 372, 62, 315, 439, 142, 454, 174, 16, 149, 495, 78, 242, 509, 133, 253, 246, 160, 367, 131, 138,
    342, 155, 316, 263, 359, 152, 464, 489, 3, 510, 189, 290, 137, 210, 399, 18, 51, 106, 322, 237, 368, 283, 226, 335,
    344, 305, 327, 93, 275, 461, 121, 353, 421, 377, 158, 436, 204, 34, 306, 26, 232, 4, 391, 493, 407, 57, 447, 471,
    39, 395, 198, 156, 208, 334, 108, 52, 498, 110, 202, 37, 186, 401, 254, 19, 262, 47, 429, 370, 475, 192, 267, 470,
    245, 492, 269, 118, 276, 427, 117, 268, 484, 345, 84, 287, 75, 196, 446, 247, 41, 164, 14, 496, 119, 77, 378, 134,
    139, 179, 369, 191, 270, 260, 151, 347, 352, 360, 215, 187, 102, 462, 252, 146, 453, 111, 22, 74, 161, 313, 175,
    241, 400, 10, 426, 323, 379, 86, 397, 358, 212, 507, 333, 404, 410, 135, 504, 291, 167, 440, 321, 60, 505, 320, 42,
    341, 282, 417, 408, 213, 294, 431, 97, 302, 343, 476, 114, 394, 170, 150, 277, 239, 69, 123, 141, 325, 83, 95, 376,
    178, 46, 32, 469, 63, 457, 487, 428, 68, 56, 20, 177, 363, 171, 181, 90, 386, 456, 468, 24, 375, 100, 207, 109,
    256, 409, 304, 346, 5, 288, 443, 445, 224, 79, 214, 319, 452, 298, 21, 6, 255, 411, 166, 67, 136, 80, 351, 488,
    289, 115, 382, 188, 194, 201, 371, 393, 501, 116, 460, 486, 424, 405, 31, 65, 13, 442, 50, 61, 465, 128, 168, 87,
    441, 354, 328, 217, 261, 98, 122, 33, 511, 274, 264, 448, 169, 285, 432, 422, 205, 243, 92, 258, 91, 473, 324, 502,
    173, 165, 58, 459, 310, 383, 70, 225, 30, 477, 230, 311, 506, 389, 140, 143, 64, 437, 190, 120, 0, 172, 272, 350,
    292, 2, 444, 162, 234, 112, 508, 278, 348, 76, 450,
];

/// A MISTY1 key schedule (the 32 expanded-key words EK of RFC 2994 §2.2).
#[derive(Clone, PartialEq, Eq)]
pub struct Misty1 {
    ek: [u16; 32],
}

impl std::fmt::Debug for Misty1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Misty1(key schedule redacted)")
    }
}

/// FI function (RFC 2994 §2.3).
fn fi(fi_in: u16, fi_key: u16) -> u16 {
    let s9 = |x: u16| S9[usize::from(x & 0x1FF)];
    let s7 = |x: u16| u16::from(S7[usize::from(x & 0x7F)]);
    let mut d9 = fi_in >> 7;
    let mut d7 = fi_in & 0x7F;
    d9 = s9(d9) ^ d7;
    d7 = s7(d7) ^ (d9 & 0x7F);
    d7 ^= fi_key >> 9;
    d9 ^= fi_key & 0x1FF;
    d9 = s9(d9) ^ d7;
    (d7 << 9) | d9
}

impl Misty1 {
    /// The key schedule of a 128-bit key (RFC 2994 §2.2).
    pub fn new(key: &[u8; 16]) -> Misty1 {
        let mut ek = [0u16; 32];
        for (i, pair) in key.chunks_exact(2).enumerate() {
            if let ([hi, lo], Some(slot)) = (pair, ek.get_mut(i)) {
                *slot = u16::from_be_bytes([*hi, *lo]);
            }
        }
        for i in 0..8 {
            let v = fi(ek[i], ek[(i + 1) % 8]);
            ek[i + 8] = v;
            ek[i + 16] = v & 0x1FF;
            ek[i + 24] = v >> 9;
        }
        Misty1 { ek }
    }

    /// EK word `i` (i < 32 for every caller below).
    fn k(&self, i: usize) -> u16 {
        self.ek[i % 32]
    }

    /// FO function, round `k` (RFC 2994 §2.3).
    fn fo(&self, fo_in: u32, k: usize) -> u32 {
        let mut t0 = (fo_in >> 16) as u16;
        let mut t1 = fo_in as u16;
        t0 ^= self.k(k);
        t0 = fi(t0, self.k((k + 5) % 8 + 8));
        t0 ^= t1;
        t1 ^= self.k((k + 2) % 8);
        t1 = fi(t1, self.k((k + 1) % 8 + 8));
        t1 ^= t0;
        t0 ^= self.k((k + 7) % 8);
        t0 = fi(t0, self.k((k + 3) % 8 + 8));
        t0 ^= t1;
        t1 ^= self.k((k + 4) % 8);
        (u32::from(t1) << 16) | u32::from(t0)
    }

    /// FL function, index `k` (RFC 2994 §2.3).
    fn fl(&self, fl_in: u32, k: usize) -> u32 {
        let mut d0 = (fl_in >> 16) as u16;
        let mut d1 = fl_in as u16;
        if k % 2 == 0 {
            d1 ^= d0 & self.k(k / 2);
            d0 ^= d1 | self.k((k / 2 + 6) % 8 + 8);
        } else {
            d1 ^= d0 & self.k(((k - 1) / 2 + 2) % 8 + 8);
            d0 ^= d1 | self.k(((k - 1) / 2 + 4) % 8);
        }
        (u32::from(d0) << 16) | u32::from(d1)
    }

    /// Inverse of [`Misty1::fl`] (FLINV of RFC 2994 §2.3).
    fn fl_inv(&self, fl_in: u32, k: usize) -> u32 {
        let mut d0 = (fl_in >> 16) as u16;
        let mut d1 = fl_in as u16;
        if k % 2 == 0 {
            d0 ^= d1 | self.k((k / 2 + 6) % 8 + 8);
            d1 ^= d0 & self.k(k / 2);
        } else {
            d0 ^= d1 | self.k(((k - 1) / 2 + 4) % 8);
            d1 ^= d0 & self.k(((k - 1) / 2 + 2) % 8 + 8);
        }
        (u32::from(d0) << 16) | u32::from(d1)
    }

    /// Encrypts one 64-bit block (big-endian: bits 63..32 are the first four bytes).
    pub fn encrypt(&self, block: u64) -> u64 {
        let mut d0 = (block >> 32) as u32;
        let mut d1 = block as u32;
        for round in (0..8).step_by(2) {
            d0 = self.fl(d0, round);
            d1 = self.fl(d1, round + 1);
            d1 ^= self.fo(d0, round);
            d0 ^= self.fo(d1, round + 1);
        }
        d0 = self.fl(d0, 8);
        d1 = self.fl(d1, 9);
        (u64::from(d1) << 32) | u64::from(d0)
    }

    /// Decrypts one 64-bit block.
    pub fn decrypt(&self, block: u64) -> u64 {
        let mut d1 = (block >> 32) as u32;
        let mut d0 = block as u32;
        d0 = self.fl_inv(d0, 8);
        d1 = self.fl_inv(d1, 9);
        for round in (0..8).step_by(2).rev() {
            d0 ^= self.fo(d1, round + 1);
            d1 ^= self.fo(d0, round);
            d0 = self.fl_inv(d0, round);
            d1 = self.fl_inv(d1, round + 1);
        }
        (u64::from(d0) << 32) | u64::from(d1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_KEY: [u8; 16] =
        [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];

    #[test]
    fn rfc_2994_test_data() {
        let m = Misty1::new(&RFC_KEY);
        assert_eq!(m.encrypt(0x0123456789abcdef), 0x8b1da5f56ab3d07c);
        assert_eq!(m.encrypt(0xfedcba9876543210), 0x04b68240b13be95d);
        assert_eq!(m.decrypt(0x8b1da5f56ab3d07c), 0x0123456789abcdef);
        assert_eq!(m.decrypt(0x04b68240b13be95d), 0xfedcba9876543210);
    }

    #[test]
    fn s_boxes_are_permutations() {
        let mut s7: Vec<u8> = S7.to_vec();
        s7.sort_unstable();
        assert!(s7.iter().enumerate().all(|(i, &v)| usize::from(v) == i));
        let mut s9: Vec<u16> = S9.to_vec();
        s9.sort_unstable();
        assert!(s9.iter().enumerate().all(|(i, &v)| usize::from(v) == i));
    }
}
