//! Runs saved inputs through a target without libFuzzer, with a plain
//! backtrace: `cd fuzz && MEDK_FUZZ_TRACE=1 cargo run --example replay --
//! relay artifacts/relay/crash-...` (`MEDK_FUZZ_TRACE` prints each step).

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_default();
    let run: fn(&[u8]) = match target.as_str() {
        "message_decode" => medk_fuzz::decode::run,
        "relay" => medk_fuzz::relay::run,
        "documents" => medk_fuzz::documents::run,
        _ => {
            eprintln!("usage: replay message_decode|relay|documents FILE...");
            std::process::exit(2);
        }
    };
    for path in args {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        eprintln!("running {path} ({} bytes)", data.len());
        run(&data);
    }
    eprintln!("no failure");
}
