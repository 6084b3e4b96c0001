//! The home screen of an unlocked account: the conversation list with the account card, a new
//! conversation, one conversation, or the settings — whichever [`HomeView`] says.

use leptos::prelude::*;
use umbra_ipc::{AppCommand, Command, ConversationOp, ConversationsCommand, SettingsCommand};

use super::{
    account::AccountCard, chat::Chat, conversations::ConversationList,
    new_conversation::NewConversation, settings::Settings,
};
use crate::{
    browser,
    state::{HomeView, UiState},
    worker_client::use_worker,
};

/// The unlocked account.
#[component]
pub(crate) fn Home(account_id: String) -> impl IntoView {
    let state = expect_context::<UiState>();
    let worker = use_worker();
    worker.send(Command::App(AppCommand::SetForeground {
        visible: browser::page_visible(),
    }));
    worker.send(Command::Conversations(ConversationsCommand::List));
    worker.send(Command::Conversations(ConversationsCommand::ListBlocked));
    worker.send(Command::Settings(SettingsCommand::Get));
    // A clicked notification opens its conversation.
    Effect::new(move |_| {
        if let Some(conversation) = state.open_request.get() {
            state.open_request.set(None);
            state.go_home(HomeView::Chat {
                conversation: conversation.clone(),
            });
            worker.send(Command::conversation(conversation, ConversationOp::Open));
        }
    });
    move || match state.home.get() {
        HomeView::List => view! {
            <ConversationList/>
            <AccountCard account_id=account_id.clone()/>
        }
        .into_any(),
        HomeView::NewConversation => view! { <NewConversation/> }.into_any(),
        HomeView::Chat { conversation } => view! { <Chat conversation/> }.into_any(),
        HomeView::Settings => view! { <Settings/> }.into_any(),
    }
}
