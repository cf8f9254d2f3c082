//! Space reservations for buffer caches (`RESERVE`), over the wire (`serve::handle_client`)
//! and as accounting checked against a model.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use lego_fs::serve::{handle, handle_client};
use lego_fs::testdev::MemDisk;
use lego_fs::{Client, FormatOptions, Fs, FsError, MAX_CLIENTS};
use lego_proto::fs::{self as proto, FsRequest, FsStatFs, Request, errno, errno_of};
use proptest::prelude::*;
use zerocopy::FromBytes;

fn request(vnode: u32, path: &str, offset: u64, data: &[u8]) -> Vec<u8> {
    let r = Request {
        head: FsRequest {
            vnode,
            offset,
            ..FsRequest::default()
        },
        path,
        path2: "",
        data,
    };
    let mut out = vec![0u8; r.encoded_len()];
    let n = r.encode(&mut out).unwrap();
    out.truncate(n);
    out
}

fn reserve(fs: &mut Fs<MemDisk>, c: Client, blocks: u64) -> Result<FsStatFs, u32> {
    let mut reply = vec![0u8; 256];
    let n = handle_client(
        fs,
        c,
        proto::RESERVE,
        &request(0, "", blocks, b""),
        &mut reply,
    )
    .map_err(|s| errno_of(s).unwrap())?;
    Ok(FsStatFs::read_from_bytes(&reply[..n]).unwrap())
}

fn write(
    fs: &mut Fs<MemDisk>,
    c: Option<Client>,
    path: &str,
    at: u64,
    data: &[u8],
) -> Result<(), u32> {
    let mut reply = vec![0u8; 64];
    let req = request(1, path, at, data);
    match c {
        Some(c) => handle_client(fs, c, proto::WRITE, &req, &mut reply),
        None => handle(fs, proto::WRITE, &req, &mut reply),
    }
    .map(drop)
    .map_err(|s| errno_of(s).unwrap())
}

fn client(id: u32, incarnation: u32) -> Client {
    Client { id, incarnation }
}

fn fs() -> Fs<MemDisk> {
    let mut fs = Fs::format(MemDisk::new(600), FormatOptions::default()).unwrap();
    for p in ["/a", "/b", "/c"] {
        fs.create(1, p, 0o644).unwrap();
    }
    fs
}

#[test]
fn reserve_over_the_wire() {
    let mut fs = fs();
    let free = fs.statfs().free_blocks;
    let a = client(5, 1);
    let s = reserve(&mut fs, a, 100).unwrap();
    assert_eq!((s.blocks_free, s.block_size), (free - 100, 4096));
    // Only a component can hold space, and a RESERVE carries nothing but its total.
    let mut reply = vec![0u8; 256];
    let bare = request(0, "", 1, b"");
    assert_eq!(
        handle(&mut fs, proto::RESERVE, &bare, &mut reply).map_err(errno_of),
        Err(Some(errno::EINVAL))
    );
    let with_path = request(0, "/a", 1, b"");
    assert_eq!(
        handle_client(&mut fs, a, proto::RESERVE, &with_path, &mut reply).map_err(errno_of),
        Err(Some(errno::EINVAL))
    );
    // More than is free besides others' reservations: ENOSPC, the old one stands.
    let b = client(6, 1);
    assert_eq!(reserve(&mut fs, b, free - 99).unwrap_err(), errno::ENOSPC);
    reserve(&mut fs, b, free - 100).unwrap();
    assert_eq!(reserve(&mut fs, b, free).unwrap_err(), errno::ENOSPC);
    assert_eq!(fs.reserved_for(6), free - 100);
    // STATFS, anonymous writes and creates see nothing free.
    assert_eq!(fs.statfs().free_blocks, 0);
    assert_eq!(
        write(&mut fs, None, "/c", 0, b"x").unwrap_err(),
        errno::ENOSPC
    );
    // a writes 8 blocks (a request's most): its reservation shrinks by 8.
    write(&mut fs, Some(a), "/a", 0, &[1; 8 * 4096]).unwrap();
    assert_eq!(fs.reserved_for(5), 92);
    // A request from a's next incarnation: what the last one held is gone.
    let a2 = client(5, 2);
    let mut reply = vec![0u8; 128];
    handle_client(
        &mut fs,
        a2,
        proto::STAT,
        &request(1, "/a", 0, b""),
        &mut reply,
    )
    .unwrap();
    assert_eq!(fs.reserved_for(5), 0);
    assert_eq!(fs.statfs().free_blocks, 92);
    write(&mut fs, None, "/c", 0, b"now there is room").unwrap();
    // Too many clients: EMFILE.
    fs.forget_client(6);
    for id in 0..MAX_CLIENTS as u32 {
        reserve(&mut fs, client(100 + id, 1), 1).unwrap();
    }
    assert_eq!(
        reserve(&mut fs, client(999, 1), 1).unwrap_err(),
        errno::EMFILE
    );
}

