"""Simulation: the msprime toy cohort with planted truth."""
