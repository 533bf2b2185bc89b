"""Readers and writers with validation at the boundary."""
