//! Attachments in the worker: uploads (re-encode pictures, encrypt in the legacy format every
//! Session client reads, upload through an onion path, then send the message) and downloads
//! (fetch through an onion path, check the digest, decrypt, store sealed in chunks). Both are
//! server requests of the client ([`ClientCommand::ServerRequest`]), never direct fetches:
//! the file server never learns who sends or receives (docs/protocol.md §3.5, §8).
//!
//! An upload lives only in worker memory until the file server answers; the message is stored
//! (and enters the outbox) only then, with the plaintext kept locally so the sender never
//! downloads its own file. If the tab closes during an upload, nothing was sent: the user
//! sends the file again. Downloads start by themselves for accepted conversations; a message
//! request's attachments wait until the user asks (as Session asks before auto-downloading
//! from someone new).

use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRng;
use umbra_ipc::{ErrorCode, Event, UploadState};
use umbra_protocol::{
    address::ConversationId,
    attachment::{
        self, AttachmentError, MAX_ATTACHMENT_BYTES,
        fileserver::{self, FileServer, FileServerError},
    },
    client::{ClientCommand, ServerReply, ServerRequestError, ServerTag},
    identity::AccountId,
    message::{AttachmentMeta, ProfilePicture},
    store::{
        MessageDb,
        messages::{AttachmentFailure, AttachmentState, ConversationState, MessageKey},
    },
};
use zeroize::Zeroizing;

use super::{Cx, Messenger, db_error, dm};
use crate::{media, network::Network};

/// A file on its way to the file server.
struct Upload {
    peer: AccountId,
    upload: u64,
    caption: String,
    reply_to: Option<u64>,
    meta: AttachmentMeta,
    plain: Zeroizing<Vec<u8>>,
}

/// An attachment on its way here.
struct Download {
    conversation: ConversationId,
    key: MessageKey,
    index: usize,
    meta: AttachmentMeta,
}

/// The transfers under way.
#[derive(Default)]
pub(super) struct Transfers {
    next_tag: u64,
    uploads: BTreeMap<ServerTag, Upload>,
    downloads: BTreeMap<ServerTag, Download>,
    /// Messages whose attachments should be fetched (checked in the next drain).
    wanted: Vec<(ConversationId, MessageKey, bool)>,
    /// Attachments being fetched: (message, index).
    pub(super) downloading: BTreeSet<(MessageKey, usize)>,
    /// Conversations whose peer's picture should be fetched (checked in the next drain).
    pub(super) avatars_wanted: Vec<ConversationId>,
    /// Peers' pictures being fetched: tag → (conversation, picture).
    pub(super) avatar_downloads: BTreeMap<ServerTag, (ConversationId, ProfilePicture)>,
    /// Our new picture on its way: tag → (profile key, the re-encoded picture).
    pub(super) avatar_upload: Option<(ServerTag, Zeroizing<[u8; 32]>, Vec<u8>)>,
}

impl Transfers {
    /// Asks for the attachments of `key` to be fetched: `forced` by the user (a request's),
    /// else only in an accepted conversation.
    pub(super) fn want(&mut self, conversation: ConversationId, key: MessageKey, forced: bool) {
        self.wanted.push((conversation, key, forced));
    }

    pub(super) fn tag(&mut self) -> ServerTag {
        self.next_tag += 1;
        ServerTag(self.next_tag)
    }

    /// Whether `tag` is one of ours.
    pub(super) fn owns(&self, tag: ServerTag) -> bool {
        self.uploads.contains_key(&tag)
            || self.downloads.contains_key(&tag)
            || self.avatar_downloads.contains_key(&tag)
            || self.avatar_upload.as_ref().is_some_and(|(t, ..)| *t == tag)
    }
}

/// The code the app shows for a stored failure.
pub(super) fn failure_code(f: AttachmentFailure) -> ErrorCode {
    match f {
        AttachmentFailure::Gone | AttachmentFailure::Unavailable => ErrorCode::DownloadFailed,
        AttachmentFailure::Corrupt => ErrorCode::AttachmentCorrupt,
        AttachmentFailure::TooLarge => ErrorCode::FileTooLarge,
    }
}

/// A file name safe to save under: the last path component, without control or reserved
/// characters, at most 100 characters; "file" if nothing is left.
pub(super) fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|&c| {
            !c.is_control()
                && !umbra_protocol::message::is_bidi_control(c)
                && !matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*')
        })
        .take(100)
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.');
    if trimmed.is_empty() {
        "file".to_owned()
    } else {
        trimmed.to_owned()
    }
}

