//! The Twilio stand-in: signs requests the way Twilio does, posts webhooks, follows a call
//! through the TwiML it gets back, and checks that every answer is valid TwiML.

use std::time::Duration;

use liza::twilio::compute_signature;

/// The token webhooks are signed with in tests.
pub const AUTH_TOKEN: &str = "test-auth-token-0123456789";
/// What Twilio signs with in tests (a proxy's public name; the socket is elsewhere).
pub const PUBLIC_URL: &str = "https://liza.example.com";
/// The caller of [`Twilio::start`] and of the other stories that do not name one.
pub const CALLER: &str = "+4915112345678";
/// The number callers dial.
pub const SHOP_NUMBER: &str = "+4930123456";

/// A response as a test sees it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// Posts webhooks to one Liza, signed as Twilio signs them for [`PUBLIC_URL`].
#[derive(Clone)]
pub struct Twilio {
    /// `http://127.0.0.1:PORT`, where the server listens.
    pub base: String,
    /// The URL TwiML must name (`LIZA_PUBLIC_URL`); `None` when the server has none.
    public_url: Option<String>,
    client: reqwest::Client,
}

impl Twilio {
    pub fn new(base: String, public_url: Option<&str>) -> Self {
        Self {
            base,
            public_url: public_url.map(str::to_owned),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    /// The path of `target`: a path, or an absolute URL from TwiML, which must start with
    /// the public URL when the server has one.
    pub fn path_of<'t>(&self, target: &'t str) -> &'t str {
        if let Some(path) = self
            .public_url
            .as_deref()
            .and_then(|public| target.strip_prefix(public))
        {
            return path;
        }
        if target.starts_with('/') {
            return target;
        }
        assert!(
            self.public_url.is_none(),
            "TwiML URLs use LIZA_PUBLIC_URL, not {target}"
        );
        let after_scheme = target.find("://").map_or(0, |i| i + 3);
        target[after_scheme..]
            .find('/')
            .map_or("/", |i| &target[after_scheme + i..])
    }

    /// The signature Twilio sends with `params` posted to `path_and_query`.
    pub fn sign<K: AsRef<str>, V: AsRef<str>>(path_and_query: &str, params: &[(K, V)]) -> String {
        compute_signature(
            AUTH_TOKEN,
            &format!("{PUBLIC_URL}{path_and_query}"),
            &owned(params),
        )
    }

    /// POSTs a form to `target` (a path, or a URL from TwiML), signed the way Twilio signs it.
    pub async fn post_signed<K: AsRef<str>, V: AsRef<str>>(
        &self,
        target: &str,
        params: &[(K, V)],
    ) -> Answer {
        self.try_post_signed(target, params)
            .await
            .expect("request is answered")
    }

    /// Like [`Self::post_signed`], but a connection failure is returned, not a panic.
    pub async fn try_post_signed<K: AsRef<str>, V: AsRef<str>>(
        &self,
        target: &str,
        params: &[(K, V)],
    ) -> Result<Answer, reqwest::Error> {
        let path = self.path_of(target);
        let signature = Self::sign(path, params);
        self.try_post_body(path, form_body(params), Some(&signature))
            .await
    }

    /// [`Self::post_signed`] as (status, body).
    pub async fn post<K: AsRef<str>, V: AsRef<str>>(
        &self,
        target: &str,
        params: &[(K, V)],
    ) -> (u16, String) {
        let answer = self.post_signed(target, params).await;
        (answer.status, answer.body)
    }

    /// [`Self::try_post_signed`] as (status, body).
    pub async fn try_post<K: AsRef<str>, V: AsRef<str>>(
        &self,
        target: &str,
        params: &[(K, V)],
    ) -> Result<(u16, String), reqwest::Error> {
        let answer = self.try_post_signed(target, params).await?;
        Ok((answer.status, answer.body))
    }

