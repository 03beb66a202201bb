"""Entropy models: densities for training, integer tables and range coders for files."""
