"""The app's services: the session store and the canned duels."""