impl Messenger {
    /// The file servers attachment URLs may name: the bundle's, and Session's on mainnet.
    pub(super) fn file_servers(&self) -> Vec<FileServer> {
        let mut known: Vec<FileServer> = self.network.fileserver.iter().cloned().collect();
        if self.network.network == Network::Mainnet {
            known.push(FileServer::mainnet());
        }
        known
    }

    /// Where uploads go: the bundle's file server, else Session's on mainnet.
    pub(super) fn upload_server(&self) -> Option<FileServer> {
        self.file_servers().into_iter().next()
    }

    pub(super) fn server_request<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        tag: ServerTag,
        server: &FileServer,
        req: fileserver::Request,
    ) -> Result<(), ErrorCode> {
        let cmd = ClientCommand::ServerRequest {
            tag,
            server: server.target.clone(),
            method: req.method,
            path: req.path,
            headers: req.headers,
            body: req.body,
        };
        self.client
            .handle_command(cmd, cx.vault.identity(), crate::net::now_ms(), cx.rng)
            .map_err(|e| super::client_error(&e))
    }

    fn post_upload<R: CryptoRng>(
        &self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        upload: u64,
        state: UploadState,
    ) {
        (cx.post)(&Event::Upload {
            conversation: peer.to_string(),
            upload,
            state,
        });
    }

    /// Starts sending a file to `peer` (see the module docs); progress comes as
    /// [`Event::Upload`]. A failure is reported there, not as an error.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_file<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        upload: u64,
        name: String,
        content_type: String,
        voice: bool,
        caption: String,
        reply_to: Option<u64>,
        bytes: Vec<u8>,
    ) -> Result<(), ErrorCode> {
        let fail = |m: &Self, cx: &mut Cx<'_, R>, code| {
            m.post_upload(cx, peer, upload, UploadState::Failed { code });
        };
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            fail(self, cx, ErrorCode::FileTooLarge);
            return Ok(());
        }
        if caption.chars().count() > super::MAX_BODY_CHARS {
            fail(self, cx, ErrorCode::InvalidMessage);
            return Ok(());
        }
        let Some(server) = self.upload_server() else {
            fail(self, cx, ErrorCode::UploadFailed);
            return Ok(());
        };
        self.post_upload(cx, peer, upload, UploadState::Preparing);
        let content_type = content_type.trim().to_ascii_lowercase();
        let (plain, content_type, width, height) =
            if let Some(rate) = media::pcm_rate(&content_type) {
                // A recording: encoded as MP3 here (see `media::encode_voice_mp3`).
                match media::encode_voice_mp3(&bytes, rate) {
                    Some(mp3) => (mp3, "audio/mpeg".to_owned(), None, None),
                    None => {
                        fail(self, cx, ErrorCode::InvalidFile);
                        return Ok(());
                    }
                }
            } else if !voice && media::is_picture(&content_type) {
                match media::prepare_picture(&bytes, &content_type).await {
                    Ok(p) => (p.bytes, p.content_type, Some(p.width), Some(p.height)),
                    Err(_) => {
                        fail(self, cx, ErrorCode::InvalidFile);
                        return Ok(());
                    }
                }
            } else {
                (bytes, content_type, None, None)
            };
        if plain.len() > MAX_ATTACHMENT_BYTES {
            fail(self, cx, ErrorCode::FileTooLarge);
            return Ok(());
        }
        let plain = Zeroizing::new(plain);
        let Ok(enc) = attachment::encrypt_legacy(&plain, cx.rng) else {
            fail(self, cx, ErrorCode::FileTooLarge);
            return Ok(());
        };
        let size = u32::try_from(enc.size).map_err(|_| ErrorCode::FileTooLarge)?;
        let meta = AttachmentMeta {
            url: String::new(),
            server_id: 0,
            key: enc.key.to_vec(),
            digest: Some(enc.digest.to_vec()),
            size,
            content_type: Some(content_type).filter(|t| !t.is_empty()),
            file_name: Some(safe_file_name(&name)),
            voice,
            width,
            height,
            caption: None,
        };
        let encrypted = enc.blob.len() as u64;
        let tag = self.files.tag();
        if let Err(code) = self.server_request(cx, tag, &server, server.upload(enc.blob, None)) {
            fail(self, cx, code);
            return Ok(());
        }
        self.files.uploads.insert(
            tag,
            Upload {
                peer,
                upload,
                caption: caption.trim().to_owned(),
                reply_to,
                meta,
                plain,
            },
        );
        self.post_upload(
            cx,
            peer,
            upload,
            UploadState::Uploading { bytes: encrypted },
        );
        self.run_actions(cx).await;
        Ok(())
    }

    /// Forgets upload `upload`: its answer, when it comes, sends nothing.
    pub fn cancel_upload<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        upload: u64,
    ) {
        self.files
            .uploads
            .retain(|_, u| !(u.peer == peer && u.upload == upload));
        self.post_upload(
            cx,
            peer,
            upload,
            UploadState::Failed {
                code: ErrorCode::UploadFailed,
            },
        );
    }

    /// Fetches message `id`'s attachments now (the user asked).
    pub async fn download_attachments<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        id: u64,
    ) -> Result<(), ErrorCode> {
        self.files.want(dm(peer), MessageKey(id), true);
        self.run_actions(cx).await;
        Ok(())
    }

    /// Asks for every not yet fetched attachment of `peer`'s newest messages (a request was
    /// accepted).
    pub(super) async fn want_remote_attachments<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
    ) {
        let db = MessageDb::new(cx.store, cx.vault);
        let Ok(list) = db.list_messages(&dm(peer), super::PAGE, 0).await else {
            return;
        };
        for m in list {
            if m.attachments
                .iter()
                .any(|a| a.state == AttachmentState::Remote)
            {
                self.files.want(dm(peer), m.id, true);
            }
        }
    }

    /// Posts the bytes of attachment `index` of message `id`.
    pub async fn open_attachment<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        id: u64,
        index: u32,
    ) -> Result<(), ErrorCode> {
        let db = MessageDb::new(cx.store, cx.vault);
        let bytes = db
            .attachment_bytes(&dm(peer), MessageKey(id), index as usize)
            .await
            .map_err(db_error)?
            .ok_or(ErrorCode::NoSuchMessage)?;
        (cx.post)(&Event::AttachmentData {
            conversation: peer.to_string(),
            id,
            index,
            bytes: bytes.to_vec(),
        });
        Ok(())
    }

    /// Starts the downloads asked for (called in each drain, before the client's actions).
    pub(super) async fn start_downloads<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        for (conversation, key, forced) in core::mem::take(&mut self.files.wanted) {
            let db = MessageDb::new(cx.store, cx.vault);
            let accepted = match db.conversation(&conversation).await {
                Ok(Some(c)) => c.state == ConversationState::Accepted,
                _ => false,
            };
            if !accepted && !forced {
                continue;
            }
            let Ok(Some(msg)) = db.message(&conversation, key).await else {
                continue;
            };
            for (index, a) in msg.attachments.iter().enumerate() {
                let retry = matches!(a.state, AttachmentState::Failed { .. }) && forced;
                if !(a.state == AttachmentState::Remote || retry)
                    || self.files.downloading.contains(&(key, index))
                {
                    continue;
                }
                if let Err(reason) = self.start_download(cx, &conversation, key, index, &a.meta) {
                    self.record_failure(cx, &conversation, key, index, reason)
                        .await;
                }
            }
        }
    }

    fn start_download<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        conversation: &ConversationId,
        key: MessageKey,
        index: usize,
        meta: &AttachmentMeta,
    ) -> Result<(), AttachmentFailure> {
        if meta.size as usize > MAX_ATTACHMENT_BYTES {
            return Err(AttachmentFailure::TooLarge);
        }
        if meta.key.is_empty() {
            return Err(AttachmentFailure::Unavailable);
        }
        let file = fileserver::resolve_url(&meta.url, &self.file_servers())
            .map_err(|_| AttachmentFailure::Unavailable)?;
        let tag = self.files.tag();
        let req = file.server.download(&file.id);
        self.server_request(cx, tag, &file.server, req)
            .map_err(|_| AttachmentFailure::Unavailable)?;
        self.files.downloading.insert((key, index));
        self.files.downloads.insert(
            tag,
            Download {
                conversation: conversation.clone(),
                key,
                index,
                meta: meta.clone(),
            },
        );
        self.mark_dirty_conversation(conversation);
        Ok(())
    }

    pub(super) fn mark_dirty_conversation(&mut self, conversation: &ConversationId) {
        if let Some(peer) = conversation.direct() {
            self.mark_dirty(*peer);
        }
    }

    async fn record_failure<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        conversation: &ConversationId,
        key: MessageKey,
        index: usize,
        reason: AttachmentFailure,
    ) {
        let mut db = MessageDb::new(cx.store, cx.vault);
        let state = AttachmentState::Failed { reason };
        if let Err(e) = db
            .set_attachment_state(conversation, key, index, state, cx.rng)
            .await
        {
            (cx.post)(&Event::Error { code: db_error(e) });
        }
        self.mark_dirty_conversation(conversation);
    }

    /// The answer of a server request of ours (an upload or a download).
    pub(super) async fn on_file_response<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        tag: ServerTag,
        result: Result<ServerReply, ServerRequestError>,
    ) {
        if self
            .files
            .avatar_upload
            .as_ref()
            .is_some_and(|(t, ..)| *t == tag)
        {
            self.on_avatar_uploaded(cx, result).await;
        } else if let Some((conversation, picture)) = self.files.avatar_downloads.remove(&tag) {
            self.on_avatar_downloaded(cx, conversation, picture, result)
                .await;
        } else if let Some(up) = self.files.uploads.remove(&tag) {
            self.on_uploaded(cx, up, result).await;
        } else if let Some(down) = self.files.downloads.remove(&tag) {
            self.files.downloading.remove(&(down.key, down.index));
            self.on_downloaded(cx, down, result).await;
        }
    }

    async fn on_uploaded<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        up: Upload,
        result: Result<ServerReply, ServerRequestError>,
    ) {
        let (peer, upload) = (up.peer, up.upload);
        let uploaded = result
            .map_err(|_| ErrorCode::UploadFailed)
            .and_then(|reply| match fileserver::parse_upload(&reply) {
                Ok(u) => Ok(u),
                Err(FileServerError::Status(413)) => Err(ErrorCode::FileTooLarge),
                Err(_) => Err(ErrorCode::UploadFailed),
            });
        let Some(server) = self.upload_server() else {
            return;
        };
        let uploaded = match uploaded {
            Ok(u) => u,
            Err(code) => {
                self.post_upload(cx, peer, upload, UploadState::Failed { code });
                return;
            }
        };
        let mut meta = up.meta;
        meta.url = server.file_url(&uploaded.id, false);
        let reply_to = up.reply_to.map(MessageKey);
        let outcome = convo!(
            self,
            cx,
            send_message(&dm(peer), up.caption, reply_to, vec![meta])
        );
        // The new message's key is in its outbox id.
        let key = outcome.as_ref().ok().and_then(|effects| {
            effects.iter().find_map(|e| match e {
                umbra_protocol::convo::Effect::Client(ClientCommand::Send { local_id, .. }) => {
                    umbra_protocol::convo::text_key(local_id)
                }
                _ => None,
            })
        });
        if let Err(code) = self.apply(cx, outcome) {
            self.post_upload(cx, peer, upload, UploadState::Failed { code });
            return;
        }
        if let Some(key) = key {
            let mut db = MessageDb::new(cx.store, cx.vault);
            if let Err(e) = db
                .store_attachment(&dm(peer), key, 0, &up.plain, cx.rng)
                .await
            {
                // Sent all the same; the bytes can be fetched back from the server.
                (cx.post)(&Event::Error { code: db_error(e) });
            }
        }
        self.post_upload(cx, peer, upload, UploadState::Done);
    }

    async fn on_downloaded<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        down: Download,
        result: Result<ServerReply, ServerRequestError>,
    ) {
        let blob = match result {
            Ok(reply) => match fileserver::parse_download(reply) {
                Ok(blob) => blob,
                Err(_) => {
                    return self
                        .record_failure(
                            cx,
                            &down.conversation,
                            down.key,
                            down.index,
                            AttachmentFailure::Gone,
                        )
                        .await;
                }
            },
            // Unreachable now: left remote, so the user can try again.
            Err(_) => {
                self.mark_dirty_conversation(&down.conversation);
                (cx.post)(&Event::Error {
                    code: ErrorCode::DownloadFailed,
                });
                return;
            }
        };
        let m = &down.meta;
        let plain = attachment::decrypt(
            &m.url,
            &blob,
            &m.key,
            m.digest.as_deref(),
            Some(m.size as usize).filter(|&s| s != 0),
        );
        let plain = match plain {
            Ok(p) => p,
            Err(e) => {
                let reason = match e {
                    AttachmentError::TooLarge => AttachmentFailure::TooLarge,
                    _ => AttachmentFailure::Corrupt,
                };
                return self
                    .record_failure(cx, &down.conversation, down.key, down.index, reason)
                    .await;
            }
        };
        let mut db = MessageDb::new(cx.store, cx.vault);
        if let Err(e) = db
            .store_attachment(&down.conversation, down.key, down.index, &plain, cx.rng)
            .await
        {
            (cx.post)(&Event::Error { code: db_error(e) });
        }
        self.mark_dirty_conversation(&down.conversation);
    }
}

#[cfg(test)]
mod tests {
    use super::safe_file_name;

    #[test]
    fn file_names_are_made_safe() {
        assert_eq!(safe_file_name("report.pdf"), "report.pdf");
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\x\\evil<>.html"), "evil.html");
        assert_eq!(safe_file_name(".hidden"), "hidden");
        // Control and bidi-override characters go (no "gpj.exe" tricks).
        assert_eq!(safe_file_name("a\u{0}b\u{202e}c"), "abc");
        assert_eq!(safe_file_name("///"), "file");
        assert_eq!(safe_file_name(&"x".repeat(300)).len(), 100);
    }
}
