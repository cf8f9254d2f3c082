//! A peer failing mid-traffic: calls to it, outstanding and new, end with `PeerDead` quickly,
//! while another peer keeps being served.

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use lego_proto::op;

use super::util::{fail, since_ns};
use crate::arch::rdtsc;
use crate::power;
use crate::rpc::{Rpc, RpcError};

/// Calls `victim` and `survivor` alternately, announces when it is time to kill the victim,
/// then checks what happens.
pub fn run(rpc: &mut Rpc, victim: u32, survivor: u32) -> Result<String, String> {
    let mut out = [0u8; 64];
    let payload = [7u8; 64];
    for _ in 0..200 {
        rpc.call(victim, op::ECHO, &payload, &mut out)
            .or_else(|e| fail("warm-up call to the victim", e))?;
        rpc.call(survivor, op::ECHO, &payload, &mut out)
            .or_else(|e| fail("warm-up call to the survivor", e))?;
    }
    power::report_result(&format!("failover armed: kill component {victim} now"));
    let start = rdtsc();
    let mut last_ok = rdtsc();
    let mut rounds = 0u64;
    let detected_ns = loop {
        // Four calls in flight to the victim each round, so some are outstanding at the kill.
        let mut tickets = Vec::new();
        let mut first_err = None;
        for _ in 0..4 {
            match rpc.call_async(victim, op::ECHO, &payload) {
                Ok(t) => tickets.push(t),
                Err(e) => first_err = first_err.or(Some(e)),
            }
        }
        let mut errs = Vec::new();
        for t in tickets {
            if let Err(e) = rpc.wait(t, &mut out) {
                errs.push(e);
            }
        }
        if let Some(e) = first_err {
            errs.push(e);
        }
        if let Some(&e) = errs.first() {
            if errs.iter().any(|&x| x != RpcError::PeerDead) {
                return fail("calls to the failed peer", errs);
            }
            let _ = e;
            break since_ns(last_ok);
        }
        last_ok = rdtsc();
        rounds += 1;
        rpc.call(survivor, op::ECHO, &payload, &mut out)
            .or_else(|e| fail("survivor during the wait", e))?;
        if since_ns(start) > 60_000_000_000 {
            return Err(String::from("the victim was not killed within 60 s"));
        }
    };
    let t0 = rdtsc();
    let again = rpc.call(victim, op::ECHO, &payload, &mut out);
    let new_call_ns = since_ns(t0);
    if again != Err(RpcError::PeerDead) {
        return fail("a new call to the failed peer", again);
    }
    for i in 0..500 {
        rpc.call(survivor, op::ECHO, &payload, &mut out)
            .or_else(|e| fail(&format!("survivor call {i} after the failure"), e))?;
    }
    Ok(format!(
        "victim failed after {rounds} rounds: outstanding calls ended with PeerDead {} us after its last reply; a new call failed in {} us; the survivor answered 500 calls after",
        detected_ns / 1000,
        new_call_ns / 1000
    ))
}
