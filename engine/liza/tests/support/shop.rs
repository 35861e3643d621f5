//! A fake shop API on loopback, for the `fetch` node's tests: it answers every request the
//! way it is told (JSON, a status, slowly, hugely, with a redirect loop) and remembers what it
//! was asked. Plain HTTP/1.1 over a tokio listener, one request per connection, so a test
//! controls every byte.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the fake shop answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// A status and a JSON (or any) body, after `delay`.
    Answer {
        status: u16,
        body: String,
        delay: Duration,
    },
    /// 200 with a body of `bytes` bytes, sent without a length until the client stops reading.
    Huge { bytes: usize },
    /// 302 to itself, for ever.
    RedirectLoop,
}

impl Behaviour {
    pub fn json(status: u16, body: &str) -> Self {
        Self::Answer {
            status,
            body: body.to_owned(),
            delay: Duration::ZERO,
        }
    }

    pub fn slow(delay: Duration, body: &str) -> Self {
        Self::Answer {
            status: 200,
            body: body.to_owned(),
            delay,
        }
    }
}

/// One request the fake shop received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    /// Every header, names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    /// The value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The running fake shop; stops when dropped.
pub struct FakeShop {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    hits: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeShop {
    pub async fn start(behaviour: Behaviour) -> Self {
        Self::start_sequence(vec![behaviour]).await
    }

    /// Answers the n-th request as `behaviours[n]`, and every one after the last as the last.
    pub async fn start_sequence(behaviours: Vec<Behaviour>) -> Self {
        assert!(!behaviours.is_empty());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (h, r) = (hits.clone(), received.clone());
        let task = tokio::spawn(async move {
            let mut n = 0;
            while let Ok((stream, _)) = listener.accept().await {
                let b = behaviours[n.min(behaviours.len() - 1)].clone();
                n += 1;
                let (h, r) = (h.clone(), r.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, b, h, r).await;
                });
            }
        });
        Self {
            url,
            hits,
            received,
            task,
        }
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for FakeShop {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback URL nothing listens on: connecting is refused.
pub async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

async fn serve(
    mut stream: TcpStream,
    behaviour: Behaviour,
    hits: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let path = first.next().unwrap_or_default().to_owned();
    let mut authorization = None;
    let mut length = 0usize;
    let mut headers = Vec::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            match name.trim().to_ascii_lowercase().as_str() {
                "authorization" => authorization = Some(value.trim().to_owned()),
                "content-length" => length = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    hits.fetch_add(1, Ordering::SeqCst);
    received.lock().unwrap().push(Received {
        method,
        path: path.clone(),
        authorization,
        headers,
        body,
    });
    match behaviour {
        Behaviour::Answer {
            status,
            body,
            delay,
        } => {
            tokio::time::sleep(delay).await;
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body.as_bytes()).await?;
        }
        Behaviour::Huge { bytes } => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"status\":\"")
                .await?;
            let block = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < bytes {
                stream.write_all(&block).await?;
                sent += block.len();
            }
            stream.write_all(b"\"}").await?;
        }
        Behaviour::RedirectLoop => {
            let head = format!(
                "HTTP/1.1 302 Found\r\nLocation: {path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await?;
        }
    }
    stream.shutdown().await
}
