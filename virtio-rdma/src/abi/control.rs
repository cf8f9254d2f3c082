//! Control commands, sent by the guest driver on the control queue, one per descriptor chain:
//! a 64-byte [`RawCommand`] the device reads, then a 64-byte [`RawResponse`] the device writes.
//! The device decodes with [`Command::decode`], which validates every field and never panics.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::mr::ALL_PERMS;
use super::{MAX_MR_BYTES, MAX_PEERS};

/// Bytes of a command and of a response.
pub const MESSAGE_BYTES: usize = 64;
const PAGE: u64 = 4096;

/// Operation codes.
pub mod op {
    /// Report the device's state.
    pub const QUERY_DEVICE: u32 = 1;
    /// Register a memory region.
    pub const REG_MR: u32 = 2;
    /// Deregister a memory region.
    pub const DEREG_MR: u32 = 3;
    /// Find a peer's memory region (by tag or key) and map it here.
    pub const LOOKUP_MR: u32 = 4;
    /// Create a completion queue.
    pub const CREATE_CQ: u32 = 5;
    /// Destroy a completion queue.
    pub const DESTROY_CQ: u32 = 6;
    /// Create a queue pair to a peer.
    pub const CREATE_QP: u32 = 7;
    /// Destroy a queue pair.
    pub const DESTROY_QP: u32 = 8;
}

/// A command as bytes.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct RawCommand {
    /// An [`op`] value.
    pub op: u32,
    /// Zero.
    pub _pad: u32,
    /// Arguments, by operation.
    pub args: [u64; 7],
}

/// How to find a peer's MR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MrKey {
    /// By the tag its owner gave it.
    Tag(u32),
    /// By its key.
    Rkey(u32),
}

/// A decoded, validated command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Report limits and usage.
    QueryDevice,
    /// Register `[gpa, gpa + len)` with `perms` under `tag`.
    RegMr {
        /// Start (page aligned).
        gpa: u64,
        /// Length (page aligned, nonzero).
        len: u64,
        /// Permission bits (`mr::REMOTE_READ`, `mr::REMOTE_WRITE`).
        perms: u32,
        /// Name for peers' lookups.
        tag: u32,
    },
    /// Deregister an MR.
    DeregMr {
        /// Its key.
        rkey: u32,
    },
    /// Find a peer's MR and map it into this guest.
    LookupMr {
        /// The peer.
        peer: u32,
        /// Which MR.
        key: MrKey,
    },
    /// Create a completion queue of `depth` entries.
    CreateCq {
        /// A power of two, at most 4096.
        depth: u32,
    },
    /// Destroy a completion queue.
    DestroyCq {
        /// Its id.
        cq: u32,
    },
    /// Create a queue pair to `peer` whose control block is at `qpcb_gpa`.
    CreateQp {
        /// The peer.
        peer: u32,
        /// Its completion queue.
        cq: u32,
        /// Its control block (page aligned, `qpcb::QPCB_BYTES` long).
        qpcb_gpa: u64,
    },
    /// Destroy a queue pair.
    DestroyQp {
        /// Its number.
        qpn: u32,
    },
}

/// Why a command was refused before it was executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than [`MESSAGE_BYTES`].
    Short,
    /// Unknown operation.
    UnknownOp(u32),
    /// A field is out of range.
    BadArgument(&'static str),
}

fn arg_u32(v: u64, what: &'static str) -> Result<u32, DecodeError> {
    u32::try_from(v).map_err(|_| DecodeError::BadArgument(what))
}

