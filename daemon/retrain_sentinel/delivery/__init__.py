"""Delivery: the outbox's rows to the channels, at least once and in order (DESIGN §8).

It sits above the store: the dispatcher claims due rows, runs them through small stages (expire →
pace → send → mark / retry / dead-letter) and marks the outcome back. The decisions of *what* to
say and *to whom* are pure and live below, in ``alerts/``.
"""
