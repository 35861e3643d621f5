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

        let targets = [&next.answered, &next.busy, &next.no_answer, &next.failed];
        let mut resolved = [NodeId(0); 4];
        let missing_at = if self.spans.has(&at("next")) {
            self.spans.key(&at("next"))
        } else {
            self.spans.key(p)
        };
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
            webhook: webhook.clone(),
            next: TransferNext {
                answered: resolved[0],
                busy: resolved[1],
                no_answer: resolved[2],
                failed: resolved[3],
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
