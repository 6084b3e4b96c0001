//! Static server for the app bundle (`dist/`), with the security headers Umbra needs.
//!
//! Trunk emits one inline `<script type="module">` that boots the app. Instead of allowing
//! `'unsafe-inline'`, this server adds the SHA-256 hash of every inline script of
//! `index.html` to `script-src`. The policy has no `'unsafe-inline'` and no `'unsafe-eval'`;
//! `'wasm-unsafe-eval'` lets the browser compile WebAssembly.
//!
//! `connect-src` comes from the network configuration the app is given (`/config.json`,
//! `bundle`): the bridges' origins; in direct mode also the seed and the bootstrap nodes, or,
//! when they are all on loopback (a local testnet, whose nodes the client learns from the
//! seed), every port of `127.0.0.1`/`localhost` in the seed's scheme. The policy is
//! recomputed when `index.html` or the configuration file changes (size or modification
//! time, checked per request).
//!
//! Does not own: the configuration's contents (`bundle`, `testnet`, `bootstrap`).

use std::{
    io,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::SystemTime,
};

use axum::{
    Router,
    extract::Request,
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse as _, Response},
};
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;

use crate::bundle::BundleConfig;

/// What to serve and which network the app is configured for.
#[derive(Clone, Debug)]
pub struct SiteConfig {
    /// The trunk output directory (holds `index.html`).
    pub dir: PathBuf,
    /// Extra `connect-src` sources, besides `'self'` and those of the network configuration.
    pub connect_src: Vec<String>,
    /// The network configuration answered at `/config.json`, overriding the bundle's own
    /// file (so that one command can start a testnet on free ports and point the app at it).
    /// `None`: the bundle's own `config.json`.
    pub network: Option<SiteNetwork>,
    /// Requests in flight and time per request.
    pub limits: crate::limits::ListenerLimits,
}

impl SiteConfig {
    /// Serve `dir` with its own `config.json` and no extra `connect-src`.
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            connect_src: Vec::new(),
            network: None,
            limits: crate::limits::ListenerLimits::DEFAULT,
        }
    }
}

/// Where `/config.json` comes from.
#[derive(Clone, Debug)]
pub enum SiteNetwork {
    /// A file (`serve --config FILE`, the testnet's `DATA/config.json`), read per request.
    File(PathBuf),
    /// A fixed configuration (`serve --seed URL`).
    Fixed(Box<BundleConfig>),
}

impl SiteNetwork {
    /// The configuration's JSON text.
    fn read(&self) -> io::Result<String> {
        match self {
            Self::File(p) => {
                let text = std::fs::read_to_string(p)?;
                BundleConfig::parse(&text)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                Ok(text)
            }
            Self::Fixed(c) => Ok(c.to_json()),
        }
    }
}

/// `scheme://host[:port]` of an `http(s)` URL, or `None` for anything else.
fn origin_of(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    let origin = u.origin().ascii_serialization();
    (origin != "null").then_some(origin)
}

fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The `connect-src` sources a network configuration needs (read leniently, so an older
/// bundle file such as `{"seed_url": …}` still gives its seed): every bridge's origin and,
/// with bridges, `https:` (the user's own bridges); with a
/// seed or without bridges (direct mode) the seed's origin and every bootstrap node's origin
/// in the seed's scheme (https without a seed), or, when the seed and nodes are all on
/// loopback, `SCHEME://127.0.0.1:*` and `SCHEME://localhost:*`. Sorted, no duplicates.
pub fn connect_sources(config: &Value) -> Vec<String> {
    let mut out: Vec<String> = config["bridges"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter_map(origin_of)
                .collect()
        })
        .unwrap_or_default();
    if !out.is_empty() {
        // Through bridges, users may add bridges of their own (Settings); those are HTTPS
        // (the worker refuses plain HTTP off loopback), wherever they are.
        out.push("https:".to_owned());
    }
    let seed = config["seed_url"].as_str();
    if seed.is_some() || out.is_empty() {
        let seed_url = seed.and_then(|s| reqwest::Url::parse(s).ok());
        let scheme = seed_url
            .as_ref()
            .map_or("https", |u| u.scheme())
            .to_string();
        let mut direct = Vec::new();
        let mut loopback = true;
        if let Some(o) = seed.and_then(origin_of) {
            loopback &= seed_url
                .as_ref()
                .and_then(|u| u.host_str())
                .is_some_and(is_loopback_host);
            direct.push(o);
        }
        for n in config["bootstrap"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let (Some(ip), Some(port)) = (
                n["public_ip"]
                    .as_str()
                    .and_then(|t| t.parse::<std::net::IpAddr>().ok()),
                n["storage_port"]
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok()),
            ) else {
                continue;
            };
            loopback &= ip.is_loopback();
            direct.push(std::net::SocketAddr::new(ip, port).to_string());
        }
        if !direct.is_empty() && loopback {
            out.push(format!("{scheme}://127.0.0.1:*"));
            out.push(format!("{scheme}://localhost:*"));
        } else {
            for d in direct {
                if d.contains("://") {
                    out.push(d);
                } else {
                    out.push(format!("{scheme}://{d}"));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Find the inline `<script>` elements (those without `src`) of an HTML document and return
/// the CSP source expression `'sha256-…'` for each.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(tag_end) = rest.find('>') else { break };
        let tag = &rest[..tag_end];
        let body_start = tag_end + 1;
        let Some(close) = rest[body_start..].find("</script>") else {
            break;
        };
        let body = &rest[body_start..body_start + close];
        if !tag.contains(" src=") && !body.is_empty() {
            let digest = Sha256::digest(body.as_bytes());
            let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
            hashes.push(format!("'sha256-{b64}'"));
        }
        rest = &rest[body_start + close..];
    }
    hashes
}

/// The Content-Security-Policy for a given `index.html`.
pub fn content_security_policy(index_html: &str, connect_src: &[String]) -> String {
    let mut script_src = vec!["'self'".to_owned(), "'wasm-unsafe-eval'".to_owned()];
    script_src.extend(inline_script_hashes(index_html));
    let mut connect = vec!["'self'".to_owned()];
    connect.extend(connect_src.iter().cloned());
    [
        "default-src 'none'".to_owned(),
        format!("script-src {}", script_src.join(" ")),
        "worker-src 'self'".to_owned(),
        format!("connect-src {}", connect.join(" ")),
        "img-src 'self' blob: data:".to_owned(),
        // Attachments play from blob: URLs the app makes of decrypted bytes.
        "media-src 'self' blob:".to_owned(),
        "style-src 'self'".to_owned(),
        "font-src 'self'".to_owned(),
        "manifest-src 'self'".to_owned(),
        "base-uri 'none'".to_owned(),
        "form-action 'none'".to_owned(),
        "frame-ancestors 'none'".to_owned(),
        "object-src 'none'".to_owned(),
    ]
    .join("; ")
}

/// Whether a path names a content-hashed asset (trunk's `name-<16 hex>.ext`), safe to cache forever.
fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    match stem.rsplit_once('-') {
        Some((_, hash)) => hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        None => false,
    }
}

/// Size and modification time of a file (`None`: unreadable).
type Stamp = Option<(u64, SystemTime)>;

fn stamp(p: &Path) -> Stamp {
    let m = std::fs::metadata(p).ok()?;
    Some((m.len(), m.modified().ok()?))
}

/// The policy for the current `index.html` and network configuration, rebuilt when either
/// file changes.
#[derive(Debug)]
struct Policy {
    index: PathBuf,
    /// The file the network configuration is read from; `None` for a fixed one.
    config_file: Option<PathBuf>,
    fixed: Option<Value>,
    extra: Vec<String>,
    current: Mutex<((Stamp, Stamp), HeaderValue)>,
}

impl Policy {
    fn new(config: &SiteConfig) -> io::Result<Self> {
        if let Some(bad) = config.connect_src.iter().find(|c| {
            c.is_empty() || c.contains(|ch: char| ch.is_whitespace() || ch == ';' || ch == ',')
        }) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a connect-src source: {bad:?}"),
            ));
        }
        let index = config.dir.join("index.html");
        let (config_file, fixed) = match &config.network {
            Some(SiteNetwork::File(p)) => (Some(p.clone()), None),
            Some(SiteNetwork::Fixed(c)) => (None, serde_json::to_value(c).ok()),
            None => (Some(config.dir.join("config.json")), None),
        };
        let mut p = Self {
            index,
            config_file,
            fixed,
            extra: config.connect_src.clone(),
            current: Mutex::new(((None, None), HeaderValue::from_static("default-src 'none'"))),
        };
        let stamps = p.stamps();
        let csp = p.build().map_err(|e| {
            io::Error::new(e.kind(), format!("cannot read {}: {e}", display(&p.index)))
        })?;
        p.current = Mutex::new((stamps, csp));
        Ok(p)
    }

    fn stamps(&self) -> (Stamp, Stamp) {
        (
            stamp(&self.index),
            self.config_file.as_deref().and_then(stamp),
        )
    }

    fn build(&self) -> io::Result<HeaderValue> {
        let index = std::fs::read_to_string(&self.index)?;
        let network = match (&self.fixed, &self.config_file) {
            (Some(v), _) => v.clone(),
            (None, Some(f)) => std::fs::read_to_string(f)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null),
            (None, None) => Value::Null,
        };
        let mut sources = connect_sources(&network);
        sources.extend(self.extra.iter().cloned());
        let csp = content_security_policy(&index, &sources);
        HeaderValue::from_str(&csp)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "CSP is not a header value"))
    }

    /// The policy now; rebuilt when a file changed (an unreadable `index.html` keeps the last).
    fn get(&self) -> HeaderValue {
        let stamps = self.stamps();
        let Ok(mut cur) = self.current.lock() else {
            return HeaderValue::from_static("default-src 'none'");
        };
        if cur.0 != stamps
            && let Ok(csp) = self.build()
        {
            *cur = (stamps, csp);
        }
        cur.1.clone()
    }
}

