"""Calibrations shipped with the package, one folder per name (``eu27_baseline``: a link to
``docs/calibration``; the wheel carries its manifest, posterior, priors and calibrated
scenario). ``cfsp-sim run --posterior NAME`` finds them here."""