    /// POSTs `params` with the given signature header, or none.
    pub async fn post_raw(
        &self,
        path_and_query: &str,
        params: &[(String, String)],
        signature: Option<&str>,
    ) -> Answer {
        self.post_body(path_and_query, form_body(params), signature)
            .await
    }

    /// POSTs a form body as it is, with the given signature header, or none.
    pub async fn post_body(
        &self,
        path_and_query: &str,
        body: String,
        signature: Option<&str>,
    ) -> Answer {
        self.try_post_body(path_and_query, body, signature)
            .await
            .expect("request is answered")
    }

    async fn try_post_body(
        &self,
        path_and_query: &str,
        body: String,
        signature: Option<&str>,
    ) -> Result<Answer, reqwest::Error> {
        let mut request = self
            .client
            .post(format!("{}{path_and_query}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-twilio-signature", signature);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .unwrap_or_default();
        Ok(Answer {
            status,
            content_type,
            body: response.text().await?,
        })
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET is answered");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// POSTs Twilio's usual call parameters (and `Digits`, if any) to `path_and_query`, signed.
    pub async fn post_for_call(
        &self,
        path_and_query: &str,
        sid: &str,
        from: &str,
        digits: Option<&str>,
    ) -> Answer {
        self.post_signed(path_and_query, &call_params(sid, from, digits))
            .await
    }

    /// Starts a call from `from` as Twilio does; the [`Call`] follows its TwiML.
    pub async fn call(&self, sid: &str, from: &str) -> Call {
        let answer = self.post_for_call("/webhook/voice", sid, from, None).await;
        assert_valid_twiml(&answer);
        Call {
            twilio: self.clone(),
            sid: sid.to_owned(),
            from: from.to_owned(),
            transcript: vec![
                format!(">>> POST /webhook/voice From={from}"),
                answer.body.clone(),
            ],
            last: answer,
        }
    }

    /// The first webhook of a call from [`CALLER`]: its TwiML.
    pub async fn start(&self, call_sid: &str) -> String {
        let (status, body) = self
            .post("/webhook/voice", &call_params(call_sid, CALLER, None))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Answers the Gather in `twiml` with `digits`, for a call from [`CALLER`] (sending an
    /// earlier answer's TwiML again is what Twilio's retry does).
    pub async fn press(&self, twiml: &str, call_sid: &str, digits: &str) -> String {
        let action = gather_action(twiml).unwrap_or_else(|| panic!("no Gather in {twiml}"));
        let (status, body) = self
            .post(&action, &call_params(call_sid, CALLER, Some(digits)))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Twilio's final status callback for a call from [`CALLER`].
    pub async fn completed(&self, call_sid: &str) -> String {
        let answer = self
            .post_signed("/webhook/status", &completed_params(call_sid, CALLER, "42"))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }
}

/// A call in progress, driven by what the last TwiML asked for.
pub struct Call {
    pub twilio: Twilio,
    pub sid: String,
    pub from: String,
    pub last: Answer,
    pub transcript: Vec<String>,
}

impl Call {
    /// Presses keys at the current Gather (posts Digits to its action URL).
    pub async fn press(&mut self, digits: &str) -> &Answer {
        let url =
            attribute(&self.last.body, "Gather", "action").expect("the last answer has a Gather");
        let params = call_params(&self.sid, &self.from, Some(digits));
        self.send(&url, params, &format!("Digits={digits}")).await
    }

    /// Words the caller said: Twilio posts `SpeechResult` and its `Confidence` to the Gather's
    /// action URL.
    pub async fn say(&mut self, words: &str, confidence: &str) -> &Answer {
        let url =
            attribute(&self.last.body, "Gather", "action").expect("the last answer has a Gather");
        let mut params = call_params(&self.sid, &self.from, None);
        params.push(("SpeechResult".into(), words.into()));
        params.push(("Confidence".into(), confidence.into()));
        self.send(
            &url,
            params,
            &format!("SpeechResult={words} Confidence={confidence}"),
        )
        .await
    }

    /// Lets the Gather time out: Twilio follows the Redirect without Digits.
    pub async fn silence(&mut self) -> &Answer {
        let url =
            element_text(&self.last.body, "Redirect").expect("the last answer has a Redirect");
        let params = call_params(&self.sid, &self.from, None);
        self.send(&url, params, "(no input)").await
    }

    /// The dial of a `<Dial>` is over: Twilio posts `DialCallStatus` (and the bridged call's
    /// duration) to its action URL.
    pub async fn dial_ended(&mut self, status: &str) -> &Answer {
        let url = attribute(&self.last.body, "Dial", "action").expect("the last answer has a Dial");
        let mut params = call_params(&self.sid, &self.from, None);
        params.push(("DialCallStatus".into(), status.into()));
        let duration = if status == "completed" { "61" } else { "0" };
        params.push(("DialCallDuration".into(), duration.into()));
        params.push((
            "DialCallSid".into(),
            "CAdialled0000000000000000000000000".into(),
        ));
        self.send(&url, params, &format!("DialCallStatus={status}"))
            .await
    }

    /// The caller left a message: the `<Record>`'s action callback with the recording.
    pub async fn recorded(&mut self) -> &Answer {
        let url =
            attribute(&self.last.body, "Record", "action").expect("the last answer has a Record");
        let mut params = call_params(&self.sid, &self.from, None);
        params.push(("RecordingUrl".into(), recording_url("REvoicemail01")));
        params.push(("RecordingDuration".into(), "14".into()));
        params.push(("RecordingSid".into(), "REvoicemail01".into()));
        params.push(("Digits".into(), "#".into()));
        self.send(&url, params, "RecordingUrl=…").await
    }

    /// Twilio's recording status callback for the recording `sid` of this call (signed).
    pub async fn recording_status(&self, sid: &str, duration: &str) -> Answer {
        self.twilio
            .post_signed(
                "/webhook/recording",
                &recording_params(&self.sid, sid, duration),
            )
            .await
    }

    /// The person answered the dialled leg: Twilio asks the `<Number url>` what they hear
    /// first, on the dialled leg's own CallSid with the caller's call as `ParentCallSid`.
    pub async fn whisper(&mut self) -> Answer {
        let url = attribute(&self.last.body, "Number", "url").expect("the Dial has a whisper url");
        let path = self.twilio.path_of(&url).to_owned();
        let params = vec![
            (
                "AccountSid".to_owned(),
                "AC00000000000000000000000000000000".to_owned(),
            ),
            ("ApiVersion".into(), "2010-04-01".into()),
            (
                "CallSid".into(),
                "CAdialled0000000000000000000000000".into(),
            ),
            ("CallStatus".into(), "in-progress".into()),
            ("Direction".into(), "outbound-dial".into()),
            ("From".into(), self.from.clone()),
            ("ParentCallSid".into(), self.sid.clone()),
            ("To".into(), "+4930901899".into()),
        ];
        let answer = self.twilio.post_signed(&path, &params).await;
        assert_valid_twiml(&answer);
        self.transcript
            .push(format!(">>> POST {path} (the person answered: whisper)"));
        self.transcript.push(answer.body.clone());
        answer
    }

    async fn send(&mut self, url: &str, params: Vec<(String, String)>, label: &str) -> &Answer {
        let path = self.twilio.path_of(url).to_owned();
        let answer = self.twilio.post_signed(&path, &params).await;
        assert_valid_twiml(&answer);
        self.transcript.push(format!(">>> POST {path} {label}"));
        self.transcript.push(answer.body.clone());
        self.last = answer;
        &self.last
    }

    /// Twilio's status callback at the end of the call.
    pub async fn completed(&mut self, duration_secs: &str) -> Answer {
        let mut params = completed_params(&self.sid, &self.from, duration_secs);
        params.push(("CallbackSource".into(), "call-progress-events".into()));
        params.push(("SequenceNumber".into(), "3".into()));
        let answer = self.twilio.post_signed("/webhook/status", &params).await;
        assert_eq!(answer.status, 200);
        answer
    }

    pub fn says(&self, text: &str) -> bool {
        self.last.body.contains(text)
    }

    pub fn hung_up(&self) -> bool {
        self.last.body.contains("<Hangup/>")
    }
}

/// Where Twilio keeps a recording (its API: fetching it needs the account's credentials).
pub fn recording_url(sid: &str) -> String {
    format!("https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Recordings/{sid}")
}

/// The parameters of Twilio's recording status callback.
pub fn recording_params(call_sid: &str, sid: &str, duration: &str) -> Vec<(String, String)> {
    vec![
        (
            "AccountSid".into(),
            "AC00000000000000000000000000000000".into(),
        ),
        ("CallSid".into(), call_sid.into()),
        ("RecordingChannels".into(), "1".into()),
        ("RecordingDuration".into(), duration.into()),
        ("RecordingSid".into(), sid.into()),
        ("RecordingSource".into(), "RecordVerb".into()),
        (
            "RecordingStartTime".into(),
            "Tue, 01 Dec 2026 10:00:00 +0000".into(),
        ),
        ("RecordingStatus".into(), "completed".into()),
        ("RecordingUrl".into(), recording_url(sid)),
    ]
}

pub fn form_body<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
        .finish()
}

fn owned<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
        .collect()
}

/// The parameters Twilio sends on every voice webhook (docs/twilio.md), plus `Digits` after
/// a Gather.
pub fn call_params(sid: &str, from: &str, digits: Option<&str>) -> Vec<(String, String)> {
    let mut params = vec![
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", sid),
        ("CallStatus", "in-progress"),
        ("Called", SHOP_NUMBER),
        ("Caller", from),
        ("Direction", "inbound"),
        ("From", from),
        ("FromCountry", "DE"),
        ("To", SHOP_NUMBER),
    ];
    if let Some(d) = digits {
        params.push(("Digits", d));
    }
    owned(&params)
}

/// The status callback's parameters when the call has ended.
fn completed_params(sid: &str, from: &str, duration_secs: &str) -> Vec<(String, String)> {
    let mut params = call_params(sid, from, None);
    for (k, v) in params.iter_mut() {
        if k == "CallStatus" {
            *v = "completed".into();
        }
    }
    params.push(("CallDuration".into(), duration_secs.into()));
    params
}

pub fn new_call_sid() -> String {
    format!("CA{:032x}", fastrand::u128(..))
}

/// True when `twiml` is the apology for a technical problem (locales' `engine-error`,
/// or speech.rs's English fallback when a flow's locale has none).
pub fn is_apology(twiml: &str) -> bool {
    ["technischen Problems", "technical problem"]
        .iter()
        .any(|words| twiml.contains(words))
}

/// The `action` of the first `<Gather>`, unescaped.
pub fn gather_action(twiml: &str) -> Option<String> {
    attribute(twiml, "Gather", "action")
}

/// Asserts a 200 with well-formed TwiML and no Fluent isolation marks.
pub fn assert_valid_twiml(answer: &Answer) {
    assert_eq!(
        answer.status, 200,
        "webhook answered {}: {}",
        answer.status, answer.body
    );
    assert!(
        answer.content_type.starts_with("text/xml"),
        "content type {}",
        answer.content_type
    );
    assert!(
        answer
            .body
            .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{}",
        answer.body
    );
    assert!(
        !answer.body.contains('\u{2068}') && !answer.body.contains('\u{2069}'),
        "isolation marks in {}",
        answer.body
    );
    let mut reader = quick_xml::Reader::from_str(&answer.body);
    let mut depth = 0i32;
    let mut root = None;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) => {
                if depth == 0 {
                    root = Some(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                }
                depth += 1;
            }
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("invalid XML ({e}): {}", answer.body),
        }
    }
    assert_eq!(depth, 0, "unbalanced XML: {}", answer.body);
    assert_eq!(root.as_deref(), Some("Response"), "{}", answer.body);
}
/// An attribute of the first element named `tag`, unescaped.
pub fn attribute(xml: &str, tag: &str, name: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event().ok()? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.name().as_ref() == tag.as_bytes() =>
            {
                return e
                    .try_get_attribute(name)
                    .ok()
                    .flatten()
                    .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
            }
            quick_xml::events::Event::Eof => return None,
            _ => {}
        }
    }
}

