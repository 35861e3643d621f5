# The repair service's line (examples/repair-line.yaml). Variables: $company,
# $repair_number (digit by digit). SSML tags shape how it is spoken.

repair-welcome = Welcome to the repair service of { $company }. <break time="300ms"/> You can talk to me or use the keys of your phone.
repair-consent = May we keep your details for this call? Say <emphasis>yes</emphasis> or press 1, otherwise say no or press 2.
repair-consent-invalid = Please say yes or no, or press 1 or 2.
repair-yes-words = yes, yeah, sure, okay
repair-no-words = no, rather not
repair-number-prompt = Please say your repair number <prosody rate="slow">digit by digit</prosody>, or type it and press the pound key.
repair-number-hints = repair number, oh, zero, one, two, three, four, five, six, seven, eight, nine
repair-number-invalid = A repair number has 4 to 8 digits. <break time="200ms"/> Let us try again.
repair-number-no-input = I did not hear anything.
repair-noted = Thank you. Your repair number is { $repair_number }.
repair-menu = Would you like to talk to our workshop? Say yes or press 1. To end the call, say no or press 2.
repair-menu-invalid = Please say yes or no.
repair-closed = Our workshop is not staffed right now. You can reach us <emphasis level="moderate">Monday to Friday from 8 am to 5 pm</emphasis>.
repair-connecting = One moment, I am putting you through to the workshop.
# Said to the person at the workshop who answers, before the caller is put through.
repair-whisper = A call from the repair line.
repair-busy = Sorry, nobody at the workshop can take your call right now.
repair-voicemail = Please leave us a message with your repair number after the tone. Then press the pound key.
repair-thanks = Thank you for your message. We will call you back. Goodbye!
repair-no-recording = Without your consent we record no message. Please call us during our opening hours. Goodbye!
repair-goodbye = Thank you for calling. Goodbye!
