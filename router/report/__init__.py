"""`lanerouter report`: the lanes compared from what they really served, read back from the
request store or the request log (the same records), as tables, Markdown, JSON, CSV or a plot.

Owns: reading finished-request records for a window, the figures computed from them, and
their rendering. Must not know: how requests are routed, relayed or metered (it reads records
only), or the running server.
"""
