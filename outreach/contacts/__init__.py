"""Contacts: the targets of a campaign (a person or an office).

``fields`` defines the canonical columns, their aliases and how each value is
checked and normalised; ``csvjson`` and ``europarl`` read files into rows;
``store`` writes them (upsert, one transaction); ``export``, ``erase`` and
``manage`` do the rest. Nothing is imported here eagerly, so ``fields`` stays
cheap to use from :mod:`outreach.selection`.
"""
