"""Everything after commit: relaying an engine's answer to the client byte for byte as each
read arrives, metering it on the way (TTFT, tokens, rates), building a non-streamed body from a
stream where an engine needs it, and ending streams cleanly at shutdown.

Owns: a committed stream until its last byte. Must not know: lanes' rules or queues; what
becomes of the measurement (router.observe reads it).
"""
