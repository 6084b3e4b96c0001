//! Attachments in a conversation: how each kind is shown (pictures inline with a full view,
//! video and audio with the browser's player, voice messages with duration and scrub bar,
//! other files as name, size and type with an explicit Save), their download state, the
//! "attach a file" button and the tray of files being sent (progress, cancel, retry).
//!
//! The bytes come from the worker ([`ConversationOp::OpenAttachment`]) and are shown through
//! `blob:` URLs typed with the worker's allow-listed MIME type: a file is never rendered as
//! HTML, and a file that is not a picture, a video or audio is only ever saved.

use leptos::{html, prelude::*};
use umbra_ipc::{
    AttachmentAvailability, AttachmentKind, AttachmentView, Command, ConversationOp, ErrorCode,
    UploadState,
};

use crate::{
    browser, format,
    state::{PendingFile, UiState},
    worker_client::use_worker,
};

/// Largest file the composer sends (Session's limit, as the worker enforces it).
pub(crate) const MAX_FILE_BYTES: usize = 10_000_000;

/// The attachments of message `id`.
#[component]
pub(crate) fn Attachments(
    conversation: String,
    id: u64,
    attachments: Vec<AttachmentView>,
) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let items = attachments
        .into_iter()
        .map(|a| {
            let key = (id, a.index);
            if a.availability == AttachmentAvailability::Stored
                && !state.files_asked.with_value(|s| s.contains(&key))
            {
                state.files_asked.update_value(|s| {
                    s.insert(key);
                });
                worker.send(Command::conversation(
                    conversation.clone(),
                    ConversationOp::OpenAttachment { id, index: a.index },
                ));
            }
            view! { <Attachment conversation=conversation.clone() id a/> }
        })
        .collect_view();
    view! { <div class="attachments" role="group" aria-label="Attachments">{items}</div> }
}

#[component]
fn Attachment(conversation: String, id: u64, a: AttachmentView) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let key = (id, a.index);
    let url = move || state.files.with(|f| f.get(&key).cloned());
    let size = format::file_size(a.size);
    let name = a.file_name.clone();
    let what = format::attachment_kind_text(a.kind);
    let label = format!("{what}: {name}, {size}");
    let full = RwSignal::new(false);
    let status = match a.availability {
        AttachmentAvailability::Remote => {
            let p = conversation.clone();
            Some(view! {
                <button type="button" class="secondary" on:click=move |_| worker.send(Command::conversation(p.clone(), ConversationOp::DownloadAttachments { id }))>
                    {format!("Download {what} ({size})")}
                </button>
            }.into_any())
        }
        AttachmentAvailability::Downloading => Some(view! {
            <span role="progressbar" aria-label=format!("Downloading {name}") class="small">"Downloading…"</span>
        }.into_any()),
        AttachmentAvailability::Failed { code } => {
            let p = conversation.clone();
            Some(view! {
                <span class="small" role="note">{code.message()}</span>
                <button type="button" class="secondary" on:click=move |_| worker.send(Command::conversation(p.clone(), ConversationOp::DownloadAttachments { id }))>
                    "Try again"
                </button>
            }.into_any())
        }
        AttachmentAvailability::Stored => None,
    };
    let (kind, file_name, content_type) = (a.kind, a.file_name.clone(), a.content_type.clone());
    let l2 = label.clone();
    let shown = move || {
        let url = url()?;
        let l = l2.clone();
        Some(match kind {
            AttachmentKind::Image => view! {
                <button type="button" class="thumb" aria-label=format!("View {l}") on:click=move |_| full.set(true)>
                    <img src=url.clone() alt=l.clone()/>
                </button>
                {move || full.get().then(|| view! {
                    <div class="dialog viewer" role="dialog" aria-modal="true" aria-label="Photo">
                        <img src=url.clone() alt=l.clone()/>
                        <button type="button" on:click=move |_| full.set(false)>"Close"</button>
                    </div>
                })}
            }
            .into_any(),
            // A codec Chromium cannot play still leaves the file to save.
            AttachmentKind::Video => view! {
                <video controls=true preload="metadata" src=url.clone() aria-label=l></video>
                <a class="file-save" href=url download=file_name.clone()>{format!("Save {}", file_name)}</a>
            }
            .into_any(),
            AttachmentKind::Audio | AttachmentKind::Voice => {
                view! { <audio controls=true preload="metadata" src=url aria-label=l></audio> }.into_any()
            }
            AttachmentKind::File => view! {
                <a class="file-save" href=url download=file_name.clone() type=content_type.clone()>
                    {format!("Save {}", file_name)}
                </a>
            }
            .into_any(),
        })
    };
    view! {
        <figure class="attachment" aria-label=label.clone()>
            {shown}
            <figcaption class="small">{format!("{what} · {name} · {size}")}</figcaption>
            {status}
        </figure>
    }
}

