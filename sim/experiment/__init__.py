"""Experiments: many seeded replications (serial, process pool or Dask), the results folder,
and parameter sweeps."""
