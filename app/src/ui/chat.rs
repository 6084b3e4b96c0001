//! One conversation: message bubbles (incoming and outgoing, with times, the delivery state of
//! outgoing ones, Retry when failed, the quoted message of a reply, reactions and the
//! disappearing countdown), a menu per message (reply, react, delete for me or for everyone),
//! the request banner (Accept / Delete / Block), the disappearing-messages setting, search in
//! the conversation, the peer's typing indicator and the composer (Enter sends, Shift+Enter
//! starts a new line). Message text is a text node; web links are buttons that ask first,
//! showing the site's host in punycode. Content Umbra cannot show yet (attachments, voice
//! messages, calls, invitations) is a placeholder sentence with an accessible label, plus the
//! text that came with it.

use leptos::{ev::KeyboardEvent, ev::SubmitEvent, html, prelude::*};
use umbra_ipc::{
    AFTER_READ_TIMERS_S, Command, ConversationKind, ConversationOp, ConversationsCommand,
    DeliveryState, Direction, DisappearingMode, DisappearingView, MessageKind, MessageView,
    offered_timers_s,
};

use super::attachments::{AttachButton, Attachments, Avatar, UploadTray, VoiceButton};
use super::conversations::SearchBox;
use crate::{
    browser,
    format::{self, Segment},
    state::{HomeView, OpenChat, UiState},
    worker_client::use_worker,
};

/// The quick reactions offered in a message's menu.
const QUICK_REACTIONS: [&str; 5] = ["👍", "❤️", "😂", "😮", "😢"];
/// Typing: "started" is repeated at most this often while the user types.
const TYPING_REPEAT_MS: u64 = 10_000;
/// Typing: "stopped" is sent after this long without input.
const TYPING_IDLE_MS: u64 = 5_000;

/// What the open conversation shows besides the worker's data: menus and dialogs.
#[derive(Clone, Copy)]
struct ChatUi {
    /// The message being replied to: (id, who wrote it, its text).
    reply: RwSignal<Option<(u64, String, String)>>,
    /// The message whose menu is open.
    menu: RwSignal<Option<u64>>,
    /// A delete waiting for confirmation: (id, for everyone).
    delete: RwSignal<Option<(u64, bool)>>,
    /// A link waiting for confirmation.
    link: RwSignal<Option<String>>,
    /// The disappearing-messages dialog is open.
    disappearing: RwSignal<bool>,
    /// The search box is shown.
    search: RwSignal<bool>,
    /// The clock for countdowns (ms, ticks every second).
    now: RwSignal<u64>,
}

