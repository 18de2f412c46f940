"""Outbound HTTP clients: the user account service, the peer registry and the edge service."""
