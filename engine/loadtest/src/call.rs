//! One caller: plays a whole call the way Twilio does and times every webhook.

use std::time::{Duration, Instant};

use quick_xml::events::Event;
use quick_xml::Reader;

use liza_core::twilio::compute_signature;

/// What the caller does next after reading a TwiML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A `<Gather>`: press keys, then Twilio posts them to `action` (the current URL if absent).
    Gather { action: Option<String> },
    /// A `<Redirect>` (reached when nothing before it waits for input).
    Redirect(String),
    /// `<Hangup/>` or the end of the document: the call is over.
    Hangup,
}

/// Reads a TwiML document as Twilio would: the first verb that waits or moves decides.
pub fn next_step(twiml: &str) -> Result<Next, String> {
    let mut reader = Reader::from_str(twiml);
    let mut saw_response = false;
    let mut in_redirect = false;
    let mut redirect = String::new();
    loop {
        match reader.read_event() {
            Err(e) => return Err(format!("invalid TwiML: {e}")),
            Ok(Event::Eof) => break,
            Ok(Event::Start(tag)) | Ok(Event::Empty(tag)) => {
                let name = tag.name();
                match name.as_ref() {
                    b"Response" => saw_response = true,
                    b"Gather" => {
                        let action = tag
                            .try_get_attribute("action")
                            .map_err(|e| format!("invalid TwiML: {e}"))?
                            .map(|a| {
                                a.unescape_value()
                                    .map(|v| v.into_owned())
                                    .map_err(|e| format!("invalid TwiML: {e}"))
                            })
                            .transpose()?;
                        return Ok(Next::Gather { action });
                    }
                    b"Hangup" | b"Reject" => return Ok(Next::Hangup),
                    b"Redirect" => in_redirect = true,
                    _ => {}
                }
            }
            Ok(Event::Text(text)) if in_redirect => {
                let decoded = text.decode().map_err(|e| format!("invalid TwiML: {e}"))?;
                redirect.push_str(
                    &quick_xml::escape::unescape(&decoded)
                        .map_err(|e| format!("invalid TwiML: {e}"))?,
                );
            }
            Ok(Event::End(tag)) if tag.name().as_ref() == b"Redirect" => {
                return Ok(Next::Redirect(redirect.trim().to_owned()));
            }
            Ok(_) => {}
        }
    }
    if saw_response {
        Ok(Next::Hangup)
    } else {
        Err("invalid TwiML: no <Response>".into())
    }
}

/// The webhook name in `…/webhook/<name>?…`.
pub fn webhook_name(url: &str) -> &str {
    let path = url.split('?').next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or("")
}

/// Where calls go and how they are signed.
pub struct Target {
    pub client: reqwest::Client,
    /// Where requests are sent: `http://127.0.0.1:5000`.
    pub url: String,
    /// What Twilio would sign: the public base URL the server knows itself by.
    pub public_url: String,
    pub auth_token: Option<String>,
    pub from: String,
    pub to: String,
    /// Requests in flight at once, at most: one permit per request, so the client holds
    /// about as many connections (see `LoadtestArgs::connections`).
    pub in_flight: tokio::sync::Semaphore,
    /// A request's time to answer, the wait for a permit included (Twilio's is 15 s).
    pub timeout: Duration,
}

/// How one caller behaves.
pub struct Script {
    /// Digits to press per gather webhook name.
    pub answers: Vec<(String, String)>,
    /// Mean time to press keys (jittered ±50 %).
    pub think: Duration,
    /// The last TwiML of a good call contains this.
    pub expect: Option<String>,
    pub max_requests: usize,
}

/// Per-request timing, reported to the collector.
pub trait Timings {
    /// A request to the webhook `webhook` (its name: `voice`, `consent`, `status`, …) took
    /// `elapsed`.
    fn request(&mut self, webhook: &str, elapsed: Duration);
}

impl Target {
    /// Splits a URL from TwiML into (where to send it, what to sign).
    fn resolve(&self, url: &str) -> Result<(String, String), String> {
        if let Some(path) = url.strip_prefix(&self.public_url) {
            Ok((format!("{}{path}", self.url), url.to_owned()))
        } else if url.starts_with('/') {
            Ok((
                format!("{}{url}", self.url),
                format!("{}{url}", self.public_url),
            ))
        } else if let Some(path) = url.strip_prefix(&self.url) {
            Ok((url.to_owned(), format!("{}{path}", self.public_url)))
        } else {
            Err(format!("TwiML points outside the target: {url}"))
        }
    }