/// The open conversation named by `conversation`.
#[component]
pub(crate) fn Chat(conversation: String) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let ui = ChatUi {
        reply: RwSignal::new(None),
        menu: RwSignal::new(None),
        delete: RwSignal::new(None),
        link: RwSignal::new(None),
        disappearing: RwSignal::new(false),
        search: RwSignal::new(false),
        now: RwSignal::new(browser::now_ms()),
    };
    provide_context(ui);
    // Countdowns and the typing indicator's timeout follow this clock.
    if let Ok(handle) = set_interval_with_handle(
        move || ui.now.set(browser::now_ms()),
        std::time::Duration::from_secs(1),
    ) {
        on_cleanup(move || handle.clear());
    }
    let title = move || {
        state
            .chat
            .with(|c| c.as_ref().map(|c| format::conversation_name(&c.summary)))
    };
    let short = format::short_id(&conversation);
    let heading = Memo::new(move |_| title().unwrap_or_else(|| short.clone()));
    // A memo, so the banner and the composer (with its typed text) are rebuilt only when the
    // kind changes, not on every pushed message.
    let kind = Memo::new(move |_| state.chat.with(|c| c.as_ref().map(|c| c.summary.kind)));
    let setting = Memo::new(move |_| {
        state.chat.with(|c| {
            c.as_ref()
                .map(|c| c.summary.disappearing)
                .unwrap_or_default()
        })
    });
    let back = move |_| {
        worker.send(Command::Conversations(ConversationsCommand::Close));
        state.search.set(None);
        state.go_home(HomeView::List);
    };
    let log = NodeRef::<html::Div>::new();
    // Scroll to the newest message whenever the list changes.
    Effect::new(move |_| {
        let count = state.chat.with(|c| c.as_ref().map_or(0, |c| c.items.len()));
        if let Some(el) = log.get() {
            request_animation_frame(move || el.set_scroll_top(el.scroll_height()));
        }
        count
    });
    // Keyed rows: a pushed change rebuilds only the bubbles whose message changed.
    let rows = move || {
        state
            .chat
            .with(|c| c.as_ref().map(OpenChat::rows).unwrap_or_default())
    };
    let p1 = conversation.clone();
    let bubble = move |(_, m): ((u64, u64), MessageView)| {
        view! { <Bubble m conversation=p1.clone() peer=heading/> }
    };
    let p2 = conversation.clone();
    let banner = move || match kind.get() {
        Some(ConversationKind::Request) => {
            Some(view! { <RequestBanner conversation=p2.clone()/> }.into_any())
        }
        Some(ConversationKind::Blocked) => {
            let p = p2.clone();
            Some(view! {
                <div class="banner" role="region" aria-label="Blocked">
                    <p>"You blocked this person. Their messages are not shown."</p>
                    <button type="button" on:click=move |_| worker.send(Command::conversation(p.clone(), ConversationOp::Unblock))>
                        "Unblock"
                    </button>
                </div>
            }.into_any())
        }
        _ => None,
    };
    // Its own memo: the composer is shown before the conversation has loaded (kind `None`)
    // and stays the same composer, with what is typed in it, once it has (kind `Accepted`).
    let writable =
        Memo::new(move |_| matches!(kind.get(), None | Some(ConversationKind::Accepted)));
    let p3 = conversation.clone();
    let composer = move || {
        writable
            .get()
            .then(|| view! { <Composer conversation=p3.clone()/> })
    };
    let p4 = conversation.clone();
    let block = move || {
        (kind.get() == Some(ConversationKind::Accepted)).then(|| {
            let p = p4.clone();
            view! {
                <button type="button" class="secondary" on:click=move |_| worker.send(Command::conversation(p.clone(), ConversationOp::Block))>
                    "Block"
                </button>
            }
        })
    };
    let naming = RwSignal::new(false);
    let deleting = RwSignal::new(false);
    let p10 = conversation.clone();
    // Asks first; deleting removes the messages here and on the other devices (synced).
    let delete_dialog = move || {
        deleting.get().then(|| {
            let p = p10.clone();
            let who = heading.get_untracked();
            view! {
                <div class="dialog" role="dialog" aria-modal="true" aria-label="Delete conversation">
                    <p>{format!("Delete your conversation with {who}? Its messages are removed from this browser and your other devices.")}</p>
                    <div class="actions">
                        <button type="button" class="danger" on:click=move |_| {
                            deleting.set(false);
                            worker.send(Command::conversation(p.clone(), ConversationOp::Delete));
                            worker.send(Command::Conversations(ConversationsCommand::Close));
                            state.search.set(None);
                            state.go_home(HomeView::List);
                        }>"Delete"</button>
                        <button type="button" class="secondary" on:click=move |_| deleting.set(false)>"Cancel"</button>
                    </div>
                </div>
            }
        })
    };
    let p9 = conversation.clone();
    // Marked unread, then closed: opening it again reads it.
    let mark_unread = move |_| {
        worker.send(Command::conversation(
            p9.clone(),
            ConversationOp::MarkUnread,
        ));
        worker.send(Command::Conversations(ConversationsCommand::Close));
        state.search.set(None);
        state.go_home(HomeView::List);
    };
    let p8 = conversation.clone();
    let nickname_form = move || {
        naming.get().then(|| {
            let current = state
                .chat
                .with_untracked(|c| c.as_ref().and_then(|c| c.summary.nickname.clone()))
                .unwrap_or_default();
            view! { <NicknameForm conversation=p8.clone() current open=naming/> }
        })
    };
    let p5 = conversation.clone();
    let search = move || {
        ui.search
            .get()
            .then(|| view! { <SearchBox conversation=Some(p5.clone())/> })
    };
    let p6 = conversation.clone();
    let typing = move || {
        let now = ui.now.get();
        let who = heading.get();
        state.typing.with(|t| match t {
            Some((p, until)) if *p == p6 && *until > now => format!("{who} is typing…"),
            _ => String::new(),
        })
    };
    let p7 = conversation.clone();
    view! {
        <section class="chat" aria-labelledby="chat-title">
            <div class="chat-head">
                <button type="button" class="secondary back" aria-label="Back to conversations" on:click=back>
                    "←"
                </button>
                <Avatar key=conversation.clone() name=Signal::from(heading)
                    label=format!("Profile picture of {}", format::short_id(&conversation))/>
                <h1 id="chat-title">{heading}</h1>
            </div>
            <div class="chat-tools actions">
                <button type="button" class="secondary" aria-pressed=move || ui.search.get().to_string()
                    on:click=move |_| ui.search.update(|s| *s = !*s)>"Search"</button>
                <button type="button" class="secondary" on:click=move |_| ui.disappearing.set(true)>
                    "Disappearing messages"
                </button>
                <button type="button" class="secondary" on:click=mark_unread>"Mark unread"</button>
                <crate::ui::call::CallButtons conversation=conversation.clone()/>
                <button type="button" class="secondary" aria-expanded=move || naming.get().to_string()
                    on:click=move |_| naming.update(|n| *n = !*n)>"Nickname"</button>
                {block}
                <button type="button" class="secondary" aria-haspopup="dialog"
                    on:click=move |_| deleting.set(true)>"Delete conversation"</button>
            </div>
            {nickname_form}
            <p class="small setting" role="status" aria-label="Disappearing messages setting">
                {move || format::disappearing_text(setting.get())}
            </p>
            <p class="small mono peer-id" aria-label="Their Account ID">{conversation.clone()}</p>
            {banner}
            {search}
            <div class="log" role="log" aria-label="Messages" node_ref=log>
                <ol class="messages">
                    <For each=rows key=|(key, _)| *key children=bubble/>
                </ol>
            </div>
            <p class="small typing" role="status" aria-label="Typing">{typing}</p>
            {composer}
            <DeleteDialog conversation=p7.clone()/>
            {delete_dialog}
            <LinkDialog/>
            <DisappearingDialog conversation=p7 current=setting/>
        </section>
    }
}

