//! `lego-mm`: virtual memory at the memory components (work in progress).
#![cfg_attr(not(test), no_std)]
