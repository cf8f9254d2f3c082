//! Benchmarks. Each runs our system and its baseline side by side in one run and prints ratios.

pub mod abi;
pub mod boot;
pub mod miss;
mod programs;
pub mod rpc;
pub mod run;
pub mod storage;
pub mod up;