/// Sets or removes the nickname of the peer (shown instead of their display name, and
/// synced to the other devices).
#[component]
fn NicknameForm(conversation: String, current: String, open: RwSignal<bool>) -> impl IntoView {
    let worker = use_worker();
    let value = RwSignal::new(current);
    let save = move |nickname: String| {
        worker.send(Command::conversation(
            conversation.clone(),
            ConversationOp::SetNickname { nickname },
        ));
        open.set(false);
    };
    let save2 = save.clone();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        save(value.get_untracked().trim().to_owned());
    };
    view! {
        <form class="nickname" aria-label="Nickname" on:submit=submit>
            <label for="nickname">"Nickname"</label>
            <input id="nickname" type="text" maxlength="100" bind:value=value/>
            <p class="small">"Only you see it; it replaces their name on your devices."</p>
            <div class="actions">
                <button type="submit">"Save nickname"</button>
                <button type="button" class="secondary" on:click=move |_| save2(String::new())>"Remove nickname"</button>
                <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </form>
    }
}

/// One message bubble. A placeholder for content Umbra cannot show yet says what was sent
/// (with the peer's name, `peer`) and shows the text that came with it.
#[component]
fn Bubble(m: MessageView, conversation: String, peer: Memo<String>) -> impl IntoView {
    let worker = use_worker();
    let ui = expect_context::<ChatUi>();
    let outgoing = m.direction == Direction::Outgoing;
    let class = if outgoing {
        "bubble outgoing"
    } else {
        "bubble incoming"
    };
    let who = if outgoing { "You" } else { "They" };
    let state_text =
        format::delivery_text(m.state).map(|t| view! { <span class="state">{t}</span> });
    let id = m.id;
    let p_retry = conversation.clone();
    let retry = (outgoing && m.state == DeliveryState::Failed).then(|| {
        view! {
            <button type="button" class="retry" on:click=move |_| worker.send(Command::conversation(p_retry.clone(), ConversationOp::RetrySend { id }))>
                "Retry"
            </button>
        }
    });
    let state = expect_context::<UiState>();
    let p_quote = conversation.clone();
    let quote = m.quote.clone().map(|q| {
        let author = if q.author_is_me { "You" } else { "They" };
        // The quoted picture's thumbnail, from this browser's copy of the original.
        let thumb = q.id.filter(|_| q.picture).map(|qid| {
            let key = (qid, 0);
            if !state.files_asked.with_value(|s| s.contains(&key)) {
                state.files_asked.update_value(|s| {
                    s.insert(key);
                });
                worker.send(Command::conversation(
                    p_quote.clone(),
                    ConversationOp::OpenAttachment { id: qid, index: 0 },
                ));
            }
            move || {
                state
                    .files
                    .with(|f| f.get(&key).cloned())
                    .map(|src| view! { <img class="quote-thumb" src=src alt="Quoted photo"/> })
            }
        });
        let text = if q.text.is_empty() {
            "Original message not found".to_owned()
        } else {
            q.text
        };
        view! {
            <blockquote class="quote" aria-label="Quoted message">
                {thumb}
                <span class="quote-author">{author}</span>
                <span class="quote-text">{text}</span>
            </blockquote>
        }
    });
    let body = format::split_links(&m.body)
        .into_iter()
        .map(|seg| match seg {
            Segment::Text(t) => t.into_any(),
            Segment::Link(url) => {
                let u = url.clone();
                view! {
                    <button type="button" class="link" on:click=move |_| ui.link.set(Some(u.clone()))>{url}</button>
                }
                .into_any()
            }
        })
        .collect_view();
    let p_react = conversation.clone();
    let reactions = (!m.reactions.is_empty()).then(|| {
        let buttons = m
            .reactions
            .iter()
            .map(|r| {
                let emoji = r.emoji.clone();
                let p = p_react.clone();
                view! {
                    <button type="button" class="reaction" aria-pressed=r.mine.to_string()
                        on:click=move |_| worker.send(Command::conversation(p.clone(), ConversationOp::React { id, emoji: emoji.clone() }))>
                        {format!("{} {}", r.emoji, r.count)}
                    </button>
                }
            })
            .collect_view();
        view! { <div class="reactions" role="group" aria-label="Reactions">{buttons}</div> }
    });
    let countdown = m.expires_at_ms.map(|at| {
        let text = move || {
            let left = i64::try_from(at).unwrap_or(i64::MAX)
                - i64::try_from(ui.now.get()).unwrap_or(0);
            format::countdown_text(left)
        };
        view! {
            <span class="countdown" role="timer" aria-label=move || format!("Disappears in {}", text())>
                <span aria-hidden="true">"⏱ "</span>{text}
            </span>
        }
    });
    // Replying to attachments only quotes their kind ("Photo", "Voice message").
    let reply_text = match m.attachments.first() {
        Some(a) if m.body.is_empty() => format::attachment_kind_text(a.kind).to_owned(),
        _ => m.body.clone(),
    };
    let reply_who = who.to_owned();
    let p_menu = conversation.clone();
    let menu = move || {
        (ui.menu.get() == Some(id)).then(|| {
            let (rt, rw) = (reply_text.clone(), reply_who.clone());
            let reacts = QUICK_REACTIONS
                .iter()
                .map(|e| {
                    let p = p_menu.clone();
                    view! {
                        <button type="button" role="menuitem" on:click=move |_| {
                            ui.menu.set(None);
                            worker.send(Command::conversation(p.clone(), ConversationOp::React { id, emoji: (*e).to_owned() }));
                        }>{format!("React with {e}")}</button>
                    }
                })
                .collect_view();
            view! {
                <div class="menu" role="menu" aria-label="Message options">
                    <button type="button" role="menuitem" on:click=move |_| {
                        ui.menu.set(None);
                        ui.reply.set(Some((id, rw.clone(), rt.clone())));
                    }>"Reply"</button>
                    {reacts}
                    <button type="button" role="menuitem" on:click=move |_| {
                        ui.menu.set(None);
                        ui.delete.set(Some((id, false)));
                    }>"Delete for me"</button>
                    {outgoing.then(|| view! {
                        <button type="button" role="menuitem" on:click=move |_| {
                            ui.menu.set(None);
                            ui.delete.set(Some((id, true)));
                        }>"Delete for everyone"</button>
                    })}
                </div>
            }
        })
    };
    let kind = m.kind.clone();
    let placeholder = (kind != MessageKind::Text).then(|| {
        let sentence = move || {
            // "You called Alice" names the peer.
            let name = if outgoing && kind != MessageKind::OutgoingCall {
                "You".to_owned()
            } else {
                peer.get()
            };
            format::placeholder_text(&kind, &name)
        };
        let label = sentence.clone();
        view! {
            <p class="placeholder" role="note" aria-label=label>{sentence}</p>
        }
    });
    let has_body = !m.body.is_empty();
    let files = (!m.attachments.is_empty()).then(|| {
        view! { <Attachments conversation=conversation.clone() id attachments=m.attachments.clone()/> }
    });
    view! {
        <li class=class>
            <span class="sr-only">{format!("{who}: ")}</span>
            {quote}
            {placeholder}
            {files}
            {has_body.then(|| view! { <p class="body">{body}</p> })}
            {reactions}
            <button type="button" class="options" aria-label="Message options" aria-haspopup="menu"
                aria-expanded=move || (ui.menu.get() == Some(id)).to_string()
                on:click=move |_| ui.menu.update(|open| *open = if *open == Some(id) { None } else { Some(id) })>
                "⋯"
            </button>
            {menu}
            <span class="meta">
                <time datetime=browser::iso_time(m.sent_ms)>{browser::local_time(m.sent_ms, false)}</time>
                {countdown}
                {state_text}
                {retry}
            </span>
        </li>
    }
}

