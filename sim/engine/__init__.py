"""The engine: a scenario compiled into runtime objects, the SimPy replication that drives the
core through meeting calendars, and the columnar logs it writes."""
