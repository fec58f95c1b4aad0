"""The minimizer driver, weighting, re-phasing hook, kicks, stop flag."""
