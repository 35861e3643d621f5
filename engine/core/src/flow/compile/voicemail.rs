//! `voicemail` nodes, checked: the message's length, the finish keys, the prompt, that the
//! flow can take a consent at all (a `privacy:` block), and that every outcome leads on.

use super::Compiler;
use crate::flow::raw::{RawFlow, RawNode};
use crate::flow::voicemail::{
    is_finish_keys, Voicemail, VoicemailNext, DEFAULT_MAX_LENGTH_SECS, MAX_MAX_LENGTH_SECS,
    MIN_MAX_LENGTH_SECS,
};
use crate::flow::NodeId;

impl Compiler<'_> {
    pub(super) fn voicemail_node(
        &mut self,
        raw: &RawFlow,
        name: &str,
        p: &str,
        node: &RawNode,
    ) -> Voicemail {
        let RawNode::Voicemail {
            say,
            max_length,
            finish_on_key,
            beep,
            webhook,
            next,
        } = node
        else {
            unreachable!("voicemail_node is called for voicemail nodes")
        };
        let at = |field: &str| format!("{p}/{field}");
        let node_name = Some(name);

        if raw.privacy.is_none() {
            let position = self.spans.key(p);
            self.error_at(
                position,
                node_name,
                "a voicemail records the caller only after their consent, and this flow has no `privacy:` block to ask for it (docs/privacy.md; docs/flow-language.md#voicemail)".into(),
            );
        }
        let max_length_secs = max_length.unwrap_or(DEFAULT_MAX_LENGTH_SECS);
        if !(MIN_MAX_LENGTH_SECS..=MAX_MAX_LENGTH_SECS).contains(&max_length_secs) {
            self.error(
                &at("max_length"),
                node_name,
                format!(
                    "max_length {max_length_secs} is out of range: a message lasts {MIN_MAX_LENGTH_SECS} to {MAX_MAX_LENGTH_SECS} seconds (default {DEFAULT_MAX_LENGTH_SECS})"
                ),
            );
        }
        let finish_on_key = finish_on_key.clone().unwrap_or_else(|| "#".into());
        if !is_finish_keys(&finish_on_key) {
            self.error(
                &at("finish_on_key"),
                node_name,
                format!("`{finish_on_key}` cannot end a message: write keys among 0-9, `*` and `#` (e.g. `#`)"),
            );
        }
        let prompt = say
            .as_ref()
            .map(|m| self.messages(node_name, &at("say"), m))
            .unwrap_or_default();

        let missing_at = if self.spans.has(&format!("{p}/next")) {
            self.spans.key(&format!("{p}/next"))
        } else {
            self.spans.key(p)
        };
        let mut target = |outcome: &str, given: &Option<String>, hint: &str| -> Option<NodeId> {
            self.outcome_target(
                name,
                p,
                outcome,
                given.as_ref(),
                missing_at,
                &format!(" ({hint})"),
            )
        };
        let recorded = target(
            "recorded",
            &next.recorded,
            "where the call goes once the message is recorded, e.g. a goodbye",
        )
        .unwrap_or(NodeId(0));
        let no_consent = target(
            "no_consent",
            &next.no_consent,
            "where a caller who has not consented goes: nothing is recorded for them",
        )
        .unwrap_or(NodeId(0));
        let empty = match &next.empty {
            Some(t) => self.target(name, "next.empty", &format!("{p}/next/empty"), t),
            None => recorded,
        };
        Voicemail {
            prompt,
            max_length_secs,
            finish_on_key,
            beep: beep.unwrap_or(true),
            webhook: webhook.clone(),
            next: VoicemailNext {
                recorded,
                empty,
                no_consent,
            },
        }
    }
}
