"""Analysis of replication tables: per-replication metrics and their labels, confidence
intervals, Kaplan-Meier curves, paired differences and the calibration record."""
