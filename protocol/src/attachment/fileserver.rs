//! Talking to a Session file server (session-file-server `fileserver/routes.py`;
//! session-protocol.md §8; session-2026.md §A4): what to send for an upload or a download
//! (as a [`ClientCommand::ServerRequest`](crate::client::ClientCommand::ServerRequest), so it
//! travels through an onion path), how to read the answers, and the URL an
//! `AttachmentPointer` carries.
//!
//! URLs: `http://filev2.getsession.org/file/<id>` for Session's server; a fragment marks the
//! deterministic format (`d`) and names a non-default server by its Ed25519 key
//! (`p=<hex>`; session-desktop's proto comment on `AttachmentPointer.url`). A URL is only
//! fetched from a server this client knows (the default, a configured one, or one named by
//! `p=`): a download never goes anywhere a message alone could choose.

use std::collections::BTreeMap;

use crate::{
    client::{ServerReply, ServerTarget},
    identity::ed25519_to_x25519_public,
    onion::HttpProtocol,
};

/// Session's file server host.
pub const MAINNET_HOST: &str = "filev2.getsession.org";
/// Its X25519 key since 2025-10-09 (session-2026.md §A4).
pub const MAINNET_X25519: [u8; 32] = [
    0x09, 0x32, 0x47, 0x94, 0xaa, 0x9c, 0x11, 0x94, 0x81, 0x89, 0x76, 0x2d, 0x19, 0x8c, 0x61, 0x81,
    0x48, 0xe9, 0x13, 0x6a, 0xc9, 0x58, 0x20, 0x68, 0x18, 0x06, 0x61, 0x20, 0x89, 0x27, 0xef, 0x34,
];
/// The time-to-live header (seconds).
pub const TTL_HEADER: &str = "X-FS-TTL";

/// What went wrong with a file server answer or URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileServerError {
    /// The server answered with an error status.
    #[error("the file server answered {0}")]
    Status(u16),
    /// The answer is not of the documented shape.
    #[error("malformed file server answer")]
    Malformed,
    /// The URL does not name a file on a server this client may fetch from.
    #[error("not a file URL of a known file server")]
    UnknownUrl,
}

/// A file server the client uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileServer {
    /// Base URL as it appears in attachment URLs (`http://host[:port]`).
    pub base: String,
    /// How to reach it through an onion path.
    pub target: ServerTarget,
}

/// An upload's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Uploaded {
    /// The file id.
    pub id: String,
    /// When it expires (Unix seconds), if the server said.
    pub expires_s: Option<f64>,
}

/// A file named by an attachment URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRef {
    /// The server it is on.
    pub server: FileServer,
    /// Its id.
    pub id: String,
    /// Whether the URL marks the deterministic format.
    pub deterministic: bool,
}

/// A request to hand to the client as a server request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// HTTP method.
    pub method: String,
    /// Path on the server.
    pub path: String,
    /// Headers.
    pub headers: BTreeMap<String, String>,
    /// Body.
    pub body: Option<Vec<u8>>,
}

impl FileServer {
    /// Session's file server (plain HTTP behind the last hop, as Session's clients use it).
    pub fn mainnet() -> FileServer {
        FileServer {
            base: format!("http://{MAINNET_HOST}"),
            target: ServerTarget {
                host: MAINNET_HOST.into(),
                port: 80,
                scheme: HttpProtocol::Http,
                x25519: MAINNET_X25519,
            },
        }
    }

