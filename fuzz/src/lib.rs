//! The fuzz bodies as plain functions, callable on stable Rust. The cargo-fuzz targets in
//! `fuzz_targets/` call them; lego-fs's `tests/fuzz_replay.rs` includes the same file and runs
//! them on seeded random inputs in every `cargo test`.

#[path = "bodies.rs"]
mod bodies;

pub use bodies::{fs_request, image_mount, proto_decode};

#[path = "elf_body.rs"]
mod elf_body;

pub use elf_body::elf_load;
