//! v4 onion request and response encoding for HTTP-server destinations such as SOGS and the
//! file server (docs/protocol.md §3.4, §3.5): bytes only, no crypto.
//!
//! Both are bencoded lists of one or two byte strings:
//!
//! ```text
//! request:  l<len(J)>:<J>[<len(BODY)>:<BODY>]e   J = {"method","endpoint","headers"}
//! response: l<len(M)>:<M>[<len(BODY)>:<BODY>]e   M = {"code": int, "headers": {..}}
//! ```
//!
//! Lengths are ASCII decimal byte counts. Decoding never panics.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::OnionError;

/// An HTTP request carried inside a v4 onion request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V4Request {
    /// HTTP method, e.g. `GET`, `POST`, `PUT`, `DELETE`.
    pub method: String,
    /// Path and query on the server; must start with `/`.
    pub endpoint: String,
    /// Request headers (e.g. `X-SOGS-*` auth, `Content-Type`).
    pub headers: BTreeMap<String, String>,
    /// Request body, if any (POST/PUT).
    pub body: Option<Vec<u8>>,
}

/// An HTTP response carried back from a v4 server destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V4Response {
    /// HTTP status code from the meta JSON `code`.
    pub code: u16,
    /// Response headers (lower-case names as sent by the server).
    pub headers: BTreeMap<String, String>,
    /// The response body (empty when the server sent none).
    pub body: Vec<u8>,
}

fn push_bstring(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(bytes);
}

/// Reads a bencoded byte string `<len>:<bytes>` from the front of `buf`.
fn read_bstring(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = buf.iter().take(21).position(|&c| c == b':')?;
    let digits = buf.get(..colon)?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let len: usize = core::str::from_utf8(digits).ok()?.parse().ok()?;
    let rest = buf.get(colon + 1..)?;
    if len > rest.len() {
        return None;
    }
    Some(rest.split_at(len))
}

/// Splits `l<s1>[<s2>]e` into its one or two strings.
fn decode_list(buf: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let inner = buf.strip_prefix(b"l")?;
    let (first, rest) = read_bstring(inner)?;
    if rest == b"e" {
        return Some((first, None));
    }
    let (second, rest) = read_bstring(rest)?;
    (rest == b"e").then_some((first, Some(second)))
}

