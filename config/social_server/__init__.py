"""A local stand-in for the X API v2 and a Mastodon instance (tests and `make run`)."""

from .server import LocalSocial

__all__ = ["LocalSocial"]
