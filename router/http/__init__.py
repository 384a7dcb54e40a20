"""The front door: the ASGI app clients talk to, a request read off the ASGI scope, CORS, and
running an app on a socket.

Owns: what arrives and how it is read (body limits, encodings, the one watcher that notices a
client leaving). Must not know: lanes, routing rules, engines or their dialects.
"""
