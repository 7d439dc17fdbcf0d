"""LLM Duel's session side: the reference app for dynamodb-sessions (not part of the wheel)."""
