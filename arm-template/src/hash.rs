//! Azure's deterministic name functions, bit for bit: `uniqueString` and `guid`.
//!
//! Both join their arguments with `-` first. `uniqueString` hashes the UTF-8 bytes with the
//! 64-bit MurmurHash variant of Microsoft's ResourceStack library (two 32-bit lanes, its own
//! constants) and writes the 64 bits as 13 base32 characters (`a`–`z`, `2`–`7`, five bits at
//! a time from the top). `guid` is a name-based UUID, version 5 (SHA-1), in the namespace
//! `11fb06fb-712d-4ddd-98c7-e71bbd588830`. The algorithms are those of the decompiled
//! `Azure.Deployments.Expression` code quoted in public reimplementations (e.g. the
//! EmmittJ.Aspire.Hosting.Pulumi.Azure `ArmFunctions` port); the outputs are pinned below to
//! values Microsoft's own engine produced.

use ring::digest;

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The ARM namespace of `guid()`.
const ARM_NAMESPACE: [u8; 16] =
    [0x11, 0xfb, 0x06, 0xfb, 0x71, 0x2d, 0x4d, 0xdd, 0x98, 0xc7, 0xe7, 0x1b, 0xbd, 0x58, 0x88, 0x30];

/// `uniqueString(args…)`.
pub fn unique_string(args: &[&str]) -> String {
    let mut h = murmur64(args.join("-").as_bytes());
    let mut out = String::with_capacity(13);
    for _ in 0..13 {
        out.push(BASE32[(h >> 59) as usize] as char);
        h <<= 5;
    }
    out
}

/// `guid(args…)`.
pub fn guid(args: &[&str]) -> String {
    let name = args.join("-");
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&ARM_NAMESPACE);
    ctx.update(name.as_bytes());
    let hash = ctx.finish();
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(&b)
}

/// A UUID's canonical lowercase text.
pub(crate) fn format_uuid(b: &[u8; 16]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

fn le32(d: &[u8]) -> u32 {
    d.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (8 * i)))
}

/// Microsoft.WindowsAzure.ResourceStack's `ComputeHash.MurmurHash64` with seed 0.
fn murmur64(data: &[u8]) -> u64 {
    const C1: u32 = 597_399_067;
    const C2: u32 = 2_869_860_233;
    let len = data.len();
    let (mut h1, mut h2) = (0u32, 0u32);
    let mut i = 0;
    while i + 7 < len {
        let k1 = le32(&data[i..i + 4]).wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h1 = (h1 ^ k1).rotate_left(19).wrapping_add(h2).wrapping_mul(5).wrapping_add(1_444_728_091);
        let k2 = le32(&data[i + 4..i + 8]).wrapping_mul(C2).rotate_left(17).wrapping_mul(C1);
        h2 = (h2 ^ k2).rotate_left(13).wrapping_add(h1).wrapping_mul(5).wrapping_add(197_830_471);
        i += 8;
    }
    let rest = len - i;
    if rest > 0 {
        let k1 = le32(&data[i..i + rest.min(4)]).wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h1 ^= k1;
        if rest > 4 {
            let k2 = le32(&data[i + 4..len]).wrapping_mul(C2).rotate_left(17).wrapping_mul(C1);
            h2 ^= k2;
        }
    }
    h1 ^= len as u32;
    h2 ^= len as u32;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (u64::from(h2) << 32) | u64::from(h1)
}

fn fmix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(2_246_822_507);
    h ^= h >> 13;
    h = h.wrapping_mul(3_266_489_909);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Azure/bicep `src/Bicep.Core.Samples/Files/baselines_bicepparam/Expressions/`: the
    /// parameters file `uniqueString('asd', 'asdf', 'asdf')` compiles to `iizpqit7ih3cc`
    /// (Bicep evaluates parameter files with Microsoft's ARM expression engine).
    #[test]
    fn unique_string_of_three_arguments_matches_azures_engine() {
        assert_eq!(unique_string(&["asd", "asdf", "asdf"]), "iizpqit7ih3cc");
    }

    /// A README of a tool that runs the real `Azure.Deployments.Expression` package:
    /// `uniqueString test` → `rbgf3xv4ufgzg`.
    #[test]
    fn unique_string_of_test_matches_the_azure_deployments_expression_package() {
        assert_eq!(unique_string(&["test"]), "rbgf3xv4ufgzg");
    }

    /// microsoft/commercial-marketplace-offer-deploy `ArmFunctionsTests`
    /// (`UniqueStringShouldEqualValueCreatedFromArmTemplate`): a value an ARM template
    /// output, for a VM's resource ID, checked there against `Azure.Deployments.Expression`.
    #[test]
    fn unique_string_of_a_resource_id_matches_an_arm_template_output() {
        let id = "/subscriptions/31e9f9a0-9fd2-4294-a0a3-0101246d9700/resourceGroups/rg-modm201-20230913120256/providers/Microsoft.Compute/virtualMachines/bobjacmodm201";
        assert_eq!(unique_string(&[id]), "yvjxno3je5on2");
    }

    /// Azure/bicep's same baseline: `guid('asdf')` → `228d27cc-6fdb-5934-b7ac-1efccebade04`.
    #[test]
    fn guid_matches_azures_engine() {
        assert_eq!(guid(&["asdf"]), "228d27cc-6fdb-5934-b7ac-1efccebade04");
    }

    #[test]
    fn guid_is_version_5_and_joins_arguments_with_dashes() {
        let g = guid(&["a", "b"]);
        assert_eq!(&g[14..15], "5");
        assert_eq!(g, guid(&["a-b"]));
        assert_ne!(g, guid(&["ab"]));
    }

    #[test]
    fn every_tail_length_hashes() {
        let all: Vec<String> = (0..20).map(|n| unique_string(&[&"x".repeat(n)])).collect();
        for (i, a) in all.iter().enumerate() {
            assert_eq!(a.len(), 13);
            assert!(all[i + 1..].iter().all(|b| b != a));
        }
    }
}
