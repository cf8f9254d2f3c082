//! `lego-linux`: the Linux ABI (work in progress).
#![cfg_attr(not(test), no_std)]