impl Command {
    /// Decodes and validates a command from the bytes the guest wrote.
    pub fn decode(bytes: &[u8]) -> Result<Command, DecodeError> {
        let raw = RawCommand::read_from_prefix(bytes)
            .map_err(|_| DecodeError::Short)?
            .0;
        let a = raw.args;
        Ok(match raw.op {
            op::QUERY_DEVICE => Command::QueryDevice,
            op::REG_MR => {
                let (gpa, len) = (a[0], a[1]);
                let perms = arg_u32(a[2], "permissions")?;
                if gpa % PAGE != 0 || len % PAGE != 0 || len == 0 || len > MAX_MR_BYTES {
                    return Err(DecodeError::BadArgument(
                        "MR must be page aligned, nonempty, at most 256 GiB",
                    ));
                }
                if gpa.checked_add(len).is_none() {
                    return Err(DecodeError::BadArgument("MR overflows"));
                }
                if perms & !ALL_PERMS != 0 {
                    return Err(DecodeError::BadArgument("unknown permission bits"));
                }
                Command::RegMr {
                    gpa,
                    len,
                    perms,
                    tag: arg_u32(a[3], "tag")?,
                }
            }
            op::DEREG_MR => Command::DeregMr {
                rkey: arg_u32(a[0], "rkey")?,
            },
            op::LOOKUP_MR => {
                let peer = arg_u32(a[0], "peer")?;
                if peer >= MAX_PEERS {
                    return Err(DecodeError::BadArgument("peer id out of range"));
                }
                let value = arg_u32(a[2], "key")?;
                let key = match a[1] {
                    0 => MrKey::Tag(value),
                    1 => MrKey::Rkey(value),
                    _ => return Err(DecodeError::BadArgument("key kind")),
                };
                Command::LookupMr { peer, key }
            }
            op::CREATE_CQ => {
                let depth = arg_u32(a[0], "depth")?;
                if !depth.is_power_of_two() || depth > 4096 {
                    return Err(DecodeError::BadArgument(
                        "CQ depth must be a power of two <= 4096",
                    ));
                }
                Command::CreateCq { depth }
            }
            op::DESTROY_CQ => Command::DestroyCq {
                cq: arg_u32(a[0], "cq")?,
            },
            op::CREATE_QP => {
                let peer = arg_u32(a[0], "peer")?;
                if peer >= MAX_PEERS {
                    return Err(DecodeError::BadArgument("peer id out of range"));
                }
                let qpcb_gpa = a[2];
                if qpcb_gpa % PAGE != 0 {
                    return Err(DecodeError::BadArgument("QPCB must be page aligned"));
                }
                Command::CreateQp {
                    peer,
                    cq: arg_u32(a[1], "cq")?,
                    qpcb_gpa,
                }
            }
            op::DESTROY_QP => Command::DestroyQp {
                qpn: arg_u32(a[0], "qpn")?,
            },
            other => return Err(DecodeError::UnknownOp(other)),
        })
    }

    /// Encodes (the guest side).
    pub fn encode(&self) -> RawCommand {
        let (op, args): (u32, [u64; 7]) = match *self {
            Command::QueryDevice => (op::QUERY_DEVICE, [0; 7]),
            Command::RegMr {
                gpa,
                len,
                perms,
                tag,
            } => (
                op::REG_MR,
                [gpa, len, u64::from(perms), u64::from(tag), 0, 0, 0],
            ),
            Command::DeregMr { rkey } => (op::DEREG_MR, [u64::from(rkey), 0, 0, 0, 0, 0, 0]),
            Command::LookupMr { peer, key } => {
                let (kind, v) = match key {
                    MrKey::Tag(t) => (0, t),
                    MrKey::Rkey(k) => (1, k),
                };
                (
                    op::LOOKUP_MR,
                    [u64::from(peer), kind, u64::from(v), 0, 0, 0, 0],
                )
            }
            Command::CreateCq { depth } => (op::CREATE_CQ, [u64::from(depth), 0, 0, 0, 0, 0, 0]),
            Command::DestroyCq { cq } => (op::DESTROY_CQ, [u64::from(cq), 0, 0, 0, 0, 0, 0]),
            Command::CreateQp { peer, cq, qpcb_gpa } => (
                op::CREATE_QP,
                [u64::from(peer), u64::from(cq), qpcb_gpa, 0, 0, 0, 0],
            ),
            Command::DestroyQp { qpn } => (op::DESTROY_QP, [u64::from(qpn), 0, 0, 0, 0, 0, 0]),
        };
        RawCommand { op, _pad: 0, args }
    }
}

/// Control status codes.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtrlStatus {
    /// Done.
    Ok = 0,
    /// The command was malformed.
    Invalid = 1,
    /// A limit was reached.
    NoResources = 2,
    /// No such MR, CQ or QP (or the peer has not registered it yet).
    NotFound = 3,
    /// The peer is not up.
    PeerDown = 4,
    /// The memory named is not this guest's RAM.
    BadAddress = 5,
    /// The device cannot do that.
    Unsupported = 6,
}

