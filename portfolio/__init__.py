"""The executive portfolio: every product a user may see on one page, and the weekly digest.

A feature app of its own (no models: the digest subscription is pmhub.DigestSubscription).
"""