fn headers_from(value: Option<&Value>) -> Option<BTreeMap<String, String>> {
    match value {
        None | Some(Value::Null) => Some(BTreeMap::new()),
        Some(Value::Object(map)) => Some(
            map.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Some(_) => None,
    }
}

fn headers_to(headers: &BTreeMap<String, String>) -> Value {
    Value::Object(
        headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

impl V4Request {
    /// Encodes `l<len(J)>:<J>[<len(BODY)>:<BODY>]e`.
    ///
    /// Fails with [`OnionError::BadArgument`] when `endpoint` does not start with `/` or
    /// `method` is empty.
    pub fn encode(&self) -> Result<Vec<u8>, OnionError> {
        if !self.endpoint.starts_with('/') {
            return Err(OnionError::BadArgument { what: "endpoint" });
        }
        if self.method.is_empty() {
            return Err(OnionError::BadArgument { what: "method" });
        }
        let mut meta = Map::new();
        meta.insert("method".into(), Value::String(self.method.clone()));
        meta.insert("endpoint".into(), Value::String(self.endpoint.clone()));
        meta.insert("headers".into(), headers_to(&self.headers));
        let json =
            serde_json::to_vec(&meta).map_err(|_| OnionError::BadArgument { what: "headers" })?;
        let mut out = Vec::with_capacity(json.len() + self.body.as_ref().map_or(0, Vec::len) + 24);
        out.push(b'l');
        push_bstring(&mut out, &json);
        if let Some(body) = &self.body {
            push_bstring(&mut out, body);
        }
        out.push(b'e');
        Ok(out)
    }

    /// Decodes a v4 request (server side). Never panics.
    pub fn decode(buf: &[u8]) -> Result<Self, OnionError> {
        const BAD: OnionError = OnionError::InvalidRouting {
            field: "v4 request",
        };
        let (meta, body) = decode_list(buf).ok_or(BAD)?;
        let Ok(Value::Object(meta)) = serde_json::from_slice::<Value>(meta) else {
            return Err(BAD);
        };
        let method = meta
            .get("method")
            .and_then(Value::as_str)
            .ok_or(BAD)?
            .to_owned();
        let endpoint = meta
            .get("endpoint")
            .and_then(Value::as_str)
            .ok_or(BAD)?
            .to_owned();
        if !endpoint.starts_with('/') || method.is_empty() {
            return Err(BAD);
        }
        let headers = headers_from(meta.get("headers")).ok_or(BAD)?;
        Ok(V4Request {
            method,
            endpoint,
            headers,
            body: body.map(<[u8]>::to_vec),
        })
    }
}

impl V4Response {
    /// Encodes `l<len(M)>:<M><len(BODY)>:<BODY>e` (server side).
    pub fn encode(&self) -> Vec<u8> {
        let mut meta = Map::new();
        meta.insert("code".into(), Value::from(self.code));
        meta.insert("headers".into(), headers_to(&self.headers));
        let json = Value::Object(meta).to_string();
        let mut out = Vec::with_capacity(json.len() + self.body.len() + 24);
        out.push(b'l');
        push_bstring(&mut out, json.as_bytes());
        push_bstring(&mut out, &self.body);
        out.push(b'e');
        out
    }

    /// Decodes a v4 response plaintext. Never panics.
    pub fn decode(buf: &[u8]) -> Result<Self, OnionError> {
        const BAD: OnionError = OnionError::InvalidResponse {
            what: "v4 encoding",
        };
        let (meta, body) = decode_list(buf).ok_or(BAD)?;
        let Ok(Value::Object(meta)) = serde_json::from_slice::<Value>(meta) else {
            return Err(BAD);
        };
        let code = meta
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .ok_or(OnionError::InvalidResponse { what: "v4 code" })?;
        let headers = headers_from(meta.get("headers")).ok_or(BAD)?;
        Ok(V4Response {
            code,
            headers,
            body: body.map(<[u8]>::to_vec).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_pysogs_docstring_examples() {
        let get = V4Request {
            method: "GET".into(),
            endpoint: "/room/some-room".into(),
            headers: [("Some-Header".to_owned(), "12345".to_owned())].into(),
            body: None,
        };
        let enc = get.encode().unwrap();
        // Same length as the pysogs example; our JSON keys are sorted, so the order differs.
        assert!(enc.starts_with(b"l79:{"));
        assert!(enc.ends_with(b"}e"));
        assert_eq!(V4Request::decode(&enc).unwrap(), get);
        let theirs = br#"l79:{"method":"GET","endpoint":"/room/some-room","headers":{"Some-Header":"12345"}}e"#;
        assert_eq!(V4Request::decode(theirs).unwrap(), get);

        let post = br#"l72:{"method":"POST","endpoint":"/some/thing","headers":{"Some-Header":"a"}}14:post body heree"#;
        let dec = V4Request::decode(post).unwrap();
        assert_eq!(dec.body.as_deref(), Some(&b"post body here"[..]));
        assert_eq!(V4Request::decode(&dec.encode().unwrap()).unwrap(), dec);
    }

    #[test]
    fn test_response_example_and_bad() {
        let ex =
            br#"l58:{"code":200,"headers":{"content-type":"application/json"}}11:{"id": 123}e"#;
        let r = V4Response::decode(ex).unwrap();
        assert_eq!(r.code, 200);
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        assert_eq!(r.body, br#"{"id": 123}"#);
        assert_eq!(V4Response::decode(&r.encode()).unwrap(), r);
        for bad in [
            &b""[..],
            b"l",
            b"le",
            b"l58:{}e",
            b"l2:{}",
            b"l2:{}x",
            b"l2:{}1:ae",
            br#"l10:{"code":1}3:abcee"#,
            br#"l12:{"code":-1}e"#,
            b"l99999999999999999999999:e",
        ] {
            assert!(V4Response::decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn test_endpoint_must_start_with_slash() {
        let r = V4Request {
            method: "GET".into(),
            endpoint: "room".into(),
            headers: BTreeMap::new(),
            body: None,
        };
        assert_eq!(
            r.encode(),
            Err(OnionError::BadArgument { what: "endpoint" })
        );
    }
}
