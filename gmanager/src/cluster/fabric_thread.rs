//! The managers on the fabric: their RPC engine, on the host endpoint, in a thread of its own.
//! It connects to every component, serves their load reports (kept in [`Loads`]), and
//! reconnects to a component's next incarnation after a failure.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use lego_proto::mgmt::LoadReport;
use lego_proto::op;
use lego_rpc::Env;
use lego_rpc::rpc::Rpc;
use zerocopy::FromBytes;

use crate::fabric::host::HostEndpoint;

/// The last report of each component and when it arrived.
pub type Loads = Arc<Mutex<HashMap<u32, (LoadReport, Instant)>>>;

/// What the daemon tells the thread.
#[derive(Debug)]
pub enum FabricCmd {
    /// Connect to these components (their halves complete as they come up).
    Connect(Vec<u32>),
    /// Stop.
    Stop,
}

fn serve(env: &'static HostEndpoint, loads: Loads, cmds: Receiver<FabricCmd>) {
    let mut rpc = match Rpc::new(env) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("the managers cannot join the fabric: {e:?}");
            return;
        }
    };
    let table = loads.clone();
    rpc.handle(op::LOAD_REPORT, move |ctx, req, _| {
        let r = LoadReport::read_from_prefix(req)
            .map_err(|_| lego_proto::rpc::status::BAD_REQUEST)?
            .0;
        if let Ok(mut t) = table.lock() {
            t.insert(ctx.peer, (r, Instant::now()));
        }
        Ok(0)
    });
    let mut wanted: Vec<u32> = Vec::new();
    loop {
        while let Ok(cmd) = cmds.try_recv() {
            match cmd {
                FabricCmd::Connect(ids) => {
                    for id in &ids {
                        if !wanted.contains(id) {
                            wanted.push(*id);
                        }
                    }
                    if let Err((p, e)) = rpc.connect_async(&ids) {
                        tracing::warn!("managers: cannot prepare a connection to {p}: {e:?}");
                    }
                }
                FabricCmd::Stop => return,
            }
        }
        rpc.poll();
        for p in rpc.failed_peers() {
            rpc.disconnect(p);
            if let Ok(mut t) = loads.lock() {
                t.remove(&p);
            }
            if wanted.contains(&p) {
                let _ = rpc.connect_async(&[p]);
            }
        }
        let now = env.now_ns();
        rpc.idle_until(now + 2_000_000);
    }
}

/// Starts the thread.
pub fn spawn(env: &'static HostEndpoint, loads: Loads) -> std::io::Result<Sender<FabricCmd>> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("managers-fabric".into())
        .spawn(move || serve(env, loads, rx))?;
    Ok(tx)
}
