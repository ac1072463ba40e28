"""A local Twilio server: the REST endpoints Nations uses, for tests and for `make run` without
Twilio credentials. The app reaches it only through the official `twilio` SDK (a
`TwilioHttpClient` that rewrites https://api.twilio.com to TWILIO_API_BASE), so with real
credentials the same code talks to Twilio.

    python -m config.twilio_server --port 12112 --auto

What it speaks: Messages (create, fetch, list), Calls (create, fetch), IncomingPhoneNumbers
(list, update), with Twilio's JSON shapes and error envelopes. Every request is recorded.
`fail_next(429)` makes the next creates answer an error. Status callbacks, the voice flow
(TwiML fetch with AnsweredBy, <Gather> digits) and inbound messages are POSTed to our
endpoints signed with `twilio.request_validator.RequestValidator` and the account's auth token:
by hand in tests (`message_status`, `answer_call`, `press`, `finish_call`, `inbound_sms`), or on
their own with `--auto` (`make run`).
"""

from .server import LocalTwilio

__all__ = ["LocalTwilio"]
