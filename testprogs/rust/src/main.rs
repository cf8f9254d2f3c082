//! A Rust program, statically linked against musl: prints its arguments, a vector's sum and
//! the working directory's entries it can see, then exits with 3.
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let v: Vec<u64> = (1..=100_000).collect();
    let sum: u64 = v.iter().sum();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "rust says hello: {} args, sum {sum}", args.len());
    for a in &args[1..] {
        let _ = writeln!(out, "arg {a}");
    }
    std::process::exit(3);
}
