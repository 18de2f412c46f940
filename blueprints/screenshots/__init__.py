"""The screenshot API (seed 000): peer uploads with one-time tokens, user listings."""
