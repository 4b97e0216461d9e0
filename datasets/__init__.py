"""Synthetic ground-truth scenes and readers for other tools' recordings."""