/// The "attach a file" button and the tray of files being sent to `conversation`.
#[component]
pub(crate) fn AttachButton(conversation: String, reply_to: Signal<Option<u64>>) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let input = NodeRef::<html::Input>::new();
    let next = StoredValue::new(browser::now_ms());
    let p = conversation.clone();
    let picked = move |_| {
        let Some(el) = input.get() else {
            return;
        };
        let p = p.clone();
        let p_err = p.clone();
        browser::read_picked_file(
            &el,
            MAX_FILE_BYTES,
            move |name| {
                let upload = next.get_value();
                next.set_value(upload + 1);
                state.uploads.update(|u| {
                    u.push(crate::state::UploadItem {
                        conversation: p_err.clone(),
                        upload,
                        name,
                        state: UploadState::Failed {
                            code: ErrorCode::FileTooLarge,
                        },
                    })
                });
            },
            move |name, content_type, bytes| {
                let upload = next.get_value();
                next.set_value(upload + 1);
                let file = PendingFile {
                    name,
                    content_type,
                    voice: false,
                    bytes,
                };
                send_file(state, worker, &p, upload, file, reply_to.get_untracked());
            },
        );
    };
    view! {
        <label class="attach button secondary" for="attach-file">"Attach"</label>
        <input id="attach-file" class="sr-only" type="file" aria-label="Attach a file" node_ref=input on:change=picked/>
    }
}

/// Sends `file` as upload `upload` (kept for a retry until done).
pub(crate) fn send_file(
    state: UiState,
    worker: crate::worker_client::WorkerClient,
    conversation: &str,
    upload: u64,
    file: PendingFile,
    reply_to: Option<u64>,
) {
    let op = ConversationOp::SendFile {
        upload,
        name: file.name.clone(),
        content_type: file.content_type.clone(),
        voice: file.voice,
        caption: String::new(),
        reply_to,
        bytes: file.bytes.clone(),
    };
    state.uploads.update(|u| {
        u.retain(|x| x.upload != upload);
        u.push(crate::state::UploadItem {
            conversation: conversation.to_owned(),
            upload,
            name: file.name.clone(),
            state: UploadState::Preparing,
        });
    });
    state.pending_files.update_value(|p| {
        p.insert(upload, file);
    });
    worker.send(Command::conversation(conversation.to_owned(), op));
}

