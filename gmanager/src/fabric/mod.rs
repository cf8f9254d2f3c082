//! Running a fabric of component guests: starting their VMMs, introducing them to each other,
//! noticing failures.

mod coordinator;
pub mod host;

pub use coordinator::{Bell, Coordinator, MemberEvent};