/// A parsed TwiML node, as a reader of the document sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlItem {
    /// Element name and its attributes, sorted.
    Start(String, Vec<(String, String)>),
    End(String),
    /// Text with entities resolved; adjacent pieces merged.
    Text(String),
}

/// Parses a document into elements and text (quick-xml reports `&amp;` as its own event).
pub fn xml_items(xml: &str) -> Vec<XmlItem> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut items = Vec::new();
    let mut text = String::new();
    let flush = |text: &mut String, items: &mut Vec<XmlItem>| {
        if !text.trim().is_empty() {
            items.push(XmlItem::Text(std::mem::take(text)));
        }
        text.clear();
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                flush(&mut text, &mut items);
                items.push(start_item(&e));
            }
            Event::Empty(e) => {
                flush(&mut text, &mut items);
                let item = start_item(&e);
                let XmlItem::Start(name, _) = &item else {
                    unreachable!()
                };
                let name = name.clone();
                items.push(item);
                items.push(XmlItem::End(name));
            }
            Event::End(e) => {
                flush(&mut text, &mut items);
                items.push(XmlItem::End(
                    String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                ));
            }
            Event::Text(t) => text.push_str(&t.decode().unwrap()),
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref().unwrap() {
                    text.push(c);
                } else {
                    let name = r.decode().unwrap();
                    text.push_str(
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .expect("predefined entity"),
                    );
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    items
}

