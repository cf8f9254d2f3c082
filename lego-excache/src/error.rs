//! Errors of the cache's calls: every call checks its arguments and the slot's state, so a
//! confused caller gets an error, never a panic or a corrupted cache.

use core::fmt;

use crate::{Slot, State, Ticket};

/// Why a call was refused. A refused call changes nothing (calls taking several slots apply
/// to the good ones and report the first bad one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A slot number not below `Config::slots`.
    BadSlot(Slot),
    /// A set number not below the number of sets.
    BadSet(u32),
    /// The slot is not in a state the call applies to.
    WrongState {
        /// The slot.
        slot: Slot,
        /// Its state.
        state: State,
    },
    /// The slot is `Flushing`, but under another ticket (a confirmation from an older batch:
    /// the slot was reused since).
    WrongTicket {
        /// The slot.
        slot: Slot,
        /// The ticket it is flushing under.
        ticket: Ticket,
    },
    /// [`crate::Cache::alloc`]: the key's set has no free slot. Make room (flush the pending
    /// victims, or pick some and flush them) and retry.
    Full {
        /// The key's set.
        set: u32,
    },
    /// [`crate::Cache::alloc`]: the key is already in the cache, in `slot`.
    Present {
        /// The slot holding the key.
        slot: Slot,
        /// Its state.
        state: State,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadSlot(s) => write!(f, "no ExCache slot {}", s.0),
            Error::BadSet(s) => write!(f, "no ExCache set {s}"),
            Error::WrongState { slot, state } => {
                write!(f, "ExCache slot {} is {state:?}", slot.0)
            }
            Error::WrongTicket { slot, ticket } => {
                write!(
                    f,
                    "ExCache slot {} flushes under ticket {}",
                    slot.0, ticket.0
                )
            }
            Error::Full { set } => write!(f, "ExCache set {set} has no free slot"),
            Error::Present { slot, state } => {
                write!(f, "line already in ExCache slot {} ({state:?})", slot.0)
            }
        }
    }
}

impl core::error::Error for Error {}
