"""What is seen of a finished request: its record (the exchange), Prometheus metrics, the JSON
request log and prompt-cache reuse detection.

Owns: the finished-request record and where it goes. Must not know: how requests are routed
or relayed; it only reads what they leave behind.
"""
