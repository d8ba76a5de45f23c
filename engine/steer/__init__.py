"""Steering: directions found in a model without labels, and vectors from example faces."""
