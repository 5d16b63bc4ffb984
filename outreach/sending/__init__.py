"""Sending: the delivery ledger, pacing, outcome rules, SMTP and capture transports.

``ledger`` holds all of the ledger's SQL; ``outcome`` decides what an SMTP
result means; ``pacing`` turns rates and windows into a schedule and holds them
at claim time; ``relay`` and ``capture`` are the transports; ``engine`` runs
the K connections of one sender.
"""