/// Files on their way to `conversation`: progress, Cancel, and Retry after a failure.
#[component]
pub(crate) fn UploadTray(conversation: String) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let c = conversation.clone();
    let items = move || {
        state.uploads.with(|u| {
            u.iter()
                .filter(|x| x.conversation == c)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let row = move |item: crate::state::UploadItem| {
        let upload = item.upload;
        let p = conversation.clone();
        let (text, busy) = match item.state {
            UploadState::Preparing => ("Preparing…".to_owned(), true),
            UploadState::Uploading { bytes } => {
                (format!("Uploading {}…", format::file_size(bytes)), true)
            }
            UploadState::Done => ("Sent".to_owned(), false),
            UploadState::Failed { code } => (code.message(), false),
        };
        let action = if busy {
            view! {
                <button type="button" class="secondary" on:click=move |_| {
                    worker.send(Command::conversation(p.clone(), ConversationOp::CancelUpload { upload }));
                    state.uploads.update(|u| u.retain(|x| x.upload != upload));
                    state.pending_files.update_value(|f| { f.remove(&upload); });
                }>"Cancel"</button>
            }
            .into_any()
        } else {
            let can_retry = state.pending_files.with_value(|f| f.contains_key(&upload));
            let p2 = p.clone();
            view! {
                {can_retry.then(|| view! {
                    <button type="button" on:click=move |_| {
                        if let Some(file) = state.pending_files.with_value(|f| f.get(&upload).cloned()) {
                            send_file(state, worker, &p2, upload, file, None);
                        }
                    }>"Retry"</button>
                })}
                <button type="button" class="secondary" on:click=move |_| {
                    state.uploads.update(|u| u.retain(|x| x.upload != upload));
                    state.pending_files.update_value(|f| { f.remove(&upload); });
                }>"Dismiss"</button>
            }
            .into_any()
        };
        view! {
            <li class="upload">
                <span class="mono">{item.name.clone()}</span>
                {if busy {
                    view! { <span role="progressbar" aria-label=format!("Sending {}", item.name)>{text}</span> }.into_any()
                } else {
                    view! { <span role="status">{text}</span> }.into_any()
                }}
                {action}
            </li>
        }
    };
    view! {
        <ul class="uploads" aria-label="Files being sent">
            <For each=items key=|x| (x.upload, format!("{:?}", x.state)) children=row/>
        </ul>
    }
}

/// Longest voice message recorded (Session's clients stop at a few minutes; 5 min of MP3 at
/// 64 kb/s is 2.4 MB).
const MAX_VOICE_MS: u64 = 5 * 60 * 1000;

/// Tap to record a voice message, then send or cancel; a timer shows its length. The
/// recording is decoded here to PCM and encoded as MP3 by the worker (what every Session
/// client plays).
#[component]
pub(crate) fn VoiceButton(conversation: String, reply_to: Signal<Option<u64>>) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    // When the recording started (ms), while recording.
    let started = RwSignal::new(None::<u64>);
    let now = RwSignal::new(browser::now_ms());
    let recorder = StoredValue::new_local(None::<browser::VoiceRecorder>);
    let next = StoredValue::new(browser::now_ms() * 2);
    if let Ok(handle) = set_interval_with_handle(
        move || now.set(browser::now_ms()),
        std::time::Duration::from_millis(250),
    ) {
        on_cleanup(move || handle.clear());
    }
    on_cleanup(move || {
        if let Some(r) = recorder.try_update_value(Option::take).flatten() {
            r.cancel();
        }
    });
    let start = move |_| {
        wasm_bindgen_futures::spawn_local(async move {
            match browser::VoiceRecorder::start().await {
                Ok(r) => {
                    recorder.set_value(Some(r));
                    started.set(Some(browser::now_ms()));
                }
                Err(_) => state.error.set(Some(ErrorCode::MicrophoneUnavailable)),
            }
        });
    };
    let cancel = move |_| {
        started.set(None);
        if let Some(r) = recorder.try_update_value(Option::take).flatten() {
            r.cancel();
        }
    };
    let p = conversation.clone();
    let finish = move || {
        started.set(None);
        let Some(r) = recorder.try_update_value(Option::take).flatten() else {
            return;
        };
        let p = p.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match r.finish().await {
                Ok((rate, pcm)) => {
                    let upload = next.get_value();
                    next.set_value(upload + 1);
                    let file = PendingFile {
                        name: "voice-message.mp3".into(),
                        content_type: format!("audio/L16;rate={rate}"),
                        voice: true,
                        bytes: pcm,
                    };
                    send_file(state, worker, &p, upload, file, reply_to.get_untracked());
                }
                Err(_) => state.error.set(Some(ErrorCode::MicrophoneUnavailable)),
            }
        });
    };
    let f2 = finish.clone();
    // Stop at the longest length.
    Effect::new(move |_| {
        if let Some(at) = started.get()
            && now.get().saturating_sub(at) >= MAX_VOICE_MS
        {
            f2();
        }
    });
    let elapsed = move || {
        started
            .get()
            .map(|at| format::elapsed_text(now.get().saturating_sub(at)))
            .unwrap_or_default()
    };
    view! {
        {move || match started.get() {
            None => view! {
                <button type="button" class="secondary" aria-label="Record voice message" on:click=start>"🎤"</button>
            }.into_any(),
            Some(_) => {
                let f = finish.clone();
                view! {
                    <span class="recording" role="timer" aria-label=move || format!("Recording {}", elapsed())>
                        <span aria-hidden="true">"● "</span>{elapsed}
                    </span>
                    <button type="button" on:click=move |_| f()>"Send voice message"</button>
                    <button type="button" class="secondary" on:click=cancel>"Cancel recording"</button>
                }.into_any()
            }
        }}
    }
}

