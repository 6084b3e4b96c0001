//! [`SecretString`]: the type of every field that carries a passphrase or recovery-phrase
//! words across the boundary. Its bytes are zeroised when it is dropped, so the worker does
//! not leave them in wasm memory after a command; its `Debug` never shows them. Owns no
//! policy about what is secret: the command and event types choose it for their fields.

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// A string that is zeroised on drop and redacted in `Debug`. Serialised as a plain JSON
/// string, so the wire form is that of a `String`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Takes ownership of `text` (no copy is made).
    pub fn new(text: String) -> Self {
        SecretString(text)
    }

    /// The text. Copies made from it are not zeroised: keep them short-lived.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True if the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl From<String> for SecretString {
    fn from(text: String) -> Self {
        SecretString(text)
    }
}

impl From<&str> for SecretString {
    fn from(text: &str) -> Self {
        SecretString(text.to_owned())
    }
}

impl core::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_secret_is_a_plain_string_on_the_wire_and_redacted_in_debug() {
        let s = SecretString::from("hunter2");
        assert_eq!(
            serde_json::to_string(&s).ok().as_deref(),
            Some("\"hunter2\"")
        );
        assert_eq!(
            serde_json::from_str::<SecretString>("\"hunter2\"").ok(),
            Some(s.clone())
        );
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(s.expose(), "hunter2");
    }
}
