"""Everything before commit: getting a request to an engine that answers. Admission (slots and
the FIFO queue), attempts and retries on a lane, failover down the candidates, lane states
from probes and traffic, and what engines say about their limits.

Owns: the lane slot until the answer's head is in. Must not know: how an answer's bytes are
relayed or metered once the client has been answered (router.stream).
"""
