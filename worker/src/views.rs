//! What the app was last sent of the open conversation, so that a change posts only the
//! messages that changed ([`umbra_ipc::Event::MessagesChanged`]) instead of the whole page.
//!
//! The first page of a conversation after it is opened (or after [`PageTracker::reset`]) goes
//! out whole as [`umbra_ipc::Event::Messages`]; every later page of the same conversation is
//! compared with the last one, view by view. The app applies the difference with
//! [`umbra_ipc::patch_messages`], which ends in the same page as a full post would.

use std::collections::{BTreeMap, BTreeSet};

use umbra_ipc::{ConversationSummary, Event, MessageView};

/// The last page posted to the app.
#[derive(Debug, Default)]
pub struct PageTracker {
    shown: Option<Shown>,
}

#[derive(Debug)]
struct Shown {
    conversation: String,
    summary: ConversationSummary,
    views: BTreeMap<u64, MessageView>,
}

impl PageTracker {
    /// Forgets what was posted: the next page goes out whole (a conversation was opened).
    pub fn reset(&mut self) {
        self.shown = None;
    }

    /// The event that brings the app from the last posted page to this one (`items` in
    /// ascending (`sent_ms`, `id`) order), or `None` when nothing changed.
    pub fn update(
        &mut self,
        conversation: String,
        summary: ConversationSummary,
        items: Vec<MessageView>,
    ) -> Option<Event> {
        let Some(shown) = self
            .shown
            .as_mut()
            .filter(|s| s.conversation == conversation)
        else {
            self.shown = Some(Shown {
                conversation: conversation.clone(),
                summary: summary.clone(),
                views: items.iter().map(|m| (m.id, m.clone())).collect(),
            });
            return Some(Event::Messages {
                conversation,
                summary,
                items,
            });
        };
        let ids: BTreeSet<u64> = items.iter().map(|m| m.id).collect();
        let removed: Vec<u64> = shown
            .views
            .keys()
            .filter(|id| !ids.contains(id))
            .copied()
            .collect();
        let upserts: Vec<MessageView> = items
            .iter()
            .filter(|m| shown.views.get(&m.id) != Some(*m))
            .cloned()
            .collect();
        let summary = (shown.summary != summary).then_some(summary);
        shown.views = items.into_iter().map(|m| (m.id, m)).collect();
        if let Some(s) = &summary {
            shown.summary = s.clone();
        }
        if upserts.is_empty() && removed.is_empty() && summary.is_none() {
            return None;
        }
        Some(Event::MessagesChanged {
            conversation,
            summary,
            upserts,
            removed,
        })
    }
}

#[cfg(test)]
mod tests {
    use umbra_ipc::{
        ConversationKind, DeliveryState, Direction, DisappearingView, ReactionView, patch_messages,
    };

    use super::*;

    const A: &str = "05aa";
    const B: &str = "05bb";

    fn summary(conversation: &str, unread: u32) -> ConversationSummary {
        ConversationSummary {
            conversation: conversation.into(),
            display_name: None,
            kind: ConversationKind::Accepted,
            last_preview: None,
            last_time_ms: None,
            unread,
            disappearing: DisappearingView::default(),
            has_avatar: false,
            nickname: None,
            marked_unread: false,
        }
    }

    fn view(id: u64, state: DeliveryState) -> MessageView {
        MessageView {
            id,
            direction: Direction::Outgoing,
            body: format!("m{id}"),
            sent_ms: id * 10,
            state,
            quote: None,
            reactions: vec![],
            expires_at_ms: None,
            kind: Default::default(),
            attachments: Vec::new(),
        }
    }

    /// What the app shows after applying `event` to `page`.
    fn apply(page: &mut Vec<MessageView>, event: Event) {
        match event {
            Event::Messages { items, .. } => *page = items,
            Event::MessagesChanged {
                upserts, removed, ..
            } => {
                patch_messages(page, upserts, &removed);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn test_first_page_is_whole_then_only_changes() {
        let mut t = PageTracker::default();
        let page1 = vec![
            view(1, DeliveryState::Sent),
            view(2, DeliveryState::Pending),
        ];
        let mut app = Vec::new();
        let first = t.update(A.into(), summary(A, 0), page1.clone());
        assert!(matches!(first, Some(Event::Messages { .. })));
        apply(&mut app, first.expect("first"));
        assert_eq!(app, page1);
        // The same page again: nothing to post.
        assert_eq!(t.update(A.into(), summary(A, 0), page1.clone()), None);
        // One state changes, one reaction is added, a message arrives, one is deleted.
        let mut reacted = view(1, DeliveryState::Sent);
        reacted.reactions.push(ReactionView {
            emoji: "👍".into(),
            count: 1,
            mine: true,
        });
        let page2 = vec![reacted.clone(), view(3, DeliveryState::Received)];
        let change = t.update(A.into(), summary(A, 1), page2.clone());
        assert_eq!(
            change,
            Some(Event::MessagesChanged {
                conversation: A.into(),
                summary: Some(summary(A, 1)),
                upserts: vec![reacted, view(3, DeliveryState::Received)],
                removed: vec![2],
            })
        );
        apply(&mut app, change.expect("change"));
        assert_eq!(app, page2);
        // Only a state change: the summary is left out.
        let page3 = vec![page2[0].clone(), view(3, DeliveryState::Read)];
        let change = t.update(A.into(), summary(A, 1), page3.clone());
        assert_eq!(
            change,
            Some(Event::MessagesChanged {
                conversation: A.into(),
                summary: None,
                upserts: vec![view(3, DeliveryState::Read)],
                removed: vec![],
            })
        );
        apply(&mut app, change.expect("change"));
        assert_eq!(app, page3);
    }

    #[test]
    fn test_another_conversation_or_a_reset_posts_the_whole_page() {
        let mut t = PageTracker::default();
        let page = vec![view(1, DeliveryState::Sent)];
        assert!(matches!(
            t.update(A.into(), summary(A, 0), page.clone()),
            Some(Event::Messages { .. })
        ));
        assert!(matches!(
            t.update(B.into(), summary(B, 0), page.clone()),
            Some(Event::Messages { ref conversation, .. }) if conversation == B
        ));
        t.reset();
        // Re-opened: the app dropped its page, so the unchanged page goes out whole.
        assert_eq!(
            t.update(B.into(), summary(B, 0), page.clone()),
            Some(Event::Messages {
                conversation: B.into(),
                summary: summary(B, 0),
                items: page,
            })
        );
    }
}
