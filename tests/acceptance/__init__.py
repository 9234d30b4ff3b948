"""Acceptance tests: the teaching points of the seed texts, one test each."""