/// Build the router serving `config.dir` with security headers.
///
/// Fails if `index.html` cannot be read (the bundle has not been built) or a configured
/// network file is missing or invalid.
pub fn router(config: &SiteConfig) -> io::Result<Router> {
    let policy = Arc::new(Policy::new(config)?);
    let serve = ServeDir::new(&config.dir).append_index_html_on_directories(true);
    let mut router = Router::new();
    if let Some(network) = &config.network {
        // Fail at start-up, not on the first page load, when the file is missing or invalid.
        network.read()?;
        let network = network.clone();
        router = router.route(
            "/config.json",
            axum::routing::get(move || {
                let network = network.clone();
                async move {
                    match network.read() {
                        Ok(body) => {
                            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
                        }
                        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                    }
                }
            }),
        );
    }
    let router = router.fallback_service(serve).layer(middleware::from_fn(
        move |req: Request, next: Next| {
            let csp = policy.get();
            async move { add_headers(req, next, csp).await }
        },
    ));
    Ok(crate::limits::apply(router, config.limits))
}

async fn add_headers(req: Request, next: Next, csp: HeaderValue) -> Response {
    let path = req.uri().path().to_owned();
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    let cache = if is_hashed_asset(&path) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// Serve the bundle on an already-bound listener until the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, config: SiteConfig) -> io::Result<()> {
    let app = router(&config)?;
    axum::serve(listener, app).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_inline_script_hash_matches_known_sha256() {
        // sha256("alert(1)") = 6e0d0d3f... base64 "bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI="
        let html =
            r#"<head><script type="module">alert(1)</script><script src="x.js"></script></head>"#;
        assert_eq!(
            inline_script_hashes(html),
            vec!["'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='".to_owned()]
        );
    }

    #[test]
    fn test_csp_has_no_unsafe_inline_or_eval() {
        let csp = content_security_policy("<script>x</script>", &["http://127.0.0.1:*".into()]);
        assert!(!csp.contains("'unsafe-inline'"));
        assert!(!csp.contains("'unsafe-eval'"));
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"));
        assert!(csp.contains("connect-src 'self' http://127.0.0.1:*"));
        assert!(csp.contains("frame-ancestors 'none'"));
    }

    #[tokio::test]
    async fn test_serves_files_with_headers_and_seed_config() {
        let dir = std::env::temp_dir().join(format!("umbra-site-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("index.html"),
            "<script type=\"module\">boot()</script>",
        )
        .unwrap();
        std::fs::write(dir.join("config.json"), "{\"seed_url\":\"http://bundle\"}").unwrap();
        let mut cfg = SiteConfig::new(dir.clone());
        cfg.network = Some(SiteNetwork::Fixed(Box::new(BundleConfig::direct(
            "http://127.0.0.1:4000",
            &[],
        ))));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, cfg));
        let get = |path: &'static str| async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            s.write_all(
                format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .await
            .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out.to_ascii_lowercase()
        };
        let index = get("/").await;
        assert!(index.starts_with("http/1.1 200"), "{index}");
        assert!(index.contains("content-security-policy: default-src 'none'"));
        assert!(index.contains("'sha256-"));
        assert!(index.contains("x-frame-options: deny"));
        assert!(index.contains("cache-control: no-cache"));
        let config = get("/config.json").await;
        assert!(
            config.contains(
                "{\"network\":\"local\",\"seed_url\":\"http://127.0.0.1:4000\",\"bridges\":[],\"bootstrap\":[]}"
            ),
            "{config}"
        );
        assert!(get("/missing.js").await.starts_with("http/1.1 404"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn connect_src_follows_the_network_configuration() {
        let node = |ip: &str, port: u16| {
            serde_json::json!({"public_ip": ip, "storage_port": port,
                "pubkey_ed25519": "00".repeat(32), "pubkey_x25519": "00".repeat(32), "swarm_id": 1})
        };
        // Faithful testnet: the bridge only; nodes and seed are reached through it.
        let faithful = serde_json::json!({"network": "local", "bridges": ["http://127.0.0.1:7000"],
            "bootstrap": [node("127.0.0.1", 4001)]});
        assert_eq!(
            connect_sources(&faithful),
            ["http://127.0.0.1:7000", "https:"]
        );
        // Mainnet: the bridges' origins (paths dropped), nothing that is not http(s).
        let mainnet = serde_json::json!({"network": "mainnet",
            "bridges": ["https://b.example/v1/", "https://c.example:8443", "javascript:alert(1)",
                "ftp://d.example", "not a url"],
            "bootstrap": [node("203.0.113.7", 22021)]});
        assert_eq!(
            connect_sources(&mainnet),
            ["https:", "https://b.example", "https://c.example:8443"]
        );
        // Direct testnet on loopback: the client learns nodes from the seed, so every port.
        let direct = serde_json::json!({"network": "local", "seed_url": "http://127.0.0.1:4000",
            "bridges": [], "bootstrap": [node("127.0.0.1", 4001)]});
        assert_eq!(
            connect_sources(&direct),
            ["http://127.0.0.1:*", "http://localhost:*"]
        );
        // An older bundle file with only a seed.
        let legacy = serde_json::json!({"seed_url": "https://localhost:22020"});
        assert_eq!(
            connect_sources(&legacy),
            ["https://127.0.0.1:*", "https://localhost:*"]
        );
        // Direct mode off loopback: the seed and each bootstrap node, nothing wider.
        let remote = serde_json::json!({"network": "local", "seed_url": "https://seed.example:4443",
            "bridges": [], "bootstrap": [node("203.0.113.7", 22021), node("2001:db8::1", 22021)]});
        assert_eq!(
            connect_sources(&remote),
            [
                "https://203.0.113.7:22021",
                "https://[2001:db8::1]:22021",
                "https://seed.example:4443"
            ]
        );
        assert!(connect_sources(&Value::Null).is_empty());
    }

    fn csp_of(policy: &Policy) -> String {
        policy.get().to_str().unwrap_or_default().to_owned()
    }

    /// Move `path`'s modification time `secs` seconds on, so a rewrite within the
    /// file system's time granularity is still seen as a change.
    fn touch_later(path: &Path, secs: u64) {
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        let was = f.metadata().unwrap().modified().unwrap();
        f.set_modified(was + std::time::Duration::from_secs(secs))
            .unwrap();
    }

    #[test]
    fn the_policy_is_recomputed_when_index_html_or_the_config_changes() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index.html");
        let config = dir.path().join("net.json");
        std::fs::write(&index, "<script>alert(1)</script>").unwrap();
        let net = |bridge: &str| BundleConfig {
            network: "local".into(),
            seed_url: None,
            bridges: vec![bridge.into()],
            bootstrap: Vec::new(),
            fileserver: None,
            turn: None,
            community: None,
        };
        net("http://127.0.0.1:7000").write(&config).unwrap();
        let mut site = SiteConfig::new(dir.path().to_path_buf());
        site.network = Some(SiteNetwork::File(config.clone()));
        let policy = Policy::new(&site).unwrap();
        let first = csp_of(&policy);
        let old_hash = inline_script_hashes("<script>alert(1)</script>").remove(0);
        assert!(first.contains(&old_hash), "{first}");
        assert!(
            first.contains("connect-src 'self' http://127.0.0.1:7000 https:;"),
            "{first}"
        );
        assert!(!first.contains("127.0.0.1:*"), "{first}");

        std::fs::write(&index, "<script>alert(2)</script>").unwrap();
        touch_later(&index, 5);
        let second = csp_of(&policy);
        let new_hash = inline_script_hashes("<script>alert(2)</script>").remove(0);
        assert!(
            second.contains(&new_hash) && !second.contains(&old_hash),
            "{second}"
        );

        net("http://127.0.0.1:7001").write(&config).unwrap();
        touch_later(&config, 10);
        let third = csp_of(&policy);
        assert!(
            third.contains("connect-src 'self' http://127.0.0.1:7001 https:;"),
            "{third}"
        );
        assert!(!third.contains(":7000"), "{third}");

        // Extra sources are single source expressions, never new directives.
        for bad in ["https://a.example; script-src *", "a b", ""] {
            site.connect_src = vec![bad.into()];
            assert!(Policy::new(&site).is_err(), "{bad}");
        }
        site.connect_src = vec!["https://mine.example".into()];
        std::fs::write(&index, "<script>alert(2)</script>").unwrap();
        let with_extra = csp_of(&Policy::new(&site).unwrap());
        assert!(
            with_extra.contains(" https://mine.example;"),
            "{with_extra}"
        );

        // A missing index.html keeps the last good policy.
        std::fs::remove_file(&index).unwrap();
        assert_eq!(csp_of(&policy), third);
    }

    #[test]
    fn test_hashed_assets_are_recognised() {
        assert!(is_hashed_asset("/umbra-app-0123456789abcdef.js"));
        assert!(is_hashed_asset("/umbra-app-0123456789abcdef_bg.wasm"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/umbra-worker_loader.js"));
        assert!(!is_hashed_asset("/sw.js"));
    }
}
