"""Pairwise preference studies with people (``harness study``): plan, serve, score, report."""
