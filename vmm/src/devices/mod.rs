//! The guest's devices: for now the paravirtual console and the report mailbox.

pub mod console;
pub mod mailbox;
