# The support line, not this flow.
welcome = Welcome!