    /// A server at `base` (`http(s)://host[:port]`) with this X25519 key. `None` if `base`
    /// is not such a URL.
    pub fn at(base: &str, x25519: [u8; 32]) -> Option<FileServer> {
        let base = base.trim_end_matches('/');
        let (scheme, rest) = if let Some(r) = base.strip_prefix("http://") {
            (HttpProtocol::Http, r)
        } else {
            (HttpProtocol::Https, base.strip_prefix("https://")?)
        };
        if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return None;
        }
        let default_port = if scheme == HttpProtocol::Http {
            80
        } else {
            443
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() => (h, p.parse::<u16>().ok().filter(|p| *p != 0)?),
            Some(_) => return None,
            None => (rest, default_port),
        };
        Some(FileServer {
            base: base.to_owned(),
            target: ServerTarget {
                host: host.to_owned(),
                port,
                scheme,
                x25519,
            },
        })
    }

    /// `POST /file` with the encrypted blob (and a TTL in seconds if given).
    pub fn upload(&self, blob: Vec<u8>, ttl_s: Option<u64>) -> Request {
        let mut headers = BTreeMap::new();
        headers.insert(
            "Content-Type".to_owned(),
            "application/octet-stream".to_owned(),
        );
        if let Some(ttl) = ttl_s {
            headers.insert(TTL_HEADER.to_owned(), ttl.to_string());
        }
        Request {
            method: "POST".into(),
            path: "/file".into(),
            headers,
            body: Some(blob),
        }
    }

    /// `GET /file/<id>`.
    pub fn download(&self, id: &str) -> Request {
        Request {
            method: "GET".into(),
            path: format!("/file/{id}"),
            headers: BTreeMap::new(),
            body: None,
        }
    }

    /// `POST /file/<id>/extend` (keeps a file longer, as desktop does for its avatar).
    pub fn extend(&self, id: &str) -> Request {
        Request {
            method: "POST".into(),
            path: format!("/file/{id}/extend"),
            headers: BTreeMap::new(),
            body: None,
        }
    }

    /// The attachment URL of file `id` on this server.
    pub fn file_url(&self, id: &str, deterministic: bool) -> String {
        let mut url = format!("{}/file/{id}", self.base);
        if deterministic {
            url.push_str("#d");
        }
        url
    }
}

/// Whether `id` is a file id as servers give them: digits (≤ 2^53) or 44 base64url
/// characters (BLAKE2b-264 of the body).
pub fn valid_id(id: &str) -> bool {
    let digits = !id.is_empty()
        && id.len() <= 16
        && id.bytes().all(|b| b.is_ascii_digit())
        && id.parse::<u64>().is_ok_and(|n| n <= 1 << 53);
    let hashed = id.len() == 44
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    digits || hashed
}

/// Reads an upload answer: `{"id": "<id>" | <number>, "expires": <float>?}`.
///
/// # Errors
///
/// [`FileServerError::Status`] for a non-2xx answer, [`FileServerError::Malformed`] for
/// another shape or an id that is not one.
pub fn parse_upload(reply: &ServerReply) -> Result<Uploaded, FileServerError> {
    if !(200..300).contains(&reply.status) {
        return Err(FileServerError::Status(reply.status));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&reply.body).map_err(|_| FileServerError::Malformed)?;
    let id = match &v["id"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) if n.is_u64() => n.to_string(),
        _ => return Err(FileServerError::Malformed),
    };
    if !valid_id(&id) {
        return Err(FileServerError::Malformed);
    }
    Ok(Uploaded {
        id,
        expires_s: v["expires"].as_f64(),
    })
}

/// Reads a download answer: the blob.
///
/// # Errors
///
/// [`FileServerError::Status`] for a non-2xx answer.
pub fn parse_download(reply: ServerReply) -> Result<Vec<u8>, FileServerError> {
    if !(200..300).contains(&reply.status) {
        return Err(FileServerError::Status(reply.status));
    }
    Ok(reply.body)
}