/// Asks before deleting a message for us only or for everyone.
#[component]
fn DeleteDialog(conversation: String) -> impl IntoView {
    let worker = use_worker();
    let ui = expect_context::<ChatUi>();
    move || {
        ui.delete.get().map(|(id, everyone)| {
            let p = conversation.clone();
            let question = if everyone {
                "Delete this message for everyone? It is removed from this browser, the other person's devices and the network."
            } else {
                "Delete this message from this browser only? The other person keeps their copy."
            };
            view! {
                <div class="dialog" role="dialog" aria-modal="true" aria-label="Delete message">
                    <p>{question}</p>
                    <div class="actions">
                        <button type="button" class="danger" on:click=move |_| {
                            ui.delete.set(None);
                            let op = if everyone {
                                ConversationOp::Unsend { id }
                            } else {
                                ConversationOp::DeleteForMe { id }
                            };
                            worker.send(Command::conversation(p.clone(), op));
                        }>"Delete"</button>
                        <button type="button" class="secondary" on:click=move |_| ui.delete.set(None)>"Cancel"</button>
                    </div>
                </div>
            }
        })
    }
}

/// Asks before opening a link from a message: the site will see the user's IP address. The
/// site's host is shown in its ASCII (punycode) form, with a warning when it has non-ASCII
/// letters that can imitate another site, and bidi controls in the address are shown as code
/// points, so the text cannot pretend to be another address.
#[component]
fn LinkDialog() -> impl IntoView {
    let ui = expect_context::<ChatUi>();
    move || {
        ui.link.get().map(|url| {
            let u = url.clone();
            let host = format::link_host(&url);
            let look_alike = host.as_ref().is_some_and(|(_, non_ascii)| *non_ascii);
            let host = host.map(|(h, _)| h);
            view! {
                <div class="dialog" role="dialog" aria-modal="true" aria-label="Open link?">
                    {host.map(|h| view! {
                        <p>"Site: "<span class="mono link-host" aria-label="Site address">{h}</span></p>
                    })}
                    {look_alike.then(|| view! {
                        <p role="alert">"This address has letters from other alphabets that can look like a familiar site. The site is the one shown above."</p>
                    })}
                    <p class="mono link-url">{format::mark_bidi(&url)}</p>
                    <p>"Opening a link leaves Umbra's onion routing: the website will see your IP address. Only open links you trust."</p>
                    <div class="actions">
                        <button type="button" on:click=move |_| {
                            ui.link.set(None);
                            browser::open_link(&u);
                        }>"Open link"</button>
                        <button type="button" class="secondary" on:click=move |_| ui.link.set(None)>"Cancel"</button>
                    </div>
                </div>
            }
        })
    }
}

