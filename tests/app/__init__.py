"""Tests of the reference app (app/): OIDC sign-in, Lambda, a real browser, bad input."""
