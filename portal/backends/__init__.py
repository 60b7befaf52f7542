"""The portal's own database backends (Django's, with what the portal needs on top)."""
