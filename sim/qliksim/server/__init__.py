"""`qlik-sim serve`: the simulated world as Qlik's own APIs, for a real qlik-cli to drive.

Qlik Cloud REST under /api/v1, QRS under /qrs, the engine's JSON-RPC over a websocket at
/app/{appId}. Every request becomes one call of the simulator's command handlers through
`qlik.apply_model` (rate limits, faults, ownership rules), so the server and the simulator's own
`qlik` executable answer from one model. Self-contained apart from that: only `qlik-sim` imports it.
"""
