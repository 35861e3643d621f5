# The shop's line (examples/shop-line.yaml). Variables: $company, $topic (order or return),
# $order_number (read digit by digit), $reference (topic and number, as text).

shop-welcome = Welcome to { $company }.
shop-topic = Is it about an order? Press 1. About a return? Press 2. To hear whether our shop is open right now, press 0.
shop-topic-invalid = Please press 1 or 2.
shop-order-prompt = Please type your order number, then the hash key.
shop-order-invalid = An order number has 4 to 8 digits.
shop-noted = { $topic ->
    [return] We noted the return of order { $order_number }.
   *[order] We noted your question about order { $order_number }.
} Please quote { $reference } when you write to us.
shop-open = Our shop is open right now.
shop-transfer = I am putting you through.
# Said to the person at the shop who answers, before the caller is put through.
shop-transfer-whisper = A caller from the shop line.
shop-nobody = Sorry, nobody can take your call right now.
shop-lunch = We are at lunch until half past one.
shop-closed = Our shop is closed right now. We are open Monday to Friday from 9 to 18 o'clock with a lunch break, and Saturday from 10 to 14 o'clock.
shop-goodbye = Thank you for calling. Goodbye!
