"""The executive portfolio: every product a user may see on one page, and the weekly digest."""
