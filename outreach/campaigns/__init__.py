"""Campaigns: the audience, planning into the ledger, states, preview, sending, proofs.

``manage`` creates campaigns and moves them between states; ``plan`` renders
the letters into the ledger with their send times; ``preview`` writes them out
for reading; ``send`` runs a sender (:mod:`outreach.sending.engine`), a proof,
or the campaigner's decision to resend letters of unknown fate.
"""