fn start_item(e: &quick_xml::events::BytesStart<'_>) -> XmlItem {
    let mut attrs: Vec<(String, String)> = e
        .attributes()
        .map(|a| {
            let a = a.unwrap();
            (
                String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                a.unescape_value().unwrap().into_owned(),
            )
        })
        .collect();
    attrs.sort();
    XmlItem::Start(
        String::from_utf8_lossy(e.name().as_ref()).into_owned(),
        attrs,
    )
}

/// The text of the first element named `tag`.
pub fn element_text(xml: &str, tag: &str) -> Option<String> {
    let items = xml_items(xml);
    let at = items
        .iter()
        .position(|i| matches!(i, XmlItem::Start(name, _) if name == tag))?;
    match items.get(at + 1) {
        Some(XmlItem::Text(t)) => Some(t.clone()),
        _ => None,
    }
}

/// `liza loadtest`'s arguments for `calls` of Liza's whole call (consent, an order number,
/// its confirmation, no more help) from `from`, signed for [`PUBLIC_URL`].
pub fn loadtest_args(
    base: &str,
    calls: usize,
    concurrency: usize,
    think: std::time::Duration,
    from: &str,
) -> liza::loadtest::LoadtestArgs {
    liza::loadtest::LoadtestArgs {
        url: base.to_owned(),
        public_url: Some(PUBLIC_URL.to_owned()),
        calls,
        concurrency,
        think,
        connections: 256,
        ramp: None,
        answers: ["consent=1", "order=12345", "order_confirm=1", "help=2"]
            .map(String::from)
            .to_vec(),
        expect: Some("Vielen Dank für Ihren Anruf".into()),
        timeout: std::time::Duration::from_secs(15),
        from: from.into(),
        to: SHOP_NUMBER.into(),
        unsigned: false,
        ca_certs: Vec::new(),
        resolve: Vec::new(),
        bare_server: None,
        fake_shop: None,
        shop_delay: std::time::Duration::from_millis(5),
    }
}
