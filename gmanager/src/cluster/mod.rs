//! Clusters: a manager process per cluster that starts one VMM per component, introduces them
//! on the fabric, watches them, and runs the global managers; and the client side of `lego up`,
//! `status`, `kill`, `restart`, `down`, `logs`, `vnode`.

pub mod daemon;
mod fabric_thread;
pub mod paths;
pub mod procs;
pub mod protocol;
pub mod sessions;
pub mod spec;
pub mod status;
pub mod vnodes;
