"""The pure domain core: distributions, calendars, treaty decision rules, voting power, member-state
behaviour, random streams, a negotiating round and the Council ladder. No SimPy, no scenario
schema, no I/O: plain values and numpy arrays in, plain values out."""
