//! Just enough HTTP/1.1 for a local fake: keep-alive, `Content-Length` or chunked request bodies, full responses.

use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the request line arrived.
    pub at: Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Connection {
    pub fn new(stream: TcpStream) -> Self {
        let _ = stream.set_nodelay(true);
        let (read, writer) = stream.into_split();
        Self {
            reader: BufReader::with_capacity(64 * 1024, read),
            writer,
        }
    }

    /// The next request on the connection; `None` when the client closed it.
    pub async fn next(&mut self) -> std::io::Result<Option<Request>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let at = Instant::now();
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line).await? == 0 {
                return Ok(None);
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        let mut request = Request {
            method,
            path,
            headers,
            body: Vec::new(),
            at,
        };
        if let Some(length) = request
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
        {
            request.body.resize(length, 0);
            self.reader.read_exact(&mut request.body).await?;
        } else if request
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            loop {
                line.clear();
                self.reader.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                    .unwrap_or(0);
                let start = request.body.len();
                request.body.resize(start + size, 0);
                self.reader.read_exact(&mut request.body[start..]).await?;
                line.clear();
                self.reader.read_line(&mut line).await?;
                if size == 0 {
                    break;
                }
            }
        }
        Ok(Some(request))
    }

    /// Writes a complete response.
    pub async fn respond(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<()> {
        let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
        for (name, value) in headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        self.writer.write_all(head.as_bytes()).await?;
        self.writer.write_all(body).await?;
        self.writer.flush().await
    }
}