    async fn post(
        &self,
        url: &str,
        params: &[(String, String)],
        timings: &mut (dyn Timings + Send),
    ) -> Result<String, String> {
        let (send_to, signed) = self.resolve(url)?;
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let mut request = self
            .client
            .post(&send_to)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(token) = &self.auth_token {
            request = request.header(
                "x-twilio-signature",
                compute_signature(token, &signed, params),
            );
        }
        // The clock starts before the wait for a permit: a request that waits behind the
        // others counts that wait, as it would wait in a proxy's queue, and Twilio's timeout
        // runs from then too.
        let started = Instant::now();
        let exchange = async {
            let _permit = self
                .in_flight
                .acquire()
                .await
                .map_err(|_| "the load generator is shutting down".to_owned())?;
            let response = request
                .send()
                .await
                .map_err(|e| format!("POST {send_to}: {}", super::error_chain(&e)))?;
            let status = response.status();
            let text = response
                .text()
                .await
                .map_err(|e| format!("POST {send_to}: {}", super::error_chain(&e)))?;
            Ok::<_, String>((status, text))
        };
        let (status, text) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                format!(
                    "POST {send_to}: no answer within {} s",
                    self.timeout.as_secs_f64()
                )
            })??;
        timings.request(webhook_name(&send_to), started.elapsed());
        if !status.is_success() {
            return Err(format!("POST {send_to}: HTTP {status}"));
        }
        Ok(text)
    }

    fn params(
        &self,
        call_sid: &str,
        status: &str,
        extra: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = [
            ("CallSid", call_sid),
            ("AccountSid", "AC00000000000000000000000000000000"),
            ("From", &self.from),
            ("To", &self.to),
            ("CallStatus", status),
            ("ApiVersion", "2010-04-01"),
            ("Direction", "inbound"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        params.sort();
        params
    }
}

/// Plays one call to its end; `Err` says what went wrong.
pub async fn play(
    target: &Target,
    script: &Script,
    timings: &mut (dyn Timings + Send),
) -> Result<(), String> {
    let call_sid = format!("CA{:032x}", fastrand::u128(..));
    let started = Instant::now();
    let mut url = format!("{}/webhook/voice", target.public_url);
    let mut params = target.params(&call_sid, "in-progress", &[]);
    let mut requests = 0;
    let last = loop {
        requests += 1;
        if requests > script.max_requests {
            return Err(format!(
                "call {call_sid} did not hang up after {} webhooks",
                script.max_requests
            ));
        }
        let twiml = target.post(&url, &params, timings).await?;
        match next_step(&twiml).map_err(|e| format!("{call_sid}: {e}"))? {
            Next::Hangup => break twiml,
            Next::Redirect(to) => {
                url = to;
                params = target.params(&call_sid, "in-progress", &[]);
            }
            Next::Gather { action } => {
                let action = action.unwrap_or(url);
                let name = webhook_name(&action);
                let digits = script
                    .answers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, d)| d.as_str())
                    .ok_or_else(|| format!("no scripted answer for the gather `{name}` (use --answer {name}=DIGITS)"))?;
                if !script.think.is_zero() {
                    tokio::time::sleep(script.think.mul_f64(0.5 + fastrand::f64())).await;
                }
                url = action;
                params = target.params(&call_sid, "in-progress", &[("Digits", digits)]);
            }
        }
    };
    if let Some(expected) = &script.expect {
        if !last.contains(expected.as_str()) {
            let last: String = last.split_whitespace().collect::<Vec<_>>().join(" ");
            let shown: String = last.chars().take(240).collect();
            return Err(format!(
                "call {call_sid} ended without `{expected}`: {shown}"
            ));
        }
    }
    let duration = started.elapsed().as_secs().to_string();
    let params = target.params(&call_sid, "completed", &[("CallDuration", &duration)]);
    target
        .post(
            &format!("{}/webhook/status", target.public_url),
            &params,
            timings,
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_verb_that_decides() {
        let gather = r##"<?xml version="1.0" encoding="UTF-8"?><Response><Gather input="dtmf" action="https://x.test/webhook/order?seq=2&amp;a=b" method="POST"><Say>Hi</Say></Gather><Redirect method="POST">https://x.test/webhook/order?seq=2</Redirect></Response>"##;
        assert_eq!(
            next_step(gather),
            Ok(Next::Gather {
                action: Some("https://x.test/webhook/order?seq=2&a=b".into())
            })
        );
        assert_eq!(
            next_step("<Response><Say>x</Say><Redirect>/webhook/a?seq=1</Redirect></Response>"),
            Ok(Next::Redirect("/webhook/a?seq=1".into()))
        );
        assert_eq!(
            next_step("<Response><Say>Bye</Say><Hangup/></Response>"),
            Ok(Next::Hangup)
        );
        assert_eq!(next_step("<Response/>"), Ok(Next::Hangup));
        assert!(next_step("<html>oops</html>").is_err());
        assert!(next_step("<Response><Say>x</Response>").is_err());
        assert_eq!(
            webhook_name("https://x.test/webhook/order_confirm?seq=3"),
            "order_confirm"
        );
    }
}
