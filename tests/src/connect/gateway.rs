//! Debian's nginx as a multi-tenant gateway in front of Prometheus, the way Mimir and
//! Cortex are usually exposed: the query API under `/prometheus/`, an
//! `Authorization: Bearer <token>` and an `X-Scope-OrgID` header required.

use std::os::unix::fs::MetadataExt as _;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tempfile::TempDir;

use crate::child::{ChildProcess, ensure_loopback, find_binary, free_port};

/// nginx in the foreground (`daemon off`, no master process, so killing its pid stops
/// it whole) on a free 127.0.0.1 port with a temp config, pid file and logs.
pub struct Gateway {
    dir: TempDir,
    port: u16,
    _child: ChildProcess,
}

/// What the gateway answers when a request lacks what it wants, as Mimir does.
pub const NO_ORG_ID: &str = "no org id";
/// The body of a 401 for a missing or wrong bearer token.
pub const BAD_TOKEN: &str = "invalid or missing bearer token";

impl Gateway {
    /// Starts nginx proxying `/prometheus/` to `upstream` (a loopback `host:port`),
    /// answering 401 unless the request carries `Authorization: Bearer <token>` and a
    /// non-empty `X-Scope-OrgID`. Returns once it accepts connections.
    pub async fn start(upstream: &str, token: &str) -> anyhow::Result<Self> {
        ensure_loopback(upstream)?;
        if !token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~+/=".contains(c))
        {
            bail!("the test token must be a plain token68 string");
        }
        let binary = find_binary("nginx", "nginx")?;
        let dir = tempfile::Builder::new()
            .prefix("promdash-nginx-")
            .tempdir()
            .context("cannot create a temp dir")?;
        let d = dir.path().display().to_string();
        // Running as root, nginx would hand requests to `nobody`, who cannot read the
        // temp dir; with master_process off there is one process, which stays who it is.
        let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let user = if root { "user root root;\n" } else { "" };
        // The free port may be taken by someone else before nginx binds it: retry on a
        // new one, as the harness does.
        let mut attempt = 0;
        let (port, child) = loop {
            attempt += 1;
            let port = free_port()?;
            let _ = std::fs::remove_file(dir.path().join("nginx.pid"));
            let started: anyhow::Result<ChildProcess> = async {
                let conf = nginx_conf(user, &d, port, token, upstream);
                let conf_path = dir.path().join("nginx.conf");
                std::fs::write(&conf_path, conf)?;
                let args = vec![
                    "-c".to_owned(),
                    conf_path.display().to_string(),
                    "-p".to_owned(),
                    format!("{d}/"),
                    "-e".to_owned(),
                    format!("{d}/error.log"),
                    "-g".to_owned(),
                    "daemon off;".to_owned(),
                ];
                let mut child =
                    ChildProcess::spawn(&binary, &args, &dir.path().join("server.log"))?;
                let deadline = Instant::now() + Duration::from_secs(30);
                loop {
                    child.check_alive()?;
                    // nginx writes its pid file once it has bound the port (so a connection
                    // to someone else who took the port meanwhile does not count).
                    if dir.path().join("nginx.pid").exists()
                        && tokio::net::TcpStream::connect(("127.0.0.1", port))
                            .await
                            .is_ok()
                    {
                        break;
                    }
                    if Instant::now() > deadline {
                        bail!(
                            "nginx not listening on 127.0.0.1:{port} within 30 s; its log:\n{}\n{}",
                            child.log_tail(),
                            crate::child::log_tail(&dir.path().join("error.log"))
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(child)
            }
            .await;
            match started {
                Ok(child) => break (port, child),
                Err(e)
                    if attempt < 3
                        && e.to_string()
                            .to_lowercase()
                            .contains("address already in use") => {}
                Err(e) => return Err(e),
            }
        };
        Ok(Self {
            dir,
            port,
            _child: child,
        })
    }

    /// `http://127.0.0.1:<port>/prometheus`: the base URL for the client.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/prometheus", self.port)
    }

    /// The end of its error and access logs, for assertion messages.
    pub fn log(&self) -> String {
        format!(
            "{}\n{}",
            crate::child::log_tail(&self.dir.path().join("error.log")),
            crate::child::log_tail(&self.dir.path().join("access.log"))
        )
    }
}

/// The nginx configuration: one server on `port`, files under `d`.
fn nginx_conf(user: &str, d: &str, port: u16, token: &str, upstream: &str) -> String {
    format!(
        r#"{user}master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location /prometheus/ {{
            if ($http_authorization != "Bearer {token}") {{
                return 401 "{BAD_TOKEN}\n";
            }}
            if ($http_x_scope_orgid = "") {{
                return 401 "{NO_ORG_ID}\n";
            }}
            proxy_pass http://{upstream}/;
            proxy_set_header X-Scope-OrgID "";
        }}
        location / {{
            return 404 "404 page not found\n";
        }}
    }}
}}
"#
    )
}
