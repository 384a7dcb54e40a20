"""Deciding, purely: what a request asks for (intent), which lane answers it and why (routing),
which lanes may stand in (candidates), how much room the answer has (budget), and the body each
lane is sent (payload, bodies); and what an engine's refusal says of the prompt's size (refusal).

Owns: every rule that turns a request into a decision. Must not know: sockets, the clock,
queues, logs or metrics; nothing here does I/O, so every rule is tested as a table.
"""
