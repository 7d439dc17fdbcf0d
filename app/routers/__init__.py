"""The app's routes: sign-in, the duel pages and the health check."""
