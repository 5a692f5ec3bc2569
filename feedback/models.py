"""Stakeholders' feedback (built by the feedback issue)."""
