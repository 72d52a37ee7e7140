"""The original library API's stateful parts: the manager, config files, triggers holding a clock.

Code written against the system this project grew from imports these through ``retrain_sentinel``;
the daemon never does. Everything here wraps the pure ``triggers/`` logic.
"""
