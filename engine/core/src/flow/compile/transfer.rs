//! `transfer` nodes, checked: whom to call (one of `to`, `sip`, `client`; a number in E.164
//! or from the environment, never a secret written in the flow), the caller id, the ring
//! timeout, the whisper message and that every outcome leads on.

use super::Compiler;
use crate::flow::fetch::{is_env_name, is_own_setting};
use crate::flow::raw::{RawMessages, RawNode};
use crate::flow::transfer::{
    is_e164, Target, Transfer, TransferNext, Value, DEFAULT_TIMEOUT_SECS, MAX_TIMEOUT_SECS,
    MIN_TIMEOUT_SECS, OUTCOMES,
};
use crate::flow::NodeId;

impl Compiler<'_> {
    pub(super) fn transfer_node(&mut self, name: &str, p: &str, node: &RawNode) -> Transfer {
        let RawNode::Transfer {
            to,
            sip,
            client,
            caller_id,
            timeout,
            say,
            whisper,
            check,
            webhook,
            next,
        } = node
        else {
            unreachable!("transfer_node is called for transfer nodes")
        };
        let at = |field: &str| format!("{p}/{field}");
        let node_name = Some(name);

        let given: Vec<(&str, &String)> = [("to", to), ("sip", sip), ("client", client)]
            .into_iter()
            .filter_map(|(field, value)| value.as_ref().map(|v| (field, v)))
            .collect();
        let target = match given.as_slice() {
            [] => {
                let position = self.spans.key(p);
                self.error_at(
                    position,
                    node_name,
                    "a transfer needs someone to call: `to: \"+4930…\"` (or `to: ${env:SHOP_PHONE}`), `sip: sip:desk@example.com` or `client: desk`".into(),
                );
                Target::Number(Value::Literal(String::new()))
            }
            [(field, value), rest @ ..] => {
                for (other, _) in rest {
                    self.error(
                        &at(other),
                        node_name,
                        format!("a transfer calls one of `to`, `sip`, `client`: `{field}` is given already (remove `{other}`)"),
                    );
                }
                let value = self.dial_value(&at(field), name, value);
                match *field {
                    "to" => {
                        self.check_number(&at("to"), name, &value, "to");
                        Target::Number(value)
                    }
                    "sip" => {
                        if let Value::Literal(uri) = &value {
                            if !uri.to_ascii_lowercase().starts_with("sip:") || uri.len() < 5 {
                                self.error(
                                    &at("sip"),
                                    node_name,
                                    format!("`{uri}` is not a SIP address: write `sip:desk@example.com`"),
                                );
                            }
                        }
                        Target::Sip(value)
                    }
                    _ => {
                        if let Value::Literal(identity) = &value {
                            let ok = !identity.is_empty()
                                && identity.len() <= 121
                                && identity
                                    .chars()
                                    .all(|c| c.is_ascii_alphanumeric() || "_-.@".contains(c));
                            if !ok {
                                self.error(
                                    &at("client"),
                                    node_name,
                                    format!("`{identity}` is not a Twilio client identity: letters, digits, `_`, `-`, `.`, `@` (e.g. `desk`)"),
                                );
                            }
                        }
                        Target::Client(value)
                    }
                }
            }
        };

        let caller_id = caller_id.as_ref().map(|text| {
            let value = self.dial_value(&at("caller_id"), name, text);
            self.check_number(&at("caller_id"), name, &value, "caller_id");
            value
        });

        let timeout_secs = timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
        if !(MIN_TIMEOUT_SECS..=MAX_TIMEOUT_SECS).contains(&timeout_secs) {
            self.error(
                &at("timeout"),
                node_name,
                format!(
                    "timeout {timeout_secs} is out of range: Twilio lets a phone ring {MIN_TIMEOUT_SECS} to {MAX_TIMEOUT_SECS} seconds (default {DEFAULT_TIMEOUT_SECS})"
                ),
            );
        }

        let say = say
            .as_ref()
            .map(|m| self.messages(node_name, &at("say"), m))
            .unwrap_or_default();
        let whisper = whisper.as_ref().map(|id| {
            self.messages(node_name, &at("whisper"), &RawMessages::One(id.clone()));
            id.clone()
        });

        let missing_at = if self.spans.has(&at("next")) {
            self.spans.key(&at("next"))
        } else {
            self.spans.key(p)
        };
        if *check {
            return self.transfer_check(name, p, node, target, missing_at);
        }
        let webhook = match webhook {
            Some(webhook) => webhook.clone(),
            None => {
                let position = self.spans.key(p);
                self.error_at(
                    position,
                    node_name,
                    "a transfer needs `webhook: <name>`: Twilio posts the dial's outcome there (or `check: true` to dial nothing and only ask whether the call could be put through)".into(),
                );
                String::new()
            }
        };
        if next.ready.is_some() {
            self.error(
                &at("next/ready"),
                node_name,
                "`ready` is the outcome of a check: add `check: true`, or use `answered`, `busy`, `no_answer` and `failed`".into(),
            );
        }
        let targets = [&next.answered, &next.busy, &next.no_answer, &next.failed];
        let mut resolved = [NodeId(0); 4];
        for (i, (outcome, target)) in OUTCOMES.iter().zip(targets).enumerate() {
            let hint = if *outcome == "answered" {
                " (the bridged call is over then: usually a hangup)"
            } else {
                " (e.g. a voicemail or a message and back to the menu)"
            };
            let tail = format!(
                "{hint}; a transfer goes on from each of {}",
                OUTCOMES.join(", ")
            );
            if let Some(node) =
                self.outcome_target(name, p, outcome, target.as_ref(), missing_at, &tail)
            {
                resolved[i] = node;
            }
        }
        let not_configured = match &next.not_configured {
            Some(target) => self.target(
                name,
                "next.not_configured",
                &format!("{p}/next/not_configured"),
                target,
            ),
            None => resolved[3],
        };
        Transfer {
            target,
            caller_id,
            timeout_secs,
            say,
            whisper,
            webhook,
            check: None,
            next: TransferNext {
                answered: resolved[0],
                busy: resolved[1],
                no_answer: resolved[2],
                failed: resolved[3],
                not_configured,
            },
        }
    }

    /// A `check: true` transfer: it dials nothing, so only its target matters, and it goes
    /// on to `next.ready` or `next.not_configured`; what belongs to a dial is refused by name.
    fn transfer_check(
        &mut self,
        name: &str,
        p: &str,
        node: &RawNode,
        target: Target,
        missing_at: crate::diagnostics::Position,
    ) -> Transfer {
        let RawNode::Transfer {
            caller_id,
            timeout,
            say,
            whisper,
            webhook,
            next,
            ..
        } = node
        else {
            unreachable!("transfer_check is called for transfer nodes")
        };
        let dial_only = [
            ("caller_id", caller_id.is_some()),
            ("timeout", timeout.is_some()),
            ("say", say.is_some()),
            ("whisper", whisper.is_some()),
            ("webhook", webhook.is_some()),
            ("next/answered", next.answered.is_some()),
            ("next/busy", next.busy.is_some()),
            ("next/no_answer", next.no_answer.is_some()),
            ("next/failed", next.failed.is_some()),
        ];
        for (field, given) in dial_only {
            if given {
                let shown = field.trim_start_matches("next/");
                self.error(
                    &format!("{p}/{field}"),
                    Some(name),
                    format!("a check (`check: true`) dials nothing: remove `{shown}`; it goes on to `ready` or `not_configured`"),
                );
            }
        }
        let tail = "; a check goes on from each of ready, not_configured";
        let ready = self.outcome_target(name, p, "ready", next.ready.as_ref(), missing_at, tail);
        let not_configured = self.outcome_target(
            name,
            p,
            "not_configured",
            next.not_configured.as_ref(),
            missing_at,
            tail,
        );
        let ready = ready.unwrap_or(NodeId(0));
        let not_configured = not_configured.unwrap_or(NodeId(0));
        Transfer {
            target,
            caller_id: None,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            say: Vec::new(),
            whisper: None,
            webhook: String::new(),
            check: Some(ready),
            next: TransferNext {
                answered: ready,
                busy: not_configured,
                no_answer: not_configured,
                failed: not_configured,
                not_configured,
            },
        }
    }

    /// A literal, or `${env:NAME}` with a name the environment may hold (not Liza's own).
    fn dial_value(&mut self, pointer: &str, name: &str, text: &str) -> Value {
        let value = Value::parse(text);
        match &value {
            Value::Env(env) if !is_env_name(env) => self.error(
                pointer,
                Some(name),
                format!("`${{env:{env}}}`: an environment variable's name is upper-case letters, digits and `_` (e.g. `SHOP_PHONE`)"),
            ),
            Value::Env(env) if is_own_setting(env) => self.error(
                pointer,
                Some(name),
                format!("`${{env:{env}}}` is one of Liza's own settings; a flow may not use it (give the number a name of its own, e.g. `SHOP_PHONE`)"),
            ),
            Value::Literal(text) if text.contains("${") => self.error(
                pointer,
                Some(name),
                format!("`{text}`: an environment value is the whole field, written `${{env:NAME}}`"),
            ),
            _ => {}
        }
        value
    }

    fn check_number(&mut self, pointer: &str, name: &str, value: &Value, field: &str) {
        let Value::Literal(number) = value else {
            return;
        };
        if is_e164(number) {
            return;
        }
        let digits: String = number
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        let hint = if digits != *number && is_e164(&digits) {
            format!(" (did you mean `{digits}`?)")
        } else if let Some(national) = number.strip_prefix('0').filter(|n| !n.starts_with('0')) {
            let national: String = national.chars().filter(char::is_ascii_digit).collect();
            format!(" (with the country code, e.g. `+49{national}`)")
        } else {
            String::new()
        };
        self.error(
            pointer,
            Some(name),
            format!(
                "`{field}`: `{number}` is not a phone number in E.164 (`+` and the country code, no spaces){hint}; or keep it out of the flow as `${{env:SHOP_PHONE}}`"
            ),
        );
    }
}