/// A round profile picture: the stored one of `key` (a conversation reference, or `""` for
/// ours), else a placeholder with the name's initial. `label` names it for screen readers
/// (empty: decorative, when the name is written next to it).
#[component]
pub(crate) fn Avatar(key: String, name: Signal<String>, label: String) -> impl IntoView {
    let state = expect_context::<UiState>();
    let k = key.clone();
    let url = move || state.avatars.with(|a| a.get(&k).cloned());
    // A stable colour per key, from the stylesheet (the CSP allows no inline style).
    let tone = key
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 8;
    move || match url() {
        Some(src) => view! { <img class="avatar" src=src alt=label.clone()/> }.into_any(),
        None => {
            let l = label.clone();
            view! {
                <span class=format!("avatar placeholder tone{tone}")
                    role=(!l.is_empty()).then_some("img") aria-label=(!l.is_empty()).then_some(l)
                    aria-hidden=label.is_empty().then_some("true")>
                    {move || format::initial(&name.get())}
                </span>
            }
            .into_any()
        }
    }
}

/// Our profile picture in Settings: shown, changed (any picture; it is cropped to a square)
/// or removed.
#[component]
pub(crate) fn ProfilePictureSetting() -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let input = NodeRef::<html::Input>::new();
    let name = Signal::derive(move || state.display_name.get().unwrap_or_default());
    let picked = move |_| {
        let Some(el) = input.get() else {
            return;
        };
        browser::read_picked_file(
            &el,
            MAX_FILE_BYTES,
            move |_| state.error.set(Some(ErrorCode::FileTooLarge)),
            move |_, content_type, bytes| {
                worker.send(Command::Account(umbra_ipc::AccountCommand::SetAvatar {
                    content_type,
                    bytes,
                }));
            },
        );
    };
    let has = move || state.avatars.with(|a| a.contains_key(""));
    view! {
        <section aria-labelledby="avatar-title">
            <h2 id="avatar-title">"Profile picture"</h2>
            <div class="avatar-setting">
                <Avatar key=String::new() name label="Your profile picture".into()/>
                <label class="button secondary attach" for="avatar-file">"Choose picture"</label>
                <input id="avatar-file" class="sr-only" type="file" accept="image/*"
                    aria-label="Choose a profile picture" node_ref=input on:change=picked/>
                {move || has().then(|| view! {
                    <button type="button" class="secondary" on:click=move |_| {
                        worker.send(Command::Account(umbra_ipc::AccountCommand::SetAvatar {
                            content_type: String::new(),
                            bytes: Vec::new(),
                        }));
                    }>"Remove picture"</button>
                })}
            </div>
            <p class="small">"Sent, encrypted, with your display name and messages to the people you write to (Session shares a picture only with a name); a picture is cropped to a square and its metadata removed."</p>
        </section>
    }
}
