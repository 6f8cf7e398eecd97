//! A fake SQS `SendMessageBatch` endpoint (AWS JSON 1.0, as the SDK speaks it) on 127.0.0.1, served by tasks of
//! the current tokio runtime, so that paused time pauses its stalls: it stores the messages it takes and answers
//! from a script of faults (entries refused, errors, resets, stalls) that moto cannot produce.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One scripted answer to a `SendMessageBatch` call; when the script is used up, [`SqsReply::Ok`].
#[derive(Debug, Clone, PartialEq)]
pub enum SqsReply {
    /// Every entry taken.
    Ok,
    /// The entries at these positions refused (`Failed`, `InternalError`), the others taken.
    FailEntries(Vec<usize>),
    /// This status with an error body (500: `InternalError`, retried by the SDK; 400: `InvalidParameterValue`).
    Status(u16),
    /// The request is read, then the connection is reset without an answer.
    Reset,
    /// Every entry taken at once, the answer sent after this stall.
    Delay(Duration),
}

/// One message the fake took: its body and its `reason` and `stage` attributes.
#[derive(Debug, Clone)]
pub struct Stored {
    pub body: Value,
    pub reason: Option<String>,
    pub stage: Option<String>,
}

#[derive(Default)]
struct State {
    script: Vec<SqsReply>,
    stored: Vec<Stored>,
    calls: Vec<SqsReply>,
}

pub struct FakeSqs {
    address: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl FakeSqs {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let address = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        Self {
            address,
            state,
            task,
        }
    }

    /// The endpoint to give the SQS client.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Appends answers to the script, used one per call in arrival order.
    pub fn script(&self, replies: impl IntoIterator<Item = SqsReply>) {
        self.lock().script.extend(replies);
    }

    /// The messages taken so far.
    pub fn stored(&self) -> Vec<Stored> {
        self.lock().stored.clone()
    }

    /// The answer given to each call so far.
    pub fn calls(&self) -> Vec<SqsReply> {
        self.lock().calls.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake SQS state poisoned")
    }
}

impl Drop for FakeSqs {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves one connection (keep-alive, `Content-Length` bodies) until it closes.
async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read_buf(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            match stream.read_buf(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        let body: Vec<u8> = buffer.drain(..head_end + length).skip(head_end).collect();
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let entries = request["Entries"].as_array().cloned().unwrap_or_default();
        let reply = {
            let mut state = state.lock().expect("fake SQS state poisoned");
            let reply = if head.contains("x-amz-target: amazonsqs.sendmessagebatch") {
                if state.script.is_empty() {
                    SqsReply::Ok
                } else {
                    state.script.remove(0)
                }
            } else {
                SqsReply::Status(400)
            };
            state.calls.push(reply.clone());
            let refused: &[usize] = match &reply {
                SqsReply::FailEntries(positions) => positions,
                _ => &[],
            };
            if matches!(
                reply,
                SqsReply::Ok | SqsReply::FailEntries(_) | SqsReply::Delay(_)
            ) {
                for (position, entry) in entries.iter().enumerate() {
                    if refused.contains(&position) {
                        continue;
                    }
                    let attribute = |name: &str| {
                        entry["MessageAttributes"][name]["StringValue"]
                            .as_str()
                            .map(str::to_owned)
                    };
                    state.stored.push(Stored {
                        body: serde_json::from_str(entry["MessageBody"].as_str().unwrap_or(""))
                            .unwrap_or(Value::Null),
                        reason: attribute("reason"),
                        stage: attribute("stage"),
                    });
                }
            }
            reply
        };
        let (status, answer) = match &reply {
            SqsReply::Reset => {
                let _ = stream.set_zero_linger();
                return;
            }
            SqsReply::Status(500) => (
                500,
                json!({"__type": "com.amazonaws.sqs#InternalError", "message": "internal error"}),
            ),
            SqsReply::Status(status) => (
                *status,
                json!({"__type": "com.amazonaws.sqs#InvalidParameterValue", "message": "refused"}),
            ),
            SqsReply::Ok | SqsReply::Delay(_) | SqsReply::FailEntries(_) => {
                let refused: &[usize] = match &reply {
                    SqsReply::FailEntries(positions) => positions,
                    _ => &[],
                };
                let mut successful = Vec::new();
                let mut failed = Vec::new();
                for (position, entry) in entries.iter().enumerate() {
                    let id = entry["Id"].clone();
                    if refused.contains(&position) {
                        failed.push(
                            json!({"Id": id, "SenderFault": false, "Code": "InternalError",
                                           "Message": "try again"}),
                        );
                    } else {
                        successful.push(json!({"Id": id, "MessageId": format!("fake-{position}"),
                                               "MD5OfMessageBody": "0".repeat(32)}));
                    }
                }
                (200, json!({"Successful": successful, "Failed": failed}))
            }
        };
        if let SqsReply::Delay(stall) = reply {
            tokio::time::sleep(stall).await;
        }
        let text = answer.to_string();
        let response = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-requestid: fake\r\n\
             content-length: {}\r\n\r\n{text}",
            if status == 200 { "OK" } else { "Error" },
            text.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
