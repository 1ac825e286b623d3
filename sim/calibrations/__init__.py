"""Calibrations shipped with the package, one folder per name (``eu27_baseline``: a link to
``docs/calibration``; ``eu27_baseline_full``: ``docs/calibration-full``, the ``full`` budget with
every parameter free; the wheel carries their manifests, posteriors, priors and calibrated
scenarios). ``cfsp-sim run --posterior NAME`` finds them here."""
