//! Profile pictures (docs/protocol.md §5.4): ours is cropped and re-encoded here, encrypted
//! under a fresh profile key (AES-256-GCM, as session-desktop's `profileEncrypter.ts`),
//! uploaded through an onion path to the file server, and then travels as
//! `LokiProfile.profilePicture` + `profileKey` with our messages. Peers' pictures are fetched
//! the same way when their (newer) profile names a new one, authenticated by the key, checked
//! to be a picture, and kept sealed in the message database.

use rand_core::CryptoRng;
use umbra_ipc::{ErrorCode, Event};
use umbra_protocol::{
    address::ConversationId,
    attachment::{
        MAX_ATTACHMENT_BYTES,
        fileserver::{self},
        profile::{decrypt_profile_picture, encrypt_profile_picture, new_profile_key},
    },
    client::{ServerReply, ServerRequestError},
    message::ProfilePicture,
    store::MessageDb,
};

use super::{Cx, Messenger, OWN_AVATAR_RECORD, PROFILE_RECORD, Profile, db_error, save_json};
use crate::media;

impl Messenger {
    /// Posts our picture (none if not set).
    pub async fn post_own_avatar<R: CryptoRng>(&self, cx: &mut Cx<'_, R>) {
        let bytes = match self.convo.picture() {
            Some(_) => cx
                .vault
                .get_record(cx.store, OWN_AVATAR_RECORD)
                .await
                .ok()
                .flatten()
                .map(|b| b.to_vec())
                .unwrap_or_default(),
            None => Vec::new(),
        };
        (cx.post)(&Event::Avatar {
            conversation: None,
            bytes,
        });
    }

