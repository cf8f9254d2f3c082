//! Work requests: what the driver's `post_send`/`post_recv` accept, as a fixed-layout record so
//! the validation (the part a hostile or buggy caller exercises) is one decoder, fuzzed on the
//! host.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::cqe::WcStatus;

/// Most scatter/gather entries per work request.
pub const MAX_SGE: usize = 4;
/// Largest message (sum of the entries).
pub const MAX_MESSAGE_BYTES: u64 = 1 << 30;
/// Generate a completion at the initiator.
pub const FLAG_SIGNALED: u32 = 1 << 0;

/// Work request operations.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrOpcode {
    /// One-sided write.
    Write = 0,
    /// One-sided write plus an immediate completion at the target.
    WriteImm = 1,
    /// Two-sided send into the target's next receive buffer.
    Send = 2,
    /// Send with immediate data.
    SendImm = 3,
    /// One-sided read.
    Read = 4,
    /// Post a receive buffer.
    Recv = 128,
}

impl WrOpcode {
    /// Decodes the wire value.
    pub fn from_u32(v: u32) -> Option<WrOpcode> {
        Some(match v {
            0 => WrOpcode::Write,
            1 => WrOpcode::WriteImm,
            2 => WrOpcode::Send,
            3 => WrOpcode::SendImm,
            4 => WrOpcode::Read,
            128 => WrOpcode::Recv,
            _ => return None,
        })
    }

    /// Whether it names a remote region.
    pub fn is_one_sided(self) -> bool {
        matches!(self, WrOpcode::Write | WrOpcode::WriteImm | WrOpcode::Read)
    }
}

/// A scatter/gather entry: local guest-physical memory.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Sge {
    /// Guest-physical address.
    pub addr: u64,
    /// Length.
    pub len: u32,
    /// Zero.
    pub _pad: u32,
}

/// A work request as bytes.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct RawWr {
    /// A [`WrOpcode`] value.
    pub opcode: u32,
    /// [`FLAG_SIGNALED`].
    pub flags: u32,
    /// Returned in the completion.
    pub wr_id: u64,
    /// Immediate data.
    pub imm: u32,
    /// Entries used in `sge`.
    pub num_sge: u32,
    /// Local buffers.
    pub sge: [Sge; MAX_SGE],
    /// Remote address (owner's guest-physical), one-sided operations.
    pub remote_addr: u64,
    /// Remote key, one-sided operations.
    pub rkey: u32,
    /// Zero.
    pub _pad: u32,
}

/// A validated work request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkRequest {
    /// The operation.
    pub opcode: WrOpcode,
    /// Its id.
    pub wr_id: u64,
    /// Whether the initiator gets a completion.
    pub signaled: bool,
    /// Immediate data.
    pub imm: u32,
    /// Local buffers (`sge[..num_sge]`).
    pub sge: [Sge; MAX_SGE],
    /// Entries used.
    pub num_sge: usize,
    /// Total bytes.
    pub len: u64,
    /// Remote address and key (one-sided operations).
    pub remote: Option<(u64, u32)>,
}

impl WorkRequest {
    /// The local buffers.
    pub fn sges(&self) -> &[Sge] {
        &self.sge[..self.num_sge]
    }
}

impl RawWr {
    /// Validates a work request; errors are the completion status to report.
    pub fn decode(&self) -> Result<WorkRequest, WcStatus> {
        let opcode = WrOpcode::from_u32(self.opcode).ok_or(WcStatus::RemoteInvalidRequest)?;
        let n = self.num_sge as usize;
        if n > MAX_SGE {
            return Err(WcStatus::LocalLengthError);
        }
        let mut len: u64 = 0;
        for s in &self.sge[..n] {
            if s.addr.checked_add(u64::from(s.len)).is_none() {
                return Err(WcStatus::LocalProtectionError);
            }
            len += u64::from(s.len);
        }
        if len > MAX_MESSAGE_BYTES {
            return Err(WcStatus::LocalLengthError);
        }
        if matches!(opcode, WrOpcode::Read | WrOpcode::Recv) && n == 0 {
            return Err(WcStatus::LocalLengthError);
        }
        let remote = if opcode.is_one_sided() {
            if self.remote_addr.checked_add(len).is_none() {
                return Err(WcStatus::RemoteAccessError);
            }
            Some((self.remote_addr, self.rkey))
        } else {
            None
        };
        Ok(WorkRequest {
            opcode,
            wr_id: self.wr_id,
            signaled: self.flags & FLAG_SIGNALED != 0,
            imm: self.imm,
            sge: self.sge,
            num_sge: n,
            len,
            remote,
        })
    }

    /// Decodes from bytes (fuzzing entry point).
    pub fn decode_bytes(bytes: &[u8]) -> Result<WorkRequest, WcStatus> {
        let raw = RawWr::read_from_prefix(bytes)
            .map_err(|_| WcStatus::RemoteInvalidRequest)?
            .0;
        raw.decode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_wr() -> RawWr {
        let mut w = RawWr {
            opcode: WrOpcode::Write as u32,
            flags: FLAG_SIGNALED,
            wr_id: 5,
            num_sge: 2,
            ..Default::default()
        };
        w.sge[0] = Sge {
            addr: 0x1000,
            len: 100,
            _pad: 0,
        };
        w.sge[1] = Sge {
            addr: 0x3000,
            len: 28,
            _pad: 0,
        };
        w.remote_addr = 0x10_0000;
        w.rkey = 9;
        w
    }

    #[test]
    fn a_valid_write() {
        let w = write_wr().decode().unwrap();
        assert_eq!(w.len, 128);
        assert_eq!(w.remote, Some((0x10_0000, 9)));
        assert!(w.signaled);
        assert_eq!(w.sges().len(), 2);
    }

    #[test]
    fn invalid_requests() {
        let mut w = write_wr();
        w.opcode = 77;
        assert_eq!(w.decode(), Err(WcStatus::RemoteInvalidRequest));
        let mut w = write_wr();
        w.num_sge = 5;
        assert_eq!(w.decode(), Err(WcStatus::LocalLengthError));
        let mut w = write_wr();
        w.sge[0].addr = u64::MAX;
        assert_eq!(w.decode(), Err(WcStatus::LocalProtectionError));
        let mut w = write_wr();
        w.remote_addr = u64::MAX - 10;
        assert_eq!(w.decode(), Err(WcStatus::RemoteAccessError));
        let mut w = write_wr();
        w.opcode = WrOpcode::Read as u32;
        w.num_sge = 0;
        assert_eq!(w.decode(), Err(WcStatus::LocalLengthError));
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..160)) {
            let _ = RawWr::decode_bytes(&bytes);
        }
    }
}
