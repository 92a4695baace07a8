//! CRC-32C (Castagnoli), as TensorBoard's record framing uses it, and its "masked" form.

/// The reflected Castagnoli polynomial.
const POLY: u32 = 0x82F6_3B78;

/// A byte-at-a-time table, built at compile time.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut k = 0;
        while k < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            k += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// TensorBoard's masked CRC: `((crc >> 15) | (crc << 17)) + 0xA282EAD8`.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c(data);
    crc.rotate_right(15).wrapping_add(0xA282_EAD8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // The standard check value of CRC-32C.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        // The length CRC of the brain.Event:2 record of formats.md: a3 7f 4b 22.
        assert_eq!(
            masked_crc32c(&24u64.to_le_bytes()).to_le_bytes(),
            [0xa3, 0x7f, 0x4b, 0x22]
        );
    }
}
