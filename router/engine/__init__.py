"""Talking to engines: the HTTP/1.1 client (keep-alive pool, one socket read at a time, parsed
by llhttp), and per-lane upstreams with the one mapping from transport errors to lanerouter's.

Owns: engine connections. Must not know: clients, routing, or what the bytes mean.
"""
