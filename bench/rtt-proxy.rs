//! A TCP proxy that delays every chunk by a fixed time each way, so that a database on this
//! machine answers as one on another machine would (docs/BENCHMARKS.md, "Round trips to
//! PostgreSQL"). Standard library only; bench/pg-rtt.sh builds it with rustc.
//!
//!   rtt-proxy LISTEN UPSTREAM ONE_WAY_MICROS    e.g. 127.0.0.1:5433 127.0.0.1:5432 250

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, listen, upstream, micros] = args.as_slice() else {
        eprintln!("usage: rtt-proxy LISTEN UPSTREAM ONE_WAY_MICROS");
        std::process::exit(2);
    };
    let delay = Duration::from_micros(micros.parse().expect("ONE_WAY_MICROS: a number"));
    let listener = TcpListener::bind(listen).expect("listen");
    for client in listener.incoming() {
        let Ok(client) = client else { continue };
        let Ok(server) = TcpStream::connect(upstream) else { continue };
        for s in [&client, &server] {
            s.set_nodelay(true).ok();
        }
        let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        thread::spawn(move || pipe(client, server, delay));
        thread::spawn(move || pipe(s2, c2, delay));
    }
}

/// Copies `from` to `to`, each chunk `delay` after it was read. Chunks go one after another: a
/// chunk that arrives while the one before waits waits longer. PostgreSQL's protocol waits for
/// each answer, so between a writer and its backend that seldom happens.
fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let due = Instant::now() + delay;
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    to.shutdown(Shutdown::Write).ok();
}
