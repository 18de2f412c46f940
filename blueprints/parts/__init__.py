"""The part upload API (seed 002): routes and schemas."""
