"""Independent oracle: Twilio's own Python helper library (PyPI `twilio`).

Reads a JSON request on stdin and prints what Twilio's library produces:
  {"op": "signature", "token", "url", "params": [[name, value], ...]}
  {"op": "consent_twiml", "voice", "language", "greeting", "prompt", "action"}
  {"op": "readback_twiml", "voice", "language", "before", "digits", "after", "action"}
"""
import json
import sys

from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Gather, Say, VoiceResponse


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    if op == "signature":
        validator = RequestValidator(req["token"])
        params = dict(req["params"])
        print(validator.compute_signature(req["url"], params))
        return
    response = VoiceResponse()
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