#[derive(Debug, Clone)]
enum Op {
    Reserve(u32, u64),
    Write(Option<u32>, u8, u8),
    Restart(u32),
    Fail(u32),
    Unlink(u8),
    Sync,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u32..3, 0u64..200).prop_map(|(c, n)| Op::Reserve(c, n)),
        4 => (prop::option::of(0u32..3), 0u8..3, 1u8..=8).prop_map(|(c, f, n)| Op::Write(c, f, n)),
        1 => (0u32..3).prop_map(Op::Restart),
        1 => (0u32..3).prop_map(Op::Fail),
        1 => (0u8..3).prop_map(Op::Unlink),
        1 => Just(Op::Sync),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Reservations against a model: a reservation succeeds exactly when it fits the free
    /// blocks less the others'; a write succeeds exactly when its blocks fit the free blocks
    /// less everyone else's reservations, and uses its writer's; statfs shows the free blocks
    /// less every reservation; a restart or failure of a client drops what it held.
    #[test]
    fn reservation_accounting_matches_a_model(ops in prop::collection::vec(op(), 1..60)) {
        let mut fs = fs();
        let mut incarnation = [1u32; 3];
        let mut held: BTreeMap<u32, u64> = BTreeMap::new();
        let paths = ["/a", "/b", "/c"];
        for op in ops {
            // Data blocks writable now (nothing else limits a disk this small).
            let writable = {
                let s = fs.statfs();
                s.free_blocks + held.values().sum::<u64>()
            };
            let others = |held: &BTreeMap<u32, u64>, me: Option<u32>| {
                held.iter().filter(|(c, _)| Some(**c) != me).map(|(_, n)| n).sum::<u64>()
            };
            match op {
                Op::Reserve(c, n) => {
                    let r = reserve(&mut fs, client(c, incarnation[c as usize]), n);
                    let mine = held.get(&c).copied().unwrap_or(0);
                    let fits = n <= writable.saturating_sub(others(&held, Some(c))) || n <= mine;
                    prop_assert_eq!(r.is_ok(), fits, "reserve {} of {}", n, writable);
                    if fits {
                        if n == 0 { held.remove(&c); } else { held.insert(c, n); }
                        prop_assert_eq!(r.unwrap().blocks_free, writable - held.values().sum::<u64>());
                    }
                }
                Op::Write(c, f, n) => {
                    let cl = c.map(|c| client(c, incarnation[c as usize]));
                    // Whole blocks at a block boundary: exactly `n` new blocks.
                    let r = write(&mut fs, cl, paths[f as usize], 0, &vec![f; n as usize * 4096]);
                    let fits = u64::from(n) <= writable.saturating_sub(others(&held, c));
                    prop_assert_eq!(r.is_ok(), fits, "write {} of {}", n, writable);
                    if let (true, Some(c)) = (fits, c) && let Some(h) = held.get_mut(&c) {
                        *h = h.saturating_sub(u64::from(n));
                        if *h == 0 { held.remove(&c); }
                    }
                }
                Op::Restart(c) => {
                    incarnation[c as usize] += 1;
                    let mut reply = vec![0u8; 128];
                    let req = request(1, "/a", 0, b"");
                    handle_client(&mut fs, client(c, incarnation[c as usize]), proto::STAT, &req, &mut reply).unwrap();
                    held.remove(&c);
                }
                Op::Fail(c) => {
                    fs.forget_client(c);
                    held.remove(&c);
                }
                Op::Unlink(f) => {
                    let p = paths[f as usize];
                    fs.unlink(1, p).unwrap();
                    fs.create(1, p, 0).unwrap();
                }
                Op::Sync => fs.sync().unwrap(),
            }
            for c in 0..3 {
                prop_assert_eq!(fs.reserved_for(c), held.get(&c).copied().unwrap_or(0));
            }
            let s = fs.statfs();
            prop_assert!(s.free_blocks + held.values().sum::<u64>() <= s.data_blocks);
        }
        prop_assert_eq!(fs.unmount().map(drop), Ok::<(), FsError>(()));
    }
}