/// The disappearing-messages setting: mode and timer, sent to the peer when saved.
#[component]
fn DisappearingDialog(conversation: String, current: Memo<DisappearingView>) -> impl IntoView {
    let worker = use_worker();
    let ui = expect_context::<ChatUi>();
    move || {
        ui.disappearing.get().then(|| {
            // A timer not offered (an older Umbra's 4 weeks, a peer's 10 minutes) starts the
            // menu at the nearest offered one of its mode.
            let now = current.get_untracked().nearest_offered();
            let mode = RwSignal::new(now.mode);
            let timer = RwSignal::new(if now.timer_s == 0 {
                AFTER_READ_TIMERS_S[0]
            } else {
                now.timer_s
            });
            // The timers of the chosen mode (Session's lists); after-read's while off.
            let offered = move || match mode.get() {
                DisappearingMode::Off => offered_timers_s(DisappearingMode::AfterRead),
                m => offered_timers_s(m),
            };
            let p = conversation.clone();
            let save = move |ev: SubmitEvent| {
                ev.prevent_default();
                ui.disappearing.set(false);
                let mode = mode.get_untracked();
                let timer_s = if mode == DisappearingMode::Off {
                    0
                } else {
                    timer.get_untracked()
                };
                worker.send(Command::conversation(
                    p.clone(),
                    ConversationOp::SetDisappearing {
                        setting: DisappearingView { mode, timer_s },
                    },
                ));
            };
            let radio = move |label: &'static str, id: &'static str, value: DisappearingMode| {
                view! {
                    <div class="check">
                        <input type="radio" name="dm-mode" id=id prop:checked=move || mode.get() == value
                            on:change=move |_| {
                                // Keep the timer one the new mode offers (set first: the
                                // options are drawn for the new mode with it selected).
                                let t = DisappearingView { mode: value, timer_s: timer.get_untracked() };
                                if value != DisappearingMode::Off {
                                    timer.set(t.nearest_offered().timer_s);
                                }
                                mode.set(value);
                            }/>
                        <label for=id>{label}</label>
                    </div>
                }
            };
            let options = move || {
                offered()
                    .iter()
                    .map(|&s| {
                        view! { <option value=s.to_string() selected=s == timer.get_untracked()>{format::timer_label(s)}</option> }
                    })
                    .collect_view()
            };
            view! {
                <div class="dialog" role="dialog" aria-modal="true" aria-label="Disappearing messages">
                    <form on:submit=save>
                        <fieldset>
                            <legend>"Messages in this conversation"</legend>
                            {radio("Off", "dm-off", DisappearingMode::Off)}
                            {radio("Disappear after read", "dm-read", DisappearingMode::AfterRead)}
                            {radio("Disappear after send", "dm-send", DisappearingMode::AfterSend)}
                        </fieldset>
                        <label for="dm-timer">"Timer"</label>
                        <select id="dm-timer" prop:disabled=move || mode.get() == DisappearingMode::Off
                            on:change=move |ev| {
                                if let Ok(s) = event_target_value(&ev).parse() {
                                    timer.set(s);
                                }
                            }>
                            {options}
                        </select>
                        <p class="small">"Both of you see the new setting. Messages are deleted from both browsers and from the network when their time is up."</p>
                        <div class="actions">
                            <button type="submit">"Save"</button>
                            <button type="button" class="secondary" on:click=move |_| ui.disappearing.set(false)>"Cancel"</button>
                        </div>
                    </form>
                </div>
            }
        })
    }
}

