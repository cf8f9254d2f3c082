//! The ELF loader's fuzz body: any bytes given to the static-ELF checks either are refused with
//! a reason or describe an image that keeps every promise the loader relies on (segments in
//! the user half and inside the file, an entry point in an executable segment), and its
//! initial stack can be built. Shared by the cargo-fuzz target `elf_load` and lego-linux's
//! `tests/fuzz_replay.rs`.

use lego_linux::elf::{self, DEFAULT_PIE_BASE};
use lego_linux::stack::{self, AuxInfo, StackLimits, StackSpec};

/// The top of the user half.
const USER_TOP: u64 = 0x7fff_ffff_f000;

/// One input.
pub fn elf_load(data: &[u8]) {
    let len = data.len() as u64;
    let read = |off: u64, buf: &mut [u8]| -> Result<(), ()> {
        let start = usize::try_from(off).map_err(|_| ())?;
        let src = data.get(start..start + buf.len()).ok_or(())?;
        buf.copy_from_slice(src);
        Ok(())
    };
    let Ok(img) = elf::read_image(len, read) else {
        return;
    };
    let Ok(img) = img.place(DEFAULT_PIE_BASE) else {
        return;
    };
    let mut exec_has_entry = false;
    for s in img.segments() {
        assert!(
            s.vaddr < s.end() && s.end() <= USER_TOP,
            "segment outside the user half"
        );
        assert!(s.filesz <= s.memsz, "more file than memory");
        assert!(
            s.offset.checked_add(s.filesz).is_some_and(|e| e <= len),
            "segment past the file"
        );
        if s.prot.exec && (s.vaddr..s.end()).contains(&img.entry()) {
            exec_has_entry = true;
        }
    }
    assert!(
        exec_has_entry,
        "entry point outside every executable segment"
    );
    let aux = AuxInfo::for_image(&img, [7; 16]);
    let argv: [&[u8]; 2] = [b"prog", b"arg"];
    let envp: [&[u8]; 1] = [b"K=V"];
    let st = stack::build(&StackSpec {
        top: USER_TOP,
        argv: &argv,
        envp: &envp,
        execfn: b"prog",
        aux: &aux,
        limits: StackLimits::LINUX,
    })
    .expect("a small stack always builds");
    assert!(st.rsp.is_multiple_of(16) && st.rsp >= st.base && st.base < USER_TOP);
}
