"""Thermal frames and point readings → core-temperature estimate → decision.

radiometry (raw → ℃) · blackbody (per-frame offset) · faces (find, measure, quality) ·
core (skin → core model, fitted from reference pairs) · fusion (frames → passage) ·
decision (pass / remeasure / fever_suspect; re-test confirmed / cleared) · drift (device
watchdog). profile_io is the only module that reads a file. Nothing here imports the rest of
tempgate.
"""
