"""The entity API (seed 004): entities, versions, files, and its admin switch."""
