//! Static server for the app bundle (`dist/`), with the security headers Umbra needs.
//!
//! Trunk emits one inline `<script type="module">` that boots the app. Instead of allowing
//! `'unsafe-inline'`, this server reads `index.html` once at start-up and adds the SHA-256 hash
//! of every inline script to `script-src`. The policy has no `'unsafe-inline'` and no
//! `'unsafe-eval'`; `'wasm-unsafe-eval'` lets the browser compile WebAssembly.

use std::{
    io,
    path::{Path, PathBuf},
};

use axum::{
    Router,
    extract::Request,
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse as _, Response},
};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;

use crate::bundle::BundleConfig;

/// What to serve and which origins the app may connect to.
#[derive(Clone, Debug)]
pub struct SiteConfig {
    /// The trunk output directory (holds `index.html`).
    pub dir: PathBuf,
    /// Extra `connect-src` sources (node endpoints), besides `'self'`.
    pub connect_src: Vec<String>,
    /// The network configuration answered at `/config.json`, overriding the bundle's own
    /// file (so that one command can start a testnet on free ports and point the app at it).
    pub network: Option<SiteNetwork>,
}

/// Where `/config.json` comes from.
#[derive(Clone, Debug)]
pub enum SiteNetwork {
    /// A file (`serve --config FILE`, the testnet's `DATA/config.json`), read per request.
    File(PathBuf),
    /// A fixed configuration (`serve --seed URL`).
    Fixed(BundleConfig),
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

impl SiteConfig {
    /// A config whose `connect-src` allows nodes on loopback, as the local testnet runs them.
    pub fn for_loopback_nodes(dir: PathBuf) -> Self {
        Self {
            dir,
            connect_src: [
                "http://127.0.0.1:*",
                "https://127.0.0.1:*",
                "http://localhost:*",
                "https://localhost:*",
            ]
            .map(String::from)
            .to_vec(),
            network: None,
        }
    }
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

/// Build the router serving `config.dir` with security headers.
///
/// Fails if `index.html` cannot be read (the bundle has not been built).
pub fn router(config: &SiteConfig) -> io::Result<Router> {
    let index = std::fs::read_to_string(config.dir.join("index.html")).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot read {}/index.html: {e}", display(&config.dir)),
        )
    })?;
    let csp = content_security_policy(&index, &config.connect_src);
    let csp = HeaderValue::from_str(&csp)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "CSP is not a header value"))?;
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
    Ok(router.fallback_service(serve).layer(middleware::from_fn(
        move |req: Request, next: Next| {
            let csp = csp.clone();
            async move { add_headers(req, next, csp).await }
        },
    )))
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
        let mut cfg = SiteConfig::for_loopback_nodes(dir.clone());
        cfg.network = Some(SiteNetwork::Fixed(BundleConfig::direct(
            "http://127.0.0.1:4000",
            &[],
        )));
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
    fn test_hashed_assets_are_recognised() {
        assert!(is_hashed_asset("/umbra-app-0123456789abcdef.js"));
        assert!(is_hashed_asset("/umbra-app-0123456789abcdef_bg.wasm"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/umbra-worker_loader.js"));
        assert!(!is_hashed_asset("/sw.js"));
    }
}
