"""Capture, 2D keypoints, triangulation, filtering, trial storage, hinge analysis, CLI.

Importing this package has no side effects and pulls in no GUI or detector code.
"""