    /// Sets our picture from `bytes` (uploaded first; the profile changes once it is there),
    /// or removes it (`bytes` empty).
    pub async fn set_avatar<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), ErrorCode> {
        if bytes.is_empty() {
            self.files.avatar_upload = None;
            self.save_picture(cx, None).await?;
            cx.vault
                .delete_record(cx.store, OWN_AVATAR_RECORD)
                .await
                .map_err(super::store_error)?;
            self.post_own_avatar(cx).await;
            return Ok(());
        }
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(ErrorCode::FileTooLarge);
        }
        let picture = media::prepare_avatar(&bytes, content_type)
            .await
            .map_err(|_| ErrorCode::InvalidFile)?;
        let server = self.upload_server().ok_or(ErrorCode::UploadFailed)?;
        let key = new_profile_key(cx.rng);
        let blob = encrypt_profile_picture(&picture.bytes, &key, cx.rng)
            .map_err(|_| ErrorCode::FileTooLarge)?;
        let tag = self.files.tag();
        self.server_request(cx, tag, &server, server.upload(blob, None))?;
        self.files.avatar_upload = Some((tag, key, picture.bytes));
        self.run_actions(cx).await;
        Ok(())
    }

    async fn save_picture<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        picture: Option<ProfilePicture>,
    ) -> Result<(), ErrorCode> {
        // Network time, as for a new name: peers apply the newer profile.
        let updated_s = self.client.network_time_ms(crate::net::now_ms()) / 1000;
        save_json(
            cx,
            PROFILE_RECORD,
            &Profile {
                display_name: self.display_name.clone(),
                updated_s,
                picture: picture.clone(),
            },
        )
        .await?;
        self.convo.set_picture(picture, updated_s);
        self.sync_picture(cx).await;
        Ok(())
    }

    /// Another device set the own picture (`None`: removed it), as the UserProfile config
    /// says: fetched, then shown and sent like one set here. A picture that does not come or
    /// does not open leaves the current one (the next change tries again).
    pub(super) async fn own_picture_synced<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        picture: Option<ProfilePicture>,
    ) {
        let Some(picture) = picture else {
            let removed = async {
                self.save_picture(cx, None).await?;
                cx.vault
                    .delete_record(cx.store, OWN_AVATAR_RECORD)
                    .await
                    .map_err(super::store_error)
            };
            match removed.await {
                Ok(()) => self.post_own_avatar(cx).await,
                Err(code) => (cx.post)(&Event::Error { code }),
            }
            return;
        };
        // Sent by the action loop this is called from.
        let own = ConversationId::Direct(cx.vault.account_id());
        self.fetch_avatar(cx, own, picture);
    }

    /// Starts fetching `picture` for `conversation` (the own account's id: the own picture)
    /// unless it is already under way.
    fn fetch_avatar<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        conversation: ConversationId,
        picture: ProfilePicture,
    ) {
        if self
            .files
            .avatar_downloads
            .values()
            .any(|(c, p)| *c == conversation && *p == picture)
        {
            return;
        }
        let Ok(file) = fileserver::resolve_url(&picture.url, &self.file_servers()) else {
            return;
        };
        let tag = self.files.tag();
        let req = file.server.download(&file.id);
        if self.server_request(cx, tag, &file.server, req).is_ok() {
            self.files
                .avatar_downloads
                .insert(tag, (conversation, picture));
        }
    }

    pub(super) async fn on_avatar_uploaded<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        result: Result<ServerReply, ServerRequestError>,
    ) {
        let Some((_, key, bytes)) = self.files.avatar_upload.take() else {
            return;
        };
        let uploaded = result
            .ok()
            .and_then(|reply| fileserver::parse_upload(&reply).ok());
        let (Some(uploaded), Some(server)) = (uploaded, self.upload_server()) else {
            (cx.post)(&Event::Error {
                code: ErrorCode::UploadFailed,
            });
            return;
        };
        let picture = ProfilePicture {
            url: server.file_url(&uploaded.id, false),
            key: key.to_vec(),
        };
        self.store_own_avatar(cx, &bytes, picture).await;
    }

    /// Keeps `bytes` as the own picture (`picture` says where it is and its key), then shows
    /// it.
    async fn store_own_avatar<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        bytes: &[u8],
        picture: ProfilePicture,
    ) {
        let saved = async {
            cx.vault
                .put_record(cx.store, OWN_AVATAR_RECORD, bytes, cx.rng)
                .await
                .map_err(super::store_error)?;
            self.save_picture(cx, Some(picture)).await
        };
        match saved.await {
            Ok(()) => self.post_own_avatar(cx).await,
            Err(code) => (cx.post)(&Event::Error { code }),
        }
    }

    /// Posts the stored picture of `peer`'s conversation (none if not stored).
    pub async fn post_avatar<R: CryptoRng>(
        &self,
        cx: &mut Cx<'_, R>,
        conversation: &ConversationId,
    ) -> Result<(), ErrorCode> {
        let bytes = MessageDb::new(cx.store, cx.vault)
            .avatar_bytes(conversation)
            .await
            .map_err(db_error)?
            .map(|b| b.to_vec())
            .unwrap_or_default();
        (cx.post)(&Event::Avatar {
            conversation: Some(conversation.to_string()),
            bytes,
        });
        Ok(())
    }

    /// Starts fetching the pictures asked for (each drain, before the client's actions).
    pub(super) async fn start_avatar_downloads<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        for conversation in core::mem::take(&mut self.files.avatars_wanted) {
            let db = MessageDb::new(cx.store, cx.vault);
            let Ok(Some(conv)) = db.conversation(&conversation).await else {
                continue;
            };
            let removed = conv.avatar.is_none();
            let Some(picture) = conv.avatar.filter(|_| !conv.avatar_stored) else {
                // Removed: the app drops what it shows.
                if removed {
                    let _ = self.post_avatar(cx, &conversation).await;
                }
                continue;
            };
            self.fetch_avatar(cx, conversation, picture);
        }
    }

    pub(super) async fn on_avatar_downloaded<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        conversation: ConversationId,
        picture: ProfilePicture,
        result: Result<ServerReply, ServerRequestError>,
    ) {
        // A picture that does not come, does not open or is not a picture is not shown (the
        // placeholder stays); the next newer profile tries again.
        let Some(blob) = result
            .ok()
            .and_then(|reply| fileserver::parse_download(reply).ok())
        else {
            return;
        };
        let Ok(plain) = decrypt_profile_picture(&blob, &picture.key) else {
            return;
        };
        if !media::looks_like_picture(&plain) {
            return;
        }
        if conversation == ConversationId::Direct(cx.vault.account_id()) {
            // The own picture, set on another device.
            self.store_own_avatar(cx, &plain, picture).await;
            return;
        }
        let mut db = MessageDb::new(cx.store, cx.vault);
        match db
            .store_avatar(&conversation, &picture.url, &plain, cx.rng)
            .await
        {
            Ok(true) => {
                self.dirty_list = true;
                self.mark_dirty_conversation(&conversation);
                let _ = self.post_avatar(cx, &conversation).await;
            }
            Ok(false) => {}
            Err(e) => (cx.post)(&Event::Error { code: db_error(e) }),
        }
    }
}
