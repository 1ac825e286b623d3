"""The headline metrics: their names in ``metrics.parquet`` and their plain-language labels."""

HEADLINE = {
    "proposals": "proposals per replication",
    "adoption_rate": "adoption rate",
    "block_rate": "block rate",
    "lapse_rate": "lapse rate",
    "pending_share": "pending at horizon",
    "time_to_adoption_mean": "time to adoption, mean (days)",
    "time_to_adoption_median": "time to adoption, median (days)",
    "time_to_adoption_p90": "time to adoption, p90 (days)",
    "rounds_mean": "rounds per proposal",
    "dilution_mean": "dilution of adopted texts",
}
"""Headline metrics and their plain-language labels."""

SWEEP_METRICS = (
    "adoption_rate",
    "time_to_adoption_mean",
    "time_to_adoption_median",
    "block_rate",
    "lapse_rate",
    "dilution_mean",
)
"""The metrics a sweep tabulates and plots."""
