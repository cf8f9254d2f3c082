//! Random operation sequences across several vNodes, checked against the reference model after
//! every step: results (including the exact error) and the whole visible state.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Model, Op, dump, op_strategy, prelude, run_op, small_opts};
use lego_fs::{Fs, testdev::MemDisk};
use proptest::prelude::*;

const MAX_FILE: u64 = 40_000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn operations_match_the_model(ops in prop::collection::vec(op_strategy(36_000, 9_000), 1..60)) {
        let mut fs = Some(Fs::format(MemDisk::new(1024), small_opts(MAX_FILE)).unwrap());
        let mut model = Model::new(MAX_FILE);
        for (i, op) in prelude().iter().chain(&ops).enumerate() {
            let got = run_op(&mut fs, op);
            let want = model.apply(op);
            prop_assert_eq!(&got, &want, "step {} {:?}", i, op);
            let state = dump(fs.as_mut().unwrap()).unwrap();
            prop_assert_eq!(&state, &model.state, "state after step {} {:?}", i, op);
        }
        // Whatever was done, a clean remount shows the same state.
        let dev = fs.take().unwrap().unmount().unwrap();
        let mut fs = Fs::mount(dev).unwrap();
        prop_assert_eq!(dump(&mut fs).unwrap(), model.state);
    }
}

/// Guards the model itself: a hand-written sequence with known outcomes.
#[test]
fn model_sanity() {
    let mut m = Model::new(100);
    assert_eq!(m.apply(&Op::Create(1, 0)), Ok(None));
    assert_eq!(
        m.apply(&Op::Create(1, 0)),
        Err(lego_fs::FsError::AlreadyExists)
    );
    assert_eq!(
        m.apply(&Op::Create(1, 3)),
        Err(lego_fs::FsError::NotFound),
        "/d/a without /d"
    );
    assert_eq!(m.apply(&Op::Write(1, 0, 2, 3, 0)), Ok(None));
    assert_eq!(
        m.apply(&Op::Read(1, 0, 0, 10)),
        Ok(Some(vec![0, 0, 3, 4, 5]))
    );
    assert_eq!(
        m.apply(&Op::Write(1, 0, 99, 2, 0)),
        Err(lego_fs::FsError::FileTooLarge)
    );
}
