//! A real local Secrets Manager and SQS: `moto_server` on 127.0.0.1, started per test and killed on drop.
//!
//! The SDK client gets its endpoint, region (us-east-1) and static test credentials explicitly, so nothing is
//! read from the environment or the EC2 metadata service (`AWS_EC2_METADATA_DISABLED=true` is moot here).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};

pub struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    /// Starts `moto_server` on a free port and waits until it answers. Panics (the test fails, it is not
    /// skipped) when moto is not installed.
    pub async fn start() -> Self {
        let binary = moto_binary();
        // The port is free when chosen, but the moto of a test running beside this one may take it first: then
        // this server exits at once, and another port is tried.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("a free local port")
                .port();
            let child = Command::new(&binary)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("could not start {}: {e}", binary.display()));
            let mut moto = Self {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
            if moto.wait_until_ready().await {
                return moto;
            }
        }
        panic!("moto_server exited during start-up three times");
    }

    /// True once the server answers; false when it exited first.
    async fn wait_until_ready(&mut self) -> bool {
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let probe = http
                .get(format!("{}/moto-api/", self.endpoint))
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if probe.is_ok_and(|response| response.status().is_success()) {
                return true;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "moto_server did not answer on {} within 20 s",
                self.endpoint
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A Secrets Manager client pointed at this moto.
    pub fn client(&self) -> aws_sdk_secretsmanager::Client {
        client_for(&self.endpoint)
    }

    pub async fn create_secret(&self, name: &str, value: &str) {
        self.client()
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .expect("create secret in moto");
    }

    /// An SQS client pointed at this moto.
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        sqs_client_for(&self.endpoint)
    }

    /// Creates a standard queue; its URL.
    pub async fn create_queue(&self, name: &str) -> String {
        self.sqs()
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("create queue in moto")
            .queue_url()
            .expect("queue URL")
            .to_owned()
    }

    /// Every message of the queue (received, with all their attributes, until the queue answers none). The SDK's
    /// own TRACE lines quote the messages' bodies (the test's personal data): the test's reads log nothing, so that
    /// the log-hygiene checks of tests running beside this one only see what the function logs.
    pub async fn receive_all(&self, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        use tracing::instrument::WithSubscriber;
        self.receive_until_empty(url)
            .with_subscriber(tracing::subscriber::NoSubscriber::default())
            .await
    }

    async fn receive_until_empty(&self, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let mut messages = Vec::new();
        loop {
            let received = self
                .sqs()
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .visibility_timeout(300)
                .send()
                .await
                .expect("receive from moto");
            let batch = received.messages();
            if batch.is_empty() {
                return messages;
            }
            messages.extend_from_slice(batch);
        }
    }

    /// Stores a new current version of the secret, as a rotation does.
    pub async fn rotate_secret(&self, name: &str, value: &str) {
        self.client()
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await
            .expect("put secret value in moto");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Secrets Manager client for `endpoint`, with the SDK's default retry policy.
pub fn client_for(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// An SQS client for `endpoint`.
pub fn sqs_client_for(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// A Secrets Manager client whose endpoint refuses connections: a local port that the returned socket holds,
/// bound but not listening. Keep the socket while the client is used: a port merely free a moment ago can be
/// taken by the moto server of a test running beside this one.
pub fn unreachable_client() -> (aws_sdk_secretsmanager::Client, tokio::net::TcpSocket) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
    socket
        .bind(([127, 0, 0, 1], 0).into())
        .expect("a free local port");
    let port = socket.local_addr().expect("the socket's address").port();
    (client_for(&format!("http://127.0.0.1:{port}")), socket)
}

/// `$CARGO_MANIFEST_DIR/.venv/bin/moto_server`, else `moto_server` on `PATH`.
fn moto_binary() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("moto_server"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    std::iter::once(venv).chain(on_path).find(|candidate| candidate.is_file()).unwrap_or_else(|| {
        panic!(
            "moto_server not found in .venv/bin or on PATH. Run the project's test script, which installs it, or: \
             python3 -m venv .venv && .venv/bin/pip install 'moto[server]==5.2.5'"
        )
    })
}
