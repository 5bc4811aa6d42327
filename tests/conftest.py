"""Shared test settings."""

from hypothesis import settings

# Torch calls can take longer than hypothesis's default 200 ms deadline on a busy 2-core
# CI machine; a slow example is not a failure here.
settings.register_profile("gradbook", deadline=None, max_examples=50)
settings.load_profile("gradbook")
