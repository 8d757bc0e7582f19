"""Pressure beside the electrochemistry: Battery Data Format (BDF) export of a run, reading a
cycler's files, joining them with a run on Unix time, and the per-cycle pressure figure.

Imported on use: ``presshil run`` never loads it.
"""