/// Resolves an attachment URL to a file on a server this client may fetch from: one of
/// `known` whose base the URL starts with, or, with `p=<ed25519 hex>` in the fragment, the
/// URL's own host with that key (as Session's clients do for non-default servers).
///
/// # Errors
///
/// [`FileServerError::UnknownUrl`] otherwise (a path that is not `/file/<id>`, an invalid
/// id, an unknown host without `p=`, a bad key).
pub fn resolve_url(url: &str, known: &[FileServer]) -> Result<FileRef, FileServerError> {
    let (main, frag) = url.split_once('#').unwrap_or((url, ""));
    let parts: Vec<&str> = frag.split('&').filter(|p| !p.is_empty()).collect();
    let deterministic = parts.iter().any(|p| *p == "d" || p.starts_with("d="));
    let (base, id) = main
        .rsplit_once("/file/")
        .ok_or(FileServerError::UnknownUrl)?;
    if !valid_id(id) {
        return Err(FileServerError::UnknownUrl);
    }
    let named = parts.iter().find_map(|p| p.strip_prefix("p="));
    let server = match named {
        Some(hex_key) => {
            let ed: [u8; 32] = hex::decode(hex_key)
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or(FileServerError::UnknownUrl)?;
            let x = ed25519_to_x25519_public(&ed).map_err(|_| FileServerError::UnknownUrl)?;
            FileServer::at(base, x).ok_or(FileServerError::UnknownUrl)?
        }
        None => known
            .iter()
            .find(|s| s.base.trim_end_matches('/') == base)
            .cloned()
            .ok_or(FileServerError::UnknownUrl)?,
    };
    Ok(FileRef {
        server,
        id: id.to_owned(),
        deterministic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> ServerReply {
        ServerReply {
            status,
            headers: BTreeMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    const HASH_ID: &str = "Ab-_0123456789abcdefghijklmnopqrstuvwxyzABCD";

    #[test]
    fn upload_answers_are_read_strictly() {
        let u = parse_upload(&reply(200, r#"{"id":"123","expires":1790000000.5}"#)).unwrap();
        assert_eq!(u.id, "123");
        assert_eq!(u.expires_s, Some(1_790_000_000.5));
        assert_eq!(
            parse_upload(&reply(200, r#"{"id":123}"#)).unwrap().id,
            "123"
        );
        assert_eq!(
            parse_upload(&reply(200, &format!(r#"{{"id":"{HASH_ID}"}}"#)))
                .unwrap()
                .id,
            HASH_ID
        );
        for bad in [
            r#"{"id":"../etc"}"#,
            r#"{"id":""}"#,
            r#"{"id":-1}"#,
            "[]",
            "x",
            r#"{"id":"1/2"}"#,
        ] {
            assert_eq!(
                parse_upload(&reply(200, bad)),
                Err(FileServerError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            parse_upload(&reply(413, "{}")),
            Err(FileServerError::Status(413))
        );
        assert_eq!(
            parse_download(reply(404, "")),
            Err(FileServerError::Status(404))
        );
    }

    #[test]
    fn requests_have_the_server_api_shape() {
        let fs = FileServer::mainnet();
        let up = fs.upload(vec![1, 2, 3], Some(3600));
        assert_eq!((up.method.as_str(), up.path.as_str()), ("POST", "/file"));
        assert_eq!(up.headers.get(TTL_HEADER).map(String::as_str), Some("3600"));
        assert_eq!(fs.download("42").path, "/file/42");
        assert_eq!(fs.extend("42").path, "/file/42/extend");
        assert_eq!(
            fs.file_url("42", false),
            "http://filev2.getsession.org/file/42"
        );
        assert_eq!(
            fs.file_url("42", true),
            "http://filev2.getsession.org/file/42#d"
        );
    }

    #[test]
    fn urls_resolve_only_to_known_servers_or_named_keys() {
        let fs = FileServer::mainnet();
        let local = FileServer::at("http://127.0.0.1:4000", [7; 32]).unwrap();
        let known = [fs.clone(), local.clone()];
        let r = resolve_url("http://filev2.getsession.org/file/42", &known).unwrap();
        assert_eq!(
            (r.server, r.id.as_str(), r.deterministic),
            (fs.clone(), "42", false)
        );
        let r = resolve_url("http://127.0.0.1:4000/file/42#d", &known).unwrap();
        assert_eq!((r.server, r.deterministic), (local, true));
        // A host nobody configured needs its key in the URL.
        assert_eq!(
            resolve_url("http://evil.example/file/42", &known),
            Err(FileServerError::UnknownUrl)
        );
        let ed = crate::identity::Identity::from_seed(
            &crate::identity::Seed::from_entropy(&[3; 32]).unwrap(),
        )
        .ed25519_public();
        let url = format!(
            "http://other.example:8080/file/{HASH_ID}#p={}&d",
            hex::encode(ed)
        );
        let r = resolve_url(&url, &known).unwrap();
        assert_eq!(r.server.target.host, "other.example");
        assert_eq!(r.server.target.port, 8080);
        assert_eq!(
            r.server.target.x25519,
            ed25519_to_x25519_public(&ed).unwrap()
        );
        assert!(r.deterministic);
        for bad in [
            "http://filev2.getsession.org/files/42",
            "http://filev2.getsession.org/file/../42",
            "http://filev2.getsession.org/file/",
            "http://filev2.getsession.org/file/99999999999999999",
            "http://x.example/file/42#p=zz",
        ] {
            assert_eq!(
                resolve_url(bad, &known),
                Err(FileServerError::UnknownUrl),
                "{bad}"
            );
        }
        assert!(FileServer::at("ftp://x", [0; 32]).is_none());
        assert!(FileServer::at("http://x:0", [0; 32]).is_none());
        assert!(FileServer::at("http://x/y", [0; 32]).is_none());
    }
}