impl CtrlStatus {
    /// Decodes the wire value.
    pub fn from_u32(v: u32) -> CtrlStatus {
        match v {
            0 => CtrlStatus::Ok,
            2 => CtrlStatus::NoResources,
            3 => CtrlStatus::NotFound,
            4 => CtrlStatus::PeerDown,
            5 => CtrlStatus::BadAddress,
            6 => CtrlStatus::Unsupported,
            _ => CtrlStatus::Invalid,
        }
    }
}

/// A response as bytes. `vals` by command: QueryDevice `[version, mrs, qps, cqs, peers_up]`;
/// RegMr `[rkey]`; LookupMr `[rkey, addr, len, perms, window_gpa, incarnation]`; CreateCq
/// `[cq]`; CreateQp `[qpn]`.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct RawResponse {
    /// A [`CtrlStatus`] value.
    pub status: u32,
    /// Zero.
    pub _pad: u32,
    /// Results.
    pub vals: [u64; 7],
}

impl RawResponse {
    /// A successful response.
    pub fn ok(vals: &[u64]) -> RawResponse {
        let mut r = RawResponse::default();
        let n = vals.len().min(7);
        r.vals[..n].copy_from_slice(&vals[..n]);
        r
    }

    /// A failed response.
    pub fn err(status: CtrlStatus) -> RawResponse {
        RawResponse {
            status: status as u32,
            ..Default::default()
        }
    }

    /// The decoded status.
    pub fn status(&self) -> CtrlStatus {
        CtrlStatus::from_u32(self.status)
    }
}

const _: () = assert!(core::mem::size_of::<RawCommand>() == MESSAGE_BYTES);
const _: () = assert!(core::mem::size_of::<RawResponse>() == MESSAGE_BYTES);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(c: Command) {
        let raw = c.encode();
        assert_eq!(Command::decode(raw.as_bytes()), Ok(c));
    }

    #[test]
    fn every_command_round_trips() {
        round_trip(Command::QueryDevice);
        round_trip(Command::RegMr {
            gpa: 0x20_0000,
            len: 0x1000,
            perms: 3,
            tag: 9,
        });
        round_trip(Command::DeregMr { rkey: 77 });
        round_trip(Command::LookupMr {
            peer: 3,
            key: MrKey::Tag(5),
        });
        round_trip(Command::LookupMr {
            peer: 63,
            key: MrKey::Rkey(5),
        });
        round_trip(Command::CreateCq { depth: 256 });
        round_trip(Command::DestroyCq { cq: 1 });
        round_trip(Command::CreateQp {
            peer: 2,
            cq: 0,
            qpcb_gpa: 0x30_0000,
        });
        round_trip(Command::DestroyQp { qpn: 4 });
    }

    #[test]
    fn invalid_fields_are_refused() {
        let bad = |c: RawCommand| Command::decode(c.as_bytes()).unwrap_err();
        let mut c = Command::RegMr {
            gpa: 0x1000,
            len: 0x1000,
            perms: 1,
            tag: 0,
        }
        .encode();
        c.args[0] = 0x1001;
        assert!(matches!(bad(c), DecodeError::BadArgument(_)));
        c.args[0] = 0x1000;
        c.args[2] = 8;
        assert!(matches!(bad(c), DecodeError::BadArgument(_)));
        let mut c = Command::LookupMr {
            peer: 1,
            key: MrKey::Tag(1),
        }
        .encode();
        c.args[0] = 64;
        assert!(matches!(bad(c), DecodeError::BadArgument(_)));
        let c = RawCommand {
            op: 99,
            ..Default::default()
        };
        assert_eq!(bad(c), DecodeError::UnknownOp(99));
        assert_eq!(Command::decode(&[0u8; 10]), Err(DecodeError::Short));
        let c = Command::CreateCq { depth: 3 }.encode();
        assert!(matches!(bad(c), DecodeError::BadArgument(_)));
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..128)) {
            let _ = Command::decode(&bytes);
        }

        #[test]
        fn decoded_commands_re_encode_identically(op in 0u32..10, args in proptest::array::uniform7(proptest::num::u64::ANY)) {
            let raw = RawCommand { op, _pad: 0, args };
            if let Ok(c) = Command::decode(raw.as_bytes()) {
                let again = Command::decode(c.encode().as_bytes());
                proptest::prop_assert_eq!(again, Ok(c));
            }
        }
    }
}