/// A message request: Accept, Delete or Block.
#[component]
fn RequestBanner(conversation: String) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    let (a, d, b) = (conversation.clone(), conversation.clone(), conversation);
    view! {
        <div class="banner" role="region" aria-label="Message request">
            <p>"This person is not in your conversations yet. Accept to reply."</p>
            <div class="actions">
                <button type="button" on:click=move |_| worker.send(Command::conversation(a.clone(), ConversationOp::AcceptRequest))>
                    "Accept"
                </button>
                <button type="button" class="secondary" on:click=move |_| {
                    worker.send(Command::conversation(d.clone(), ConversationOp::Delete));
                    worker.send(Command::Conversations(ConversationsCommand::Close));
                    state.go_home(HomeView::List);
                }>"Delete"</button>
                <button type="button" class="danger" on:click=move |_| {
                    worker.send(Command::conversation(b.clone(), ConversationOp::Block));
                    worker.send(Command::Conversations(ConversationsCommand::Close));
                    state.go_home(HomeView::List);
                }>"Block"</button>
            </div>
        </div>
    }
}

/// The message box: Enter sends, Shift+Enter adds a line. Shows the message being replied to,
/// and tells the worker when we start and stop typing.
#[component]
fn Composer(conversation: String) -> impl IntoView {
    let worker = use_worker();
    let ui = expect_context::<ChatUi>();
    let text = RwSignal::new(String::new());
    let p_files = conversation.clone();
    // When "started" was last sent (0: not typing) and when the last key was pressed.
    let typing_since = StoredValue::new(0u64);
    let last_input = StoredValue::new(0u64);
    let p_stop = conversation.clone();
    // Also called from a timer that may fire after the conversation was closed (then the
    // stored values are gone and there is nothing to stop).
    let stop_typing = move || {
        if typing_since.try_get_value().is_some_and(|t| t != 0) {
            typing_since.try_set_value(0);
            worker.send(Command::conversation(
                p_stop.clone(),
                ConversationOp::Typing { started: false },
            ));
        }
    };
    let stop2 = stop_typing.clone();
    let p_type = conversation.clone();
    let on_input = move |_| {
        let now = browser::now_ms();
        last_input.set_value(now);
        if now.saturating_sub(typing_since.get_value()) >= TYPING_REPEAT_MS {
            typing_since.set_value(now);
            worker.send(Command::conversation(
                p_type.clone(),
                ConversationOp::Typing { started: true },
            ));
        }
        let stop = stop2.clone();
        set_timeout(
            move || {
                if last_input
                    .try_get_value()
                    .is_some_and(|t| browser::now_ms().saturating_sub(t) >= TYPING_IDLE_MS)
                {
                    stop();
                }
            },
            std::time::Duration::from_millis(TYPING_IDLE_MS),
        );
    };
    let send = move || {
        let body = text.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        text.set(String::new());
        let reply_to = ui.reply.get_untracked().map(|(id, _, _)| id);
        ui.reply.set(None);
        // The message itself ends the peer's typing indicator.
        typing_since.set_value(0);
        worker.send(Command::conversation(
            conversation.clone(),
            ConversationOp::SendText { body, reply_to },
        ));
    };
    let send2 = send.clone();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        send2();
    };
    let keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    let reply = move || {
        ui.reply.get().map(|(_, who, quoted)| {
            view! {
                <div class="reply" role="region" aria-label="Reply">
                    <span class="small">{format!("Replying to {}", if who == "You" { "yourself" } else { "them" })}</span>
                    <span class="quote-text">{quoted}</span>
                    <button type="button" class="secondary" on:click=move |_| ui.reply.set(None)>"Cancel reply"</button>
                </div>
            }
        })
    };
    let reply_to = Signal::derive(move || ui.reply.get().map(|(id, _, _)| id));
    view! {
        {reply}
        <UploadTray conversation=p_files.clone()/>
        <form class="composer" on:submit=submit>
            <AttachButton conversation=p_files.clone() reply_to/>
            <VoiceButton conversation=p_files reply_to/>
            <textarea rows="2" aria-label="Message" placeholder="Message" bind:value=text
                on:keydown=keydown on:input=on_input on:blur=move |_| stop_typing()></textarea>
            <button type="submit">"Send"</button>
        </form>
    }
}
