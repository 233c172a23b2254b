//! Signature helpers: digests, constant-time comparison, signature decoding,
//! timestamp freshness.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{AdapterError, unauthorized};

/// HMAC-SHA256 of the concatenated parts.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Plain SHA-256 of the concatenated parts.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Equal bytes, compared in constant time (for equal lengths).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

pub(crate) fn decode_hex(s: &str) -> Option<Vec<u8>> {
    hex::decode(s.trim()).ok()
}

/// Standard or URL-safe base64, padded or not.
pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let s = s.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(s).ok())
}

pub(crate) fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Check a timestamp (ms) is within `tolerance_s` of now, either way.
pub(crate) fn check_fresh(
    header: &str,
    ts_ms: i64,
    now_ms: i64,
    tolerance_s: u64,
) -> Result<(), AdapterError> {
    let tolerance_ms = i64::try_from(tolerance_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    let age = now_ms.saturating_sub(ts_ms);
    if age > tolerance_ms {
        return Err(unauthorized(format!(
            "stale timestamp: {header} is {} s old, more than the {tolerance_s} s allowed \
             (a replayed request, or a clock out of sync)",
            age / 1000
        )));
    }
    if age < -tolerance_ms {
        return Err(unauthorized(format!(
            "timestamp in the future: {header} is {} s ahead of this server's clock, more than \
             the {tolerance_s} s allowed",
            age.unsigned_abs() / 1000
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2.
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn freshness_both_ways() {
        assert!(check_fresh("T", 1_000_000, 1_000_000 + 300_000, 300).is_ok());
        assert!(check_fresh("T", 1_000_000, 1_000_000 + 300_001, 300).is_err());
        assert!(check_fresh("T", 1_000_000 + 300_001, 1_000_000, 300).is_err());
        assert!(check_fresh("T", i64::MIN, i64::MAX, 300).is_err());
        assert!(check_fresh("T", i64::MAX, i64::MIN, 300).is_err());
        assert!(check_fresh("T", 0, 0, u64::MAX).is_ok());
    }

    #[test]
    fn base64_variants() {
        assert_eq!(decode_base64("+/8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(decode_base64("-_8").unwrap(), vec![0xfb, 0xff]);
        assert!(decode_base64("not base64!").is_none());
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
