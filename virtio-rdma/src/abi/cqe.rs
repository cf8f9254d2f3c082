//! Work completions, shaped like ibverbs' (`ibv_wc`): a status per work request.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Completion status (ibverbs' numbering).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WcStatus {
    /// Done.
    Success = 0,
    /// A local buffer length was wrong (e.g. a SEND longer than the receive buffer).
    LocalLengthError = 1,
    /// A local buffer is not usable.
    LocalProtectionError = 4,
    /// The work request was flushed: its queue pair went to the error state.
    WrFlushError = 5,
    /// The work request itself is invalid.
    RemoteInvalidRequest = 9,
    /// Wrong key, out of the region's bounds, or against its permissions.
    RemoteAccessError = 10,
    /// The peer is gone (its component failed).
    RetryExceeded = 12,
    /// The peer had no receive buffer posted (or no ring space) for too long.
    RnrRetryExceeded = 13,
}

impl WcStatus {
    /// Decodes the wire value.
    pub fn from_u32(v: u32) -> Option<WcStatus> {
        Some(match v {
            0 => WcStatus::Success,
            1 => WcStatus::LocalLengthError,
            4 => WcStatus::LocalProtectionError,
            5 => WcStatus::WrFlushError,
            9 => WcStatus::RemoteInvalidRequest,
            10 => WcStatus::RemoteAccessError,
            12 => WcStatus::RetryExceeded,
            13 => WcStatus::RnrRetryExceeded,
            _ => return None,
        })
    }

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            WcStatus::Success => "success",
            WcStatus::LocalLengthError => "local length error",
            WcStatus::LocalProtectionError => "local protection error",
            WcStatus::WrFlushError => "flushed",
            WcStatus::RemoteInvalidRequest => "remote invalid request",
            WcStatus::RemoteAccessError => "remote access error",
            WcStatus::RetryExceeded => "transport retry exceeded (peer gone)",
            WcStatus::RnrRetryExceeded => "receiver not ready",
        }
    }
}

/// What completed (ibverbs' numbering).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WcOpcode {
    /// A SEND.
    Send = 0,
    /// A WRITE or WRITE_WITH_IMM, at the initiator.
    RdmaWrite = 1,
    /// A READ.
    RdmaRead = 2,
    /// A received SEND.
    Recv = 128,
    /// A WRITE_WITH_IMM, at the target.
    RecvRdmaWithImm = 129,
}

impl WcOpcode {
    /// Decodes the wire value.
    pub fn from_u32(v: u32) -> Option<WcOpcode> {
        Some(match v {
            0 => WcOpcode::Send,
            1 => WcOpcode::RdmaWrite,
            2 => WcOpcode::RdmaRead,
            128 => WcOpcode::Recv,
            129 => WcOpcode::RecvRdmaWithImm,
            _ => return None,
        })
    }
}

/// One completion.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Cqe {
    /// The work request's id.
    pub wr_id: u64,
    /// A [`WcStatus`] value.
    pub status: u32,
    /// A [`WcOpcode`] value.
    pub opcode: u32,
    /// Bytes transferred (receives and reads).
    pub byte_len: u32,
    /// Immediate data (WRITE_WITH_IMM, SEND with immediate).
    pub imm: u32,
    /// Local queue pair.
    pub qpn: u32,
    /// The peer component.
    pub peer: u32,
}

impl Cqe {
    /// The decoded status (unknown values read as a remote invalid request).
    pub fn status(&self) -> WcStatus {
        WcStatus::from_u32(self.status).unwrap_or(WcStatus::RemoteInvalidRequest)
    }

    /// Whether it succeeded.
    pub fn ok(&self) -> bool {
        self.status == WcStatus::Success as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for v in 0..200 {
            if let Some(s) = WcStatus::from_u32(v) {
                assert_eq!(s as u32, v);
                assert!(!s.name().is_empty());
            }
            if let Some(o) = WcOpcode::from_u32(v) {
                assert_eq!(o as u32, v);
            }
        }
        assert_eq!(core::mem::size_of::<Cqe>(), 32);
    }
}
