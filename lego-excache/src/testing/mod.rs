//! Test support for this crate and for the process monitor's glue:
//! * [`Model`]: the cache's rules written the plain way (per-set vectors with explicit
//!   order, linear searches), with the same API: property tests run both on random call
//!   sequences and compare every answer and every slot.
//! * [`Sim`]: the reference glue (the miss path of the crate documentation) over a simulated
//!   page table, TLB and memory components, for checking that a program never sees a stale
//!   line, whatever the policy, batch sizes and invalidations.

mod model;
mod sim;

pub use model::{Model, ModelSlot};
pub use sim::{Sim, SimConfig, SimStats};
