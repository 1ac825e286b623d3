"""Experiments: many seeded replications (serial, worker processes or Dask), in memory
(:mod:`~sim.experiment.simulation`) or into a results folder written by one transaction
(:mod:`~sim.experiment.study`), parameter sweeps, sensitivity analysis and calibration."""
