"""Independent oracle: Twilio's own Python helper library (PyPI `twilio`).

Reads a JSON request on stdin and prints what Twilio's library produces:
  {"op": "signature", "token", "url", "params": [[name, value], ...]}
  {"op": "consent_twiml", "voice", "language", "greeting", "prompt", "action"}
  {"op": "readback_twiml", "voice", "language", "before", "digits", "after", "action"}
  {"op": "dial_twiml", "voice", "language", "say", "action", "timeout", "caller_id",
   "noun": "number"|"sip"|"client", "target", "url"}
  {"op": "whisper_twiml", "voice", "language", "say"}
  {"op": "record_twiml", "voice", "language", "say", "action", "max_length", "finish_on_key",
   "play_beep", "status_callback"}
  {"op": "verbs_twiml", "verbs": [verb, ...]} where a verb is
   {"say": [speech, ...], "voice", "language"} (speech: a string, or
   {"tag": "break"|"emphasis"|…, "attrs": {name: value}, "children": [speech, ...]} built with
   the library's SSML methods: say.break_, say.emphasis, say.prosody, say.say_as, …),
   {"play": url, "loop": n?}, {"pause": seconds} or {"hangup": true}
"""
import json
import sys

from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Dial, Gather, Say, VoiceResponse


def ssml(parent, node):
    """Appends one piece of speech to a <Say> or an SSML element, through the library."""
    if isinstance(node, str):
        parent.append(node)
        return
    tag, children = node["tag"], node.get("children", [])
    kwargs = {name.replace("xml:", "xml_").replace("-", "_"): value
              for name, value in node.get("attrs", {}).items()}
    if tag == "break":
        parent.break_(**kwargs)
        return
    method = getattr(parent, {"say-as": "say_as"}.get(tag, tag))
    if all(isinstance(c, str) for c in children):
        method("".join(children) or None, **kwargs)
        return
    element = method(None, **kwargs)
    for child in children:
        ssml(element, child)


def verbs(response, items):
    for verb in items:
        if "say" in verb:
            say = Say(voice=verb["voice"], language=verb["language"])
            for node in verb["say"]:
                ssml(say, node)
            response.append(say)
        elif "play" in verb:
            kwargs = {"loop": verb["loop"]} if verb.get("loop") is not None else {}
            response.play(verb["play"], **kwargs)
        elif "pause" in verb:
            response.pause(length=verb["pause"])
        elif verb.get("hangup"):
            response.hangup()
        else:
            raise SystemExit(f"unknown verb {verb}")


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    if op == "signature":
        validator = RequestValidator(req["token"])
        params = dict(req["params"])
        print(validator.compute_signature(req["url"], params))
        return
    response = VoiceResponse()
    if op == "verbs_twiml":
        verbs(response, req["verbs"])
        print(str(response))
        return
    if op == "whisper_twiml":
        response.say(req["say"], voice=req["voice"], language=req["language"])
        print(str(response))
        return
    if op == "record_twiml":
        response.say(req["say"], voice=req["voice"], language=req["language"])
        response.record(
            action=req["action"],
            method="POST",
            max_length=req["max_length"],
            finish_on_key=req["finish_on_key"],
            play_beep=req["play_beep"],
            recording_status_callback=req["status_callback"],
            recording_status_callback_method="POST",
        )
        response.redirect(req["action"], method="POST")
        print(str(response))
        return
    if op == "dial_twiml":
        if req.get("say"):
            response.say(req["say"], voice=req["voice"], language=req["language"])
        dial_args = {"action": req["action"], "method": "POST", "timeout": req["timeout"]}
        if req.get("caller_id"):
            dial_args["caller_id"] = req["caller_id"]
        dial = Dial(**dial_args)
        noun_args = {"url": req["url"], "method": "POST"} if req.get("url") else {}
        if req["noun"] == "number":
            dial.number(req["target"], **noun_args)
        elif req["noun"] == "sip":
            dial.sip(req["target"], **noun_args)
        else:
            dial.client(req["target"], **noun_args)
        response.append(dial)
        print(str(response))
        return
    if op == "speech_gather_twiml":
        gather_args = {
            "input": req["input"],
            "language": req["language"],
            "speech_timeout": "auto",
            "timeout": req["timeout"],
            "action": req["action"],
            "method": "POST",
        }
        if req.get("hints"):
            gather_args["hints"] = req["hints"]
        if req.get("finish_on_key"):
            gather_args["finish_on_key"] = req["finish_on_key"]
        gather = Gather(**gather_args)
        gather.say(req["prompt"], voice=req["voice"], language=req["language"])
        response.append(gather)
        response.redirect(req["action"], method="POST")
        print(str(response))
        return
    voice, language, action = req["voice"], req["language"], req["action"]
    if op == "consent_twiml":
        response.say(req["greeting"], voice=voice, language=language)
        gather = Gather(input="dtmf", num_digits=1, timeout=6, action=action, method="POST")
        gather.say(req["prompt"], voice=voice, language=language)
    elif op == "readback_twiml":
        gather = Gather(input="dtmf", num_digits=1, timeout=6, action=action, method="POST")
        say = Say(voice=voice, language=language)
        say.append(req["before"])
        say.say_as(req["digits"], interpret_as="digits")
        say.append(req["after"])
        gather.append(say)
    else:
        raise SystemExit(f"unknown op {op}")
    response.append(gather)
    response.redirect(action, method="POST")
    print(str(response))


if __name__ == "__main__":
    main()
