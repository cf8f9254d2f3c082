//! The boot GDT (Linux's layout, as the guest will use) and its segments in KVM's form.

use kvm_bindings::kvm_segment;
use lego_abi::layout::selectors::GDT_ENTRIES;

/// 64-bit kernel code, at selector 0x10.
pub const KERNEL_CODE64: u64 = 0x00af_9b00_0000_ffff;
/// Kernel data, at 0x18.
pub const KERNEL_DATA: u64 = 0x00cf_9300_0000_ffff;
/// 32-bit user code, at 0x23.
pub const USER_CODE32: u64 = 0x00cf_fb00_0000_ffff;
/// User data, at 0x2b.
pub const USER_DATA: u64 = 0x00cf_f300_0000_ffff;
/// 64-bit user code, at 0x33.
pub const USER_CODE64: u64 = 0x00af_fb00_0000_ffff;

/// The boot GDT's words. Slots 8-9 (the TSS) stay empty: each CPU loads its own GDT and TSS.
pub fn boot_gdt() -> [u64; GDT_ENTRIES] {
    [
        0,
        0,
        KERNEL_CODE64,
        KERNEL_DATA,
        USER_CODE32,
        USER_DATA,
        USER_CODE64,
        0,
        0,
        0,
    ]
}

/// Decodes a descriptor into KVM's segment form, as the CPU would load it at `selector`.
pub fn segment(desc: u64, selector: u16) -> kvm_segment {
    let base = ((desc >> 16) & 0xff_ffff) | (((desc >> 56) & 0xff) << 24);
    let limit = (desc & 0xffff) | (((desc >> 48) & 0xf) << 16);
    let g = ((desc >> 55) & 1) as u8;
    kvm_segment {
        base,
        // With G=1 the limit counts 4 KiB units; KVM wants bytes.
        limit: if g == 1 {
            ((limit << 12) | 0xfff) as u32
        } else {
            limit as u32
        },
        selector,
        type_: ((desc >> 40) & 0xf) as u8,
        present: ((desc >> 47) & 1) as u8,
        dpl: ((desc >> 45) & 3) as u8,
        db: ((desc >> 54) & 1) as u8,
        s: ((desc >> 44) & 1) as u8,
        l: ((desc >> 53) & 1) as u8,
        g,
        avl: ((desc >> 52) & 1) as u8,
        unusable: u8::from((desc >> 47) & 1 == 0),
        padding: 0,
    }
}

/// A busy 64-bit TSS placeholder for TR: KVM's entry checks want a usable TR in long mode; the
/// guest loads its real TSS during bring-up.
pub fn boot_tr() -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0x67,
        selector: 0,
        type_: 11,
        present: 1,
        dpl: 0,
        db: 0,
        s: 0,
        l: 0,
        g: 0,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_code_is_a_long_mode_segment() {
        let s = segment(KERNEL_CODE64, 0x10);
        assert_eq!(
            (s.l, s.db, s.dpl, s.present, s.s, s.type_),
            (1, 0, 0, 1, 1, 0xb)
        );
        assert_eq!(s.limit, 0xffff_ffff);
        assert_eq!(s.base, 0);
        assert_eq!(s.unusable, 0);
    }

    #[test]
    fn data_and_user_segments() {
        let d = segment(KERNEL_DATA, 0x18);
        assert_eq!((d.l, d.db, d.type_, d.dpl), (0, 1, 3, 0));
        let u = segment(USER_CODE64, 0x33);
        assert_eq!((u.l, u.dpl, u.type_), (1, 3, 0xb));
        assert_eq!(segment(0, 0).unusable, 1);
    }

    #[test]
    fn boot_gdt_matches_the_selectors() {
        use lego_abi::layout::selectors::*;
        let g = boot_gdt();
        assert_eq!(g[usize::from(KERNEL_CS >> 3)], KERNEL_CODE64);
        assert_eq!(g[usize::from(KERNEL_DS >> 3)], KERNEL_DATA);
        assert_eq!(g[usize::from(USER_CS >> 3)], USER_CODE64);
        assert_eq!(g[usize::from(USER_DS >> 3)], USER_DATA);
        assert_eq!(g[usize::from(USER32_CS >> 3)], USER_CODE32);
    }
}
