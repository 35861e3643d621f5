# Liza's call in English (en-US and en-GB callers). Variables: $company (COMPANY_NAME),
# $website (WEBSITE_URL), $order_number (read back digit by digit), $order_status.

greeting = Hello! This is Liza, the voice assistant of { $company }.

consent-question = May we process your data for this call? Press 1 for yes or 2 for no.
consent-invalid = Sorry, I did not understand that. Please press 1 for yes or 2 for no.
consent-no-input = I did not receive any input.
consent-refused-goodbye = We are sorry, without your consent we cannot handle your request. Thank you for calling, goodbye!
consent-exhausted = Sorry, I did not receive a valid choice. Please call us again later. Goodbye!

order-prompt = Please type your order number and finish with the hash key.
order-invalid = That order number is not valid. An order number has 4 to 12 digits.
order-no-input = I did not receive an order number.
order-failed = I am sorry, I could not take your order number. Please try again later. Goodbye!

order-readback = You entered { $order_number }. Press 1 if that is correct, or 2 to enter it again.
confirm-invalid = Please press 1 or 2.
confirm-no-input = I did not receive any input.

order-status = Your order { $order_number } { $order_status ->
    [received] has been received.
    [processing] is being processed.
    [shipped] has been shipped.
    [delivered] has been delivered.
    [cancelled] has been cancelled.
   *[other] has the status { $order_status }.
}

text-offer = Would you like a text message confirming this? Press 1 to get a text confirmation, or 2 to go on.
text-offer-invalid = Please press 1 for a text message, or 2 to go on.
text-offer-no-input = I did not receive any input.
text-sent = Thank you. The text message is on its way to your mobile phone.

# The text message itself (`sms` node `send-text`): written, not spoken, so the order number
# keeps its digits together.
sms-order-confirmation = { $company }: your order { $order_number } { $order_status ->
    [received] has been received.
    [processing] is being processed.
    [shipped] has been shipped.
    [delivered] has been delivered.
    [cancelled] has been cancelled.
   *[other] has the status { $order_status }.
} Thank you for calling!

help-question = Can we help you with anything else? Press 1 for more information, or 2 to end the call.
help-invalid = Please press 1 or 2.
help-no-input = I did not receive any input.
help-info = You will find more information on our website { $website }, where you can also reach our team in person.

person-offer = Our team is here for you right now. Press 0 to talk to us, or 2 to end the call.
person-offer-invalid = Please press 0 or 2.
person-connecting = One moment please, I am putting you through.
person-whisper = A call through Liza, the order line.
person-nobody = Sorry, nobody can take your call right now. Please try again later.

goodbye = Thank you for calling { $company }. Goodbye!

# Spoken by the engine when a call cannot go on (a technical problem).
engine-error = Sorry, because of a technical problem we cannot take your call right now. Please call again later. Goodbye!

# The dashboard's name for records of kind `order` (flows/liza.yaml, `records.order.title`).
records-order = Orders
    .one = Order
    .key = Order number

# What the dashboard's call timeline calls each step (flows/liza.yaml, `label:`); never spoken.
step-greeting = Greeting
step-consent = Consent asked
step-consent-given = Consent given
step-consent-refused = Consent refused
step-goodbye-refused = Goodbye (no consent)
step-consent-exhausted = No answer to the consent question
step-order = Order number asked
step-order-failed = No order number
step-order-confirm = Order number read back
step-save-order = Order saved
step-shop-status = Status asked of the shop
step-order-status = Order status told
step-can-text = Text possible?
step-offer-text = Text confirmation offered
step-send-text = Text confirmation queued
step-text-sent = Text announced
step-help = Further help offered
step-help-info = Website named
step-person-check = Transfer possible?
step-person-hours = Team available?
step-person-offer = Talk to the team offered
step-person-transfer = Put through to the team
step-person-done = Talk with the team over
step-person-nobody = Nobody available
step-goodbye = Goodbye
