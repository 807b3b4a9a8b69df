//! A TCP proxy between `bellows` and the server that can cut every connection through it at
//! once, as a network failure would: each connection is two threads copying bytes, and
//! [`Proxy::cut`] shuts both sockets of every pair. New connections are accepted again right
//! after, so a client that reconnects gets through.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Proxy {
    pub port: u16,
    open: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a spare loopback port and forwards to `upstream` (`host:port`).
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let port = listener.local_addr().expect("the proxy address").port();
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let open = open.clone();
            let stop = stop.clone();
            let upstream = upstream.to_string();
            std::thread::spawn(move || accept_loop(listener, &upstream, &open, &stop))
        };
        Proxy {
            port,
            open,
            stop,
            accept: Some(accept),
        }
    }

    /// Drops every connection open through the proxy; returns how many sockets were cut.
    pub fn cut(&self) -> usize {
        let mut open = self.open.lock().expect("proxy sockets");
        let n = open.len();
        for stream in open.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        n
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    upstream: &str,
    open: &Arc<Mutex<Vec<TcpStream>>>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::SeqCst) {
        let client = match listener.accept() {
            Ok((client, _)) => client,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(_) => continue,
        };
        let _ = client.set_nonblocking(false);
        let Ok(server) = TcpStream::connect(upstream) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let pair = (client.try_clone(), server.try_clone());
        let (Ok(client_read), Ok(server_read)) = pair else {
            continue;
        };
        {
            let mut open = open.lock().expect("proxy sockets");
            if let (Ok(a), Ok(b)) = (client.try_clone(), server.try_clone()) {
                open.push(a);
                open.push(b);
            }
        }
        std::thread::spawn(move || pipe(client_read, server));
        std::thread::spawn(move || pipe(server_read, client));
    }
}

/// Copies `from` into `to` until either side closes, then closes both.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
