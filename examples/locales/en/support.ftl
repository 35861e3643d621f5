welcome = Welcome to the { $company } support line.
menu = For our opening hours, press 1. For the status of a ticket, press 2. To be called back, press 3. To hang up, press 0.
menu-invalid = Please choose 1, 2, 3 or 0.
hours = We are here Monday to Friday from 9 to 17 o'clock.
back-to-menu = Back to the menu.
ticket-prompt = Please type your six digit ticket number.
ticket-invalid = A ticket number has six digits.
ticket-status = Ticket { $ticket_number } is { $ticket_status ->
    [open] open. We will get back to you soon.
   *[waiting] waiting for your reply.
}
ticket-solved = Ticket { $ticket_number } is solved. Thank you for your patience.
ticket-unknown = I could not find ticket { $ticket_number }.
callback-prompt = Please type your customer number, then the hash key.
callback-invalid = A customer number has 4 to 8 digits.
callback-saved = Thank you. We will call customer { $customer_number } back.
goodbye = Thank you for calling { $company }. Goodbye!
engine-error = Sorry, a technical problem occurred. Please call again later.

# The dashboard's name for records of kind `ticket`.
records-ticket = Tickets
    .one = Ticket
    .key = Ticket number

# The dashboard's name for records of kind `callback`.
records-callback = Callbacks
    .one = Callback
    .key = Customer number
